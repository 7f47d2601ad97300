#!/usr/bin/env bash
# The README's fidelity report, regenerated: real data built offline, 3 seeds, cpu scale.
#
#   bash scripts/fidelity_report.sh [DATA_DIR] [OUT_DIR]
#
# Pretraining: Debian's real Fashion-MNIST (a subset, image-folder layout) + espeak-ng command
# words in 60 voices (audio-folder). Evaluation: their test splits, and two sets not used in
# pretraining (transfer): real handwritten digits (scikit-learn's UCI scans) and espeak-ng
# spoken digits, also paired by digit as the audio-visual task (as the paper's MNIST + FSDD).
# Runs Tables 2-6 and Figure 4 (a) at 0, 30 and 100% (0% and 100% are the FVSSL and FSSUAVL
# runs) = 6 presets x 3 seeds; resumable: call it again after a stop. Pass more targets to
# widen it, e.g. FIGURE4="figure4" (both panels, every share: 7 more presets).
# Needs espeak-ng and dataset-fashion-mnist (Debian). About 50 minutes on 2 CPU cores.
set -euo pipefail
data=${1:-fidelity-data}
out=${2:-reproduce-fidelity}
[ -d "$data/fashion" ] || python scripts/make_fidelity_data.py "$data"
data=$(cd "$data" && pwd)
fssuavl-reproduce table2 table3 table4 table5 table6 ${FIGURE4:-figure4a --shares 0 30 100} \
  --scale cpu --seeds 3 --out "$out" \
  --set "image-dataset='image-folder' image-root='$data/fashion' audio-dataset='audio-folder' audio-root='$data/speech-words'" \
  --task "fmnist:image-folder=$data/fashion" --task "words:audio-folder=$data/speech-words" \
  --task "digits:image-folder=$data/digit-images" --task "spoken:audio-folder=$data/speech-digits" \
  --task "digits-av:image-folder+audio-folder=$data/digit-images,$data/speech-digits"
