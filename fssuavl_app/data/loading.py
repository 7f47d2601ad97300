"""Decoding many items at once: bad items are skipped, counted and named in the log.

`load_images` and `load_waveforms` return a `Loaded`: the stacked data of the
items that decoded, their positions in the split (`kept`, so labels can be
looked up) and one reason per skipped item.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .base import Source
from .decode import BadItem

logger = logging.getLogger("fssuavl.data")
_NAMED_IN_LOG = 20  # the log line names at most this many bad items; all are counted


@dataclass
class Loaded:
    """Stacked items that decoded, with the split positions they came from."""

    data: Any  # images: uint8 (N, 3, H, W); audio: ((N, L) float32 waves, (N,) int64 lengths)
    kept: np.ndarray  # int64 (N,), positions in the split
    bad: list[str] = field(default_factory=list)  # "item id: reason", one per skipped item

    def __len__(self) -> int:
        return len(self.kept)


def decode_items(source: Source, split: str, indices: Sequence[int]
                 ) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Items that decode, their positions, and a reason for each one that does not."""
    items, kept, bad = [], [], []
    for i in indices:
        try:
            items.append(source.load(split, int(i)))
            kept.append(int(i))
        except BadItem as exc:
            bad.append(str(exc))
    if bad:
        shown = "; ".join(bad[:_NAMED_IN_LOG]) + (" ..." if len(bad) > _NAMED_IN_LOG else "")
        logger.warning("%s/%s: skipped %d of %d items that cannot be used: %s",
                       getattr(source, "name", "dataset"), split, len(bad), len(indices), shown)
    return items, np.asarray(kept, dtype=np.int64), bad


def load_images(source: Source, split: str, indices: Sequence[int]) -> Loaded:
    """uint8 (N, 3, H, W) of the images that decode; all must share one size."""
    items, kept, bad = decode_items(source, split, indices)
    if not items:
        return Loaded(torch.zeros(0, 3, 1, 1, dtype=torch.uint8), kept, bad)
    shapes = {a.shape for a in items}
    if len(shapes) > 1:
        raise ValueError(f"{getattr(source, 'name', 'dataset')}: images of several sizes "
                         f"{sorted(shapes)[:3]}; the reader must bring them to one size")
    return Loaded(torch.from_numpy(np.stack(items)).permute(0, 3, 1, 2).contiguous(), kept, bad)


def load_waveforms(source: Source, split: str, indices: Sequence[int]) -> Loaded:
    """Zero-padded waves (N, L_max) float32 and true lengths (N,) int64 of the clips that decode."""
    waves, kept, bad = decode_items(source, split, indices)
    lengths = torch.tensor([len(w) for w in waves], dtype=torch.int64)
    out = torch.zeros(len(waves), int(lengths.max()) if waves else 1, dtype=torch.float32)
    for row, w in enumerate(waves):
        out[row, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    return Loaded((out, lengths), kept, bad)


def load_items(source: Source, split: str, indices: Sequence[int]) -> Loaded:
    """`load_images` or `load_waveforms`, by the source's modality."""
    return (load_images if source.modality == "image" else load_waveforms)(source, split, indices)
