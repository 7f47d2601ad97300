"""What every dataset reader gives the app: labels without decoding, items on demand.

An image item is a uint8 array (H, W, 3), RGB. An audio item is a float32 mono
waveform at `SAMPLE_RATE` Hz in [-1, 1], any length.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
import torch

SPLITS = ("train", "test")
SAMPLE_RATE = 16_000


class Source(Protocol):
    """A labelled dataset of one modality with train and test splits."""

    name: str
    modality: str  # "image" or "audio"
    classes: Sequence[str]

    def labels(self, split: str) -> np.ndarray:
        """Integer labels of `split` (int64, shape (N,)), without decoding any item."""

    def load(self, split: str, index: int) -> np.ndarray:
        """Decode item `index` of `split`."""


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")


def load_images(source: Source, split: str, indices: Sequence[int]) -> torch.Tensor:
    """Stack images as uint8 (N, 3, H, W); all items of a source share one size."""
    if len(indices) == 0:
        return torch.zeros(0, 3, 1, 1, dtype=torch.uint8)
    arrays = [source.load(split, int(i)) for i in indices]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def load_waveforms(source: Source, split: str, indices: Sequence[int]
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded waveforms (N, L_max) float32 and their true lengths (N,) int64."""
    waves = [source.load(split, int(i)) for i in indices]
    lengths = torch.tensor([len(w) for w in waves], dtype=torch.int64)
    out = torch.zeros(len(waves), int(lengths.max()) if waves else 1, dtype=torch.float32)
    for row, w in enumerate(waves):
        out[row, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    return out, lengths
