"""Device choice: CUDA when present (and asked for), else CPU."""

from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    """'auto' -> cuda if available else cpu; 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' but no CUDA device is visible here; in a Flower "
                           "simulation give clients GPUs with --federation-config "
                           "'client-resources-num-gpus=0.1' (Ray hides GPUs from actors "
                           "that ask for none)")
    return torch.device(name)
