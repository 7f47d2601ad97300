"""Decoding many items at once: bad items are skipped, counted and named in the log.

`load_items` returns a `Loaded`: the items that decoded stacked into their
modality's batch, their positions in the split (`kept`, so labels can be
looked up) and one reason per skipped item. `load_shard` loads everything a
client shard holds into the training step's `LocalData`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from ..core.modalities import Batch, modality
from ..core.train import LocalData
from .base import Source
from .decode import BadItem
from .partition import ClientShard

logger = logging.getLogger("fssuavl.data")
_NAMED_IN_LOG = 20  # the log line names at most this many bad items; all are counted


@dataclass
class Loaded:
    """Stacked items that decoded, with the split positions they came from."""

    data: Batch  # the modality's batch: images uint8 (N, 3, H, W); audio `Waves`
    kept: np.ndarray  # int64 (N,), positions in the split
    bad: list[str] = field(default_factory=list)  # "item id: reason", one per skipped item

    def __len__(self) -> int:
        return len(self.kept)


def decode_items(source: Source, split: str, indices: Sequence[int],
                 each: Callable[[int, np.ndarray], np.ndarray] | None = None
                 ) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Items that decode, their positions, and a reason for each one that does not;
    `each(position, item)`, when given, replaces each item as soon as it is decoded."""
    items, kept, bad = [], [], []
    for i in indices:
        try:
            item = source.load(split, int(i))
            items.append(each(int(i), item) if each else item)
            kept.append(int(i))
        except BadItem as exc:
            bad.append(str(exc))
    if bad:
        shown = "; ".join(bad[:_NAMED_IN_LOG]) + (" ..." if len(bad) > _NAMED_IN_LOG else "")
        logger.warning("%s/%s: skipped %d of %d items that cannot be used: %s",
                       getattr(source, "name", "dataset"), split, len(bad), len(indices), shown)
    return items, np.asarray(kept, dtype=np.int64), bad


def load_items(source: Source, split: str, indices: Sequence[int],
               max_seconds: float | None = None) -> Loaded:
    """The items at `indices` that decode, stacked by the source's modality; audio longer
    than `max_seconds` keeps its centre that long (counted in the log), cut as each item is
    decoded, so a shard of long recordings never sits in memory whole."""
    kind = modality(source.modality)
    long: list[str] = []

    def cut(position: int, item: np.ndarray) -> np.ndarray:
        if not kind.too_long(item, max_seconds):
            return item
        long.append(source.item_id(split, position))
        return kind.cut(item, max_seconds)

    items, kept, bad = decode_items(source, split, indices, cut)
    if long:
        logger.warning("%s/%s: %d of %d items are longer than %.1f s and keep their centre %.1f "
                       "s (max-clip-seconds): %s", getattr(source, "name", "dataset"), split,
                       len(long), len(items), max_seconds, max_seconds,
                       "; ".join(long[:_NAMED_IN_LOG]) + (" ..." if len(long) > _NAMED_IN_LOG
                                                          else ""))
    try:
        data = kind.stack(items, max_seconds)
    except ValueError as exc:
        raise ValueError(f"{getattr(source, 'name', 'dataset')}: {exc}") from exc
    return Loaded(data, kept, bad)


def load_shard(sources: Mapping[str, Source], shard: ClientShard,
               max_seconds: float | None = None) -> tuple[LocalData, int]:
    """Decode exactly the train items of `shard` that its role uses; also the count of
    items skipped because they cannot be used (each is named in the log)."""
    batches, skipped = {}, 0
    for name, source in sources.items():
        if shard.uses(name) and len(shard.indices(name)):
            loaded = load_items(source, "train", shard.indices(name), max_seconds)
            skipped += len(loaded.bad)
            if len(loaded):
                batches[name] = loaded.data
    return LocalData(batches), skipped
