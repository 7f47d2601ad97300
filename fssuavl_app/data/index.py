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


# Folders a copy of a dataset may carry that hold no items: macOS zip resource forks.
SKIPPED_FOLDERS = ("__MACOSX",)


def is_hidden(name: str) -> bool:
    """A dot file or folder (.DS_Store, ._x.wav, .ipynb_checkpoints) or a SKIPPED_FOLDERS one."""
    return name.startswith(".") or name in SKIPPED_FOLDERS


def sorted_subdirs(path: Path, exclude: Sequence[str] = ()) -> list[str]:
    """Names of the visible sub-folders of `path` (symlinked ones too), sorted."""
    return sorted(p.name for p in path.iterdir()
                  if p.is_dir() and not is_hidden(p.name) and p.name not in exclude)


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")


@dataclass
class Walk:
    """What `walk_files` found below a folder (each list sorted)."""

    files: list[Path] = field(default_factory=list)  # readable files with a wanted suffix
    unreadable: list[Path] = field(default_factory=list)  # such names that are no readable
    # file (broken links), and folders that could not be listed
    skipped_links: list[Path] = field(default_factory=list)  # folders not read: reached a
    # second time, or a link elsewhere into the dataset root or above it


def wanted_file(name: str, suffixes: Sequence[str]) -> bool:
    """A visible file name with one of `suffixes` (any case)."""
    return not is_hidden(name) and Path(name).suffix.lower() in suffixes


def _inside(real: str, folder: str) -> bool:
    """Whether the real path `real` is `folder` or below it."""
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def walk_files(path: Path, suffixes: Sequence[str], within: Path | None = None,
               barriers: Sequence[Path] = ()) -> Walk:
    """The wanted files below `path`, recursively, following symlinked folders.

    A linked folder is followed only when it leads inside `path`, or neither
    into nor above `within` (the dataset root; default `path`) and each of
    `barriers` (the other class and split folders, which may live on another
    disk): otherwise it would read files under the wrong label or split, or
    forever. A folder reached a second time (a loop, two links to one
    folder) is read once. Both are listed in `skipped_links`. Hidden files
    and folders are skipped.
    """
    walk, seen = Walk(), set()
    home = os.path.realpath(path)
    stops = {os.path.realpath(f) for f in (within or path, *barriers)}

    def allowed(link: str) -> bool:
        real = os.path.realpath(link)
        return _inside(real, home) or not any(_inside(real, s) or _inside(s, real) for s in stops)

    def listing_failed(exc: OSError) -> None:
        walk.unreadable.append(Path(exc.filename or path))

    for top, dirs, names in os.walk(path, followlinks=True, onerror=listing_failed):
        real = os.path.realpath(top)
        if real in seen:  # reached a second time (a link loop, two links to one folder)
            walk.skipped_links.append(Path(top))
            dirs[:] = []
            continue
        seen.add(real)
        kept = []
        for d in sorted(d for d in dirs if not is_hidden(d)):
            folder = os.path.join(top, d)
            if os.path.islink(folder) and not allowed(folder):
                walk.skipped_links.append(Path(folder))
            else:
                kept.append(d)
        dirs[:] = kept
        for name in names:
            if wanted_file(name, suffixes):
                file = Path(top) / name
                (walk.files if file.is_file() else walk.unreadable).append(file)
    for found in (walk.files, walk.unreadable, walk.skipped_links):
        found.sort()
    return walk


def _linked_onto_another(folder: Path, within: Path, others: Sequence[Path]) -> bool:
    """Whether class folder `folder` is reached through a link and its real folder is, holds,
    or lies inside another of `others`, or holds the dataset root `within`.

    `root/cat -> dog` would otherwise read dog's files under both labels (and
    `test/cat -> ../train/cat` train's files as test items). A folder that is
    not itself a link keeps its files; class folders linked to another disk
    are fine as long as they do not overlap.
    """
    real = os.path.realpath(folder)
    if real == os.path.join(os.path.realpath(within), os.path.relpath(folder, within)):
        return False
    home = os.path.abspath(folder)
    if _inside(os.path.realpath(within), real):
        return True
    return any(_inside(real, o) or _inside(o, real)
               for o in {os.path.realpath(f) for f in others if os.path.abspath(f) != home})


def walk_classes(within: Path, folders: Sequence[Path], suffixes: Sequence[str],
                 barriers: Sequence[Path] = ()
                 ) -> tuple[list[tuple[str, int]], list[str], list[str]]:
    """([(id, label)], unreadable ids, skipped folders) of class folders, the label of a file
    being its folder's position in `folders` and ids posix paths relative to `within`.

    Each folder is walked by `walk_files` with the others and `barriers` (the
    other split's class folders) as barriers, so no link reads one class's
    files under another's label; a folder that does not exist gives nothing.
    """
    found, unreadable, skipped = [], [], []
    rel = lambda p: p.relative_to(within).as_posix()  # noqa: E731
    for label, folder in enumerate(folders):
        if _linked_onto_another(folder, within, [*folders, *barriers]):
            skipped.append(rel(folder) + "/")
        elif folder.is_dir():
            walk = walk_files(folder, suffixes, within, [*folders, *barriers])
            found += [(rel(p), label) for p in walk.files]
            unreadable += [rel(p) for p in walk.unreadable]
            skipped += [rel(p) + "/" for p in walk.skipped_links]
    return found, unreadable, skipped


def files_under(path: Path, suffixes: Sequence[str]) -> list[Path]:
    """The readable files of `walk_files` (links out of `path` followed, not back into it)."""
    return walk_files(path, suffixes).files


__all__ = ["AUDIO_SUFFIXES", "AudioFiles", "BadItem", "DatasetLayoutError", "FileSource",
           "IMAGE_SUFFIXES", "ImageFiles", "IndexedSource", "SplitIndex", "VARIABLE_IMAGE_SIDE", "file_fingerprint",
           "files_under", "is_hidden", "read_text", "require_dir", "require_file", "sorted_subdirs",
           "walk_classes", "walk_files", "wanted_file", "Walk"]
