#!/usr/bin/env bash
# The prepared GPU check: installs what is missing from carried wheels, runs the
# benchmarks in under 8 minutes, and writes every figure to $OUT/gpu_figures.txt.
#
#   bash bench/prepare_gpu_wheels.sh          # on a machine with PyPI: fills wheels/
#   OUT=/tmp/out bash bench/gpu_check.sh      # on the GPU machine (torch already there)
#
# SMOKE=1 runs the same steps with tiny sizes (a CPU check of the script itself).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
WHEELS=${WHEELS:-wheels}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
FIG="$OUT/gpu_figures.txt"
: > "$FIG"
log() { echo "$*" | tee -a "$FIG"; }

if [ "${SMOKE:-0}" = 1 ]; then
  SIZE=32; BATCH=8; BATCHES=2; ROUNDS=2; PER_CLASS=100; DEV=cpu
else
  SIZE=128; BATCH=256; BATCHES=20; ROUNDS=4; PER_CLASS=2000; DEV=cuda
fi

log "# FSSUAVL GPU check, $(date -u +%FT%TZ)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader | tee -a "$FIG"
python - <<'PY' 2>&1 | tee -a "$FIG"
import torch, torchvision
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, cuda {torch.cuda.is_available()}")
PY

# Our package's light dependencies, from carried wheels when missing (no network there).
for mod_pkg in soundfile:soundfile safetensors:safetensors soxr:soxr tensorboard:tensorboard \
               matplotlib:matplotlib sklearn:scikit-learn h5py:h5py; do
  mod=${mod_pkg%%:*}; pkg=${mod_pkg##*:}
  python -c "import $mod" 2>/dev/null || \
    pip install -q --no-index --find-links "$WHEELS" "$pkg" 2>&1 | tail -1
done
python -c "import flwr" 2>/dev/null || \
  pip install -q --no-index --find-links "$WHEELS" "flwr[simulation]==1.42.*" 2>&1 | tail -1
pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -1

bench() {  # name, seconds limit, command...
  local name=$1 limit=$2; shift 2
  log ""; log "## $name: $*"
  timeout "$limit" "$@" 2>&1 | grep -v "^\s*$" | tee -a "$FIG"
  [ "${PIPESTATUS[0]}" = 0 ] || log "(failed or timed out after ${limit}s)"
}

T="python bench/train_throughput.py --device $DEV --input-size $SIZE --batch-size $BATCH --batches $BATCHES"
bench "ResNet-18, bf16 + channels_last (auto)" 90 $T --arch resnet18
bench "ResNet-18, fp32, no channels_last" 90 $T --arch resnet18 --precision fp32 --channels-last off
bench "ResNet-18, bf16 + channels_last + torch.compile" 150 $T --arch resnet18 --compile
bench "ViT, bf16 (auto)" 90 $T --arch vit
bench "ViT, bf16 + torch.compile" 150 $T --arch vit --compile

if python -c "import flwr" 2>/dev/null; then
  export FLWR_HOME="$OUT/flwr-home" FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1
  RUNS="$OUT/runs"
  GPUS=$([ "$DEV" = cuda ] && echo "client-resources-num-gpus=1" || echo "client-resources-num-gpus=0")
  bench "Flower simulation, 10 of 100 clients per round, one client on the GPU at a time" 200 \
    flwr run . --stream --federation-config "num-supernodes=100 client-resources-num-cpus=1 $GPUS" \
    --run-config "arch='resnet18' num-server-rounds=$ROUNDS local-epochs=5 batch-size=$BATCH input-size=$SIZE synthetic-train-per-class=$PER_CLASS synthetic-test-per-class=20 eval-every=100 output-dir='$RUNS' run-name='overhead' device='$DEV'"
  bench "Round overhead (wall vs clients' own training time)" 30 \
    python bench/round_overhead.py "$RUNS/overhead"
else
  log "flwr is not installed and no wheel was carried: simulation benchmark skipped"
fi
log ""; log "done: $FIG"
