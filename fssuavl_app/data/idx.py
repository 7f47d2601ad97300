"""MNIST and Fashion-MNIST in their published idx layout (raw or gzipped).

ROOT holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally with
`.gz` (e.g. Debian's /usr/share/datasets/fashion-mnist). Grey 28x28 digits
are returned as uint8 RGB (28, 28, 3) like every image reader.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .base import check_split
from .index import DatasetLayoutError, IndexedSource, SplitIndex

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
_PREFIX = MappingProxyType({"train": "train", "test": "t10k"})
_MAGIC = MappingProxyType({1: 0x801, 3: 0x803})


def _find(root: Path, stem: str) -> Path:
    """The raw or the gzipped file. Both may be there (`gunzip -k`) only when the .gz says it
    holds the raw file's bytes; otherwise which one is read would be a silent guess."""
    raw, gz = root / stem, root / (stem + ".gz")
    if raw.is_file() and gz.is_file():
        if not _gz_holds(gz, raw):
            raise DatasetLayoutError(
                f"{root} holds both {stem} and {stem}.gz, and the size and CRC-32 the .gz "
                "records are not those of the raw file: one of them is stale or damaged; "
                "keep the one that is the dataset")
        return raw  # checked, and cheaper to read
    for path in (raw, gz):
        if path.is_file():
            return path
    raise DatasetLayoutError(f"expected {raw} or {stem}.gz there (idx layout of "
                             "MNIST / Fashion-MNIST)")


def _gz_holds(gz: Path, raw: Path) -> bool:
    """Whether the gzip trailer of `gz` (CRC-32 and size mod 2**32 of what it holds) matches
    `raw`: no decompression, one pass over `raw`."""
    try:
        with open(gz, "rb") as fh:
            fh.seek(-8, 2)
            crc, size = int.from_bytes(fh.read(4), "little"), int.from_bytes(fh.read(4), "little")
        return size == raw.stat().st_size % 2 ** 32 and crc == zlib.crc32(raw.read_bytes())
    except OSError:  # a .gz shorter than its trailer
        return False


def _open_idx(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def idx_dims(path: Path, ndim: int) -> list[int]:
    """The dimensions in the header of an idx file of `ndim` dimensions (reads 4 + 4 * ndim
    bytes); a wrong magic number or a file shorter than its header says is a layout error."""
    try:
        with _open_idx(path) as fh:
            head = fh.read(4 + 4 * ndim)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetLayoutError(f"{path}: cannot read ({exc})") from exc
    magic = int.from_bytes(head[:4], "big") if len(head) >= 4 else -1
    if magic != _MAGIC[ndim] or len(head) < 4 + 4 * ndim:
        raise DatasetLayoutError(f"{path}: not a {ndim}-d uint8 idx file (magic {magic:#x})")
    dims = [int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = 4 + 4 * ndim + math.prod(dims)
    if path.suffix != ".gz" and path.stat().st_size != expected:  # a .gz is checked when read
        raise DatasetLayoutError(f"{path}: header says {dims} ({expected} bytes) but the file "
                                 f"holds {path.stat().st_size} bytes")
    return dims


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array of an idx file with `ndim` dimensions."""
    try:
        with _open_idx(path) as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a corrupt gzip stream
        raise DatasetLayoutError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    if magic != _MAGIC[ndim]:
        raise DatasetLayoutError(f"{path}: not a {ndim}-d uint8 idx file (magic {magic:#x})")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(dims):
        raise DatasetLayoutError(f"{path}: header says {dims} but holds {body.size} bytes")
    return body.reshape(dims)


class IdxImages(IndexedSource):
    """MNIST-style idx image set: labels read at construction, RGB items on demand.

    Ids are `str(index)` within a split. A split's image file is read once,
    on the first `load` of that split, and kept in memory (uint8 (N, 28, 28));
    `fingerprint` is therefore None (nothing to cache). Items are uint8 RGB
    (28, 28, 3), the grey value repeated in the three channels.
    """

    def __init__(self, root: str | Path, name: str = "fashion-mnist"):
        self.name = name
        root = Path(root)
        if not root.is_dir():
            raise DatasetLayoutError(f"{name}: root {root} is not a folder")
        classes = FASHION_CLASSES if name == "fashion-mnist" else MNIST_CLASSES
        self._paths = {split: (_find(root, f"{p}-images-idx3-ubyte"),
                               _find(root, f"{p}-labels-idx1-ubyte"))
                       for split, p in _PREFIX.items()}
        splits = {split: _label_index(lab, len(classes)) for split, (_, lab) in self._paths.items()}
        for split, (images, _) in self._paths.items():  # checked now, read on first use
            count = idx_dims(images, 3)[0]
            if count != len(splits[split].ids):
                raise DatasetLayoutError(f"{images}: {count} images but "
                                         f"{len(splits[split].ids)} labels")
        self._images: dict[str, np.ndarray] = {}
        super().__init__(root, classes, splits)

    def _split_images(self, split: str) -> np.ndarray:
        """The whole (N, 28, 28) uint8 image file of `split`, read once."""
        if split not in self._images:
            path, count = self._paths[split][0], len(self.labels(split))
            images = read_idx(path, 3)
            if len(images) != count:
                raise DatasetLayoutError(f"{path}: {len(images)} images but {count} labels")
            self._images[split] = images
        return self._images[split]

    def load(self, split: str, index: int) -> np.ndarray:
        """uint8 RGB (H, W, 3), grey repeated in every channel."""
        check_split(split)
        return np.repeat(self._split_images(split)[index][..., None], 3, axis=2)


def _label_index(path: Path, n_classes: int) -> SplitIndex:
    """Ids str(0..N-1) and the labels of an idx1 label file; labels must be < n_classes."""
    labels = read_idx(path, 1).astype(np.int64)
    if labels.size and labels.max() >= n_classes:
        raise DatasetLayoutError(f"{path}: label {int(labels.max())} is not below {n_classes}")
    return SplitIndex([str(i) for i in range(len(labels))], labels.tolist())


__all__ = ["DatasetLayoutError", "FASHION_CLASSES", "IdxImages", "MNIST_CLASSES", "read_idx"]
