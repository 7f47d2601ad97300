"""What every dataset reader gives the app: labels without decoding, items on demand.

An image item is a uint8 array (H, W, 3), RGB. An audio item is a float32 mono
waveform at `SAMPLE_RATE` Hz in [-1, 1], any length. `modality` is the name
of a `core.modalities` object, which says how items stack into batches.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from ..core.audio_frontend import SAMPLE_RATE  # noqa: F401  (re-exported: items are at this rate)

SPLITS = ("train", "test")


class Source(Protocol):
    """A labelled dataset of one modality with train and test splits."""

    name: str
    modality: str  # a modality name (core.modalities.NAMES)
    classes: Sequence[str]
    index_notes: Sequence[str]  # problems found while indexing (e.g. missing clips), counted

    def labels(self, split: str) -> np.ndarray:
        """Integer labels of `split` (int64, shape (N,)), without decoding any item."""

    def load(self, split: str, index: int) -> np.ndarray:
        """Decode item `index` of `split`; raises `decode.BadItem` for an unusable item."""

    def item_id(self, split: str, index: int) -> str:
        """Dataset-relative id of an item (path, csv key, ...), stable across copies."""

    def item_ids(self, split: str) -> list[str]:
        """Ids of all items of `split`, in label order."""

    def index_of(self, split: str, ids: Sequence[str]) -> np.ndarray:
        """Positions of `ids` in `split`; raises when this copy lacks some."""

    def fingerprint(self, split: str, index: int) -> str | None:
        """Cache key that changes with the item's source; None = do not cache."""

    def native_rate(self, split: str, index: int) -> int | None:
        """Audio: sample rate on disk in Hz; None for images or when unknown."""


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
