"""The common shape of every on-disk dataset reader: an index built once, items decoded on demand.

A reader lists, per split, each item's dataset-relative id (a path relative
to the root, a csv key, an annotation id: each reader states which) and its
integer label, without decoding anything. `load` decodes one item; a file
that cannot be used raises `BadItem` (callers skip, count and name it).
Problems found while indexing (csv rows whose file is missing, unknown
labels) are counted in `index_notes` instead of stopping the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import SPLITS, check_split
from .decode import BadItem, audio_rate, decode_audio, decode_image, fit_square

# Images of readers whose files vary in size are brought to this side (shorter
# side resized, centre crop) so a client's images stack into one tensor; views
# crop and resize again to the encoder's input size.
VARIABLE_IMAGE_SIDE = 128


class DatasetLayoutError(ValueError):
    """A dataset root does not hold what its published layout should."""


@dataclass
class SplitIndex:
    """One split: ids (dataset-relative) and int64 labels, in a fixed order."""

    ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def add(self, item_id: str, label: int) -> None:
        self.ids.append(item_id)
        self.labels.append(int(label))


def read_text(path: Path) -> str:
    """A dataset's text file (csv, list, annotations) as UTF-8 (a BOM dropped). Bytes that
    are not UTF-8 are a layout error: replaced, two labels could read as one."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DatasetLayoutError(f"{path}: cannot read ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = len(data[: exc.start].splitlines()) or 1
        raise DatasetLayoutError(f"{path}: line {line} is not UTF-8 text (byte "
                                 f"{data[exc.start:exc.start + 1]!r}); save the file as "
                                 "UTF-8") from exc


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetLayoutError(f"expected {what} at {path} (folder not found)")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DatasetLayoutError(f"expected {what} at {path} (file not found)")
    return path


def file_fingerprint(path: Path, *params: object) -> str:
    """Changes when the file is replaced or edited (size, mtime) or decoding params change."""
    st = os.stat(path)
    return "|".join([str(Path(path).resolve()), str(st.st_size), str(st.st_mtime_ns),
                     *map(str, params)])


class IndexedSource:
    """Base of the on-disk readers. Subclasses fill `splits` and implement `load`.

    Class order is stated by each reader (usually sorted names) and is the
    same for train and test.
    """

    name = "dataset"
    modality = "image"

    def __init__(self, root: str | Path, classes: Sequence[str], splits: dict[str, SplitIndex],
                 index_notes: Sequence[str] = ()):
        self.root = Path(root)
        self.classes = tuple(classes)
        missing = [s for s in SPLITS if s not in splits]
        if missing:
            raise ValueError(f"{self.name}: reader gave no {missing} split")
        self._ids = {s: list(splits[s].ids) for s in SPLITS}
        self._labels = {s: np.asarray(splits[s].labels, dtype=np.int64) for s in SPLITS}
        self._positions: dict[str, dict[str, int]] = {}
        self.index_notes = list(index_notes)
        for split in SPLITS:
            if len(self._ids[split]) == 0:
                raise DatasetLayoutError(f"{self.name} at {self.root}: the {split} split is "
                                         "empty; check the root and its layout")

    def labels(self, split: str) -> np.ndarray:
        check_split(split)
        return self._labels[split]

    def item_id(self, split: str, index: int) -> str:
        check_split(split)
        return self._ids[split][index]

    def item_ids(self, split: str) -> list[str]:
        check_split(split)
        return list(self._ids[split])

    def index_of(self, split: str, ids: Sequence[str]) -> np.ndarray:
        """Positions of `ids` in `split`; a clear error names ids this copy lacks."""
        check_split(split)
        if split not in self._positions:
            self._positions[split] = {i: n for n, i in enumerate(self._ids[split])}
        pos = self._positions[split]
        unknown = [i for i in ids if i not in pos]
        if unknown:
            raise DatasetLayoutError(
                f"{self.name} at {self.root}: {len(unknown)} of {len(ids)} requested {split} "
                f"items are not in this copy of the dataset (first: {unknown[:3]})")
        return np.asarray([pos[i] for i in ids], dtype=np.int64)

    def fingerprint(self, split: str, index: int) -> str | None:
        """A key that changes when the item's source changes; None = not worth caching."""
        return None

    def native_rate(self, split: str, index: int) -> int | None:
        """Audio readers: the item's sample rate on disk (Hz) before resampling."""
        return None

    def load(self, split: str, index: int) -> np.ndarray:
        raise NotImplementedError


class FileSource(IndexedSource):
    """A reader whose item ids are file paths relative to `root`; `ImageFiles` and
    `AudioFiles` say how a file decodes."""

    image_side: int | None = None

    def path(self, split: str, index: int) -> Path:
        return self.root / self.item_id(split, index)

    def fingerprint(self, split: str, index: int) -> str | None:
        try:
            return file_fingerprint(self.path(split, index), self.modality, self.image_side)
        except OSError:
            return None  # load() will report the missing file


class ImageFiles(FileSource):
    """Image files decoded to uint8 RGB; with `image_side` set, brought to (side, side)."""

    modality = "image"

    def load(self, split: str, index: int) -> np.ndarray:
        image = decode_image(self.path(split, index))
        return image if self.image_side is None else fit_square(image, self.image_side)


class AudioFiles(FileSource):
    """Audio files decoded to mono float32 at 16 kHz."""

    modality = "audio"

    def native_rate(self, split: str, index: int) -> int | None:
        return audio_rate(self.path(split, index))

    def load(self, split: str, index: int) -> np.ndarray:
        return decode_audio(self.path(split, index))


__all__ = ["AudioFiles", "BadItem", "DatasetLayoutError", "FileSource", "ImageFiles",
           "IndexedSource", "SplitIndex", "VARIABLE_IMAGE_SIDE", "file_fingerprint", "read_text",
           "require_dir", "require_file"]
