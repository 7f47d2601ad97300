"""Decode once: an on-disk cache of decoded items that epochs, rounds and runs reuse.

Each item is stored under a key derived from its source's fingerprint (the
file's resolved path, size and mtime, plus the decoding parameters), so an
edited or replaced file gets a new entry and the stale one is never read.
Entries are written to a temporary file and renamed into place, so two
clients that build the same entry at once both end up with a whole file.
An item that cannot be used is remembered too (a `.bad` file holding the
reason), so later reads skip it without decoding it again, and still report it.

Items are stored in their modality's storage form (`Modality.to_storage`:
audio as int16 .npy, half the disk of float32, lossless for the 16-bit sources
every supported dataset ships, within 1/32767 otherwise; images as uint8
.npy). Layout: <cache-dir>/<dataset>/<ab>/<sha1>.npy. The cache folder is
given by the caller (the run config resolves it).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

from ..core.modalities import modality
from .decode import BadItem

FORMAT_VERSION = "2"  # bump when decoding changes, so old entries are not reused


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class CachedSource:
    """Wraps a reader: `load` reads the cached item, decoding and storing it on a miss.

    Items whose reader gives no fingerprint (in-memory sets such as idx or
    CIFAR pickles, and the built-in data) pass through uncached.
    """

    def __init__(self, source, cache_dir: str | Path):
        self.source = source
        self.storage = modality(source.modality)
        self.cache_dir = Path(cache_dir) / source.name
        self.hits = self.misses = 0

    def __getattr__(self, name):  # name, modality, classes, labels, item_id, ... of the reader
        if name == "source":  # not set yet (unpickling): avoid recursing
            raise AttributeError(name)
        return getattr(self.source, name)

    def entry(self, key: str) -> Path:
        digest = hashlib.sha1(f"{FORMAT_VERSION}|{key}".encode()).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.npy"

    def load(self, split: str, index: int) -> np.ndarray:
        key = self.source.fingerprint(split, index)
        if key is None:
            return self.source.load(split, index)
        path = self.entry(key)
        bad = path.with_suffix(".bad")
        if path.is_file():
            try:
                stored = np.load(path, allow_pickle=False)
                self.hits += 1
                return self.storage.from_storage(stored)
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # damaged entry (disk full, killed writer): rebuild
        elif bad.is_file():
            self.hits += 1
            raise BadItem(bad.read_text())
        self.misses += 1
        try:
            item = self.source.load(split, index)
        except BadItem as exc:
            reason = str(exc).encode()
            _write_atomic(bad, lambda fh: fh.write(reason))
            raise
        stored = self.storage.to_storage(item)
        _write_atomic(path, lambda fh: np.save(fh, stored, allow_pickle=False))
        return self.storage.from_storage(stored)
