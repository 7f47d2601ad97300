#!/usr/bin/env bash
# Downloads the small wheels bench/gpu_check.sh installs on a GPU machine without network
# (torch, torchvision and torchaudio are expected there already). flwr[simulation] pulls
# ray (~70 MB), more than a 64 MiB carry allows: pass WITH_FLWR=1 to include it anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p wheels
pip download -q -d wheels --only-binary :all: --python-version 3.11 --platform manylinux2014_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  soundfile safetensors soxr "tensorboard>=2.16" matplotlib scikit-learn h5py
if [ "${WITH_FLWR:-0}" = 1 ]; then
  pip download -q -d wheels --only-binary :all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 "flwr[simulation]==1.42.*"
fi
du -sh wheels
