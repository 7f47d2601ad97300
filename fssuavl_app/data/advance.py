"""ADVANCE (Hu et al., ECCV 2020; Zenodo record 3828124): aerial images paired with field sounds.

Layout of `root`: `vision/<class>/<stem>.jpg` and `sound/<class>/<stem>.wav`, as
`ADVANCE_vision.zip` / `ADVANCE_sound.zip` unpack (the authors' code names the
folders `Dataset_v3_vision` / `Dataset_v3_sound`; those are accepted too). An
image and a sound form a pair when they share `<class>/<stem>`; class names
contain spaces. `classes` are the sorted vision class folders.

Both readers use the pair key `<class>/<stem>` (no suffix) as item id, so
`AdvanceImages(root).item_ids(split) == AdvanceSounds(root).item_ids(split)`,
in the same order and with the same labels: pair i of a split is
(images.load(split, i), sounds.load(split, i)). `advance_pair` builds both from
one index. Files without a partner are left out and counted in `index_notes`;
unreadable files stay in the index and raise `BadItem` on load.

There is no official split. This follows the authors' `data_partition.py`
(`data_splitter_by_id`, train 0.7, val 0.1): per class i, the image stems are
grouped by their first 5 characters (the source recording id); the group ids,
in order of first appearance over the class's sorted image stems, are shuffled
with `np.random.seed(i)`; train takes the first floor(0.7 G) groups, val the
next floor(0.1 G), test the rest. The test split here is the authors' val
and test groups together (30%), as the paper trains on 70% and evaluates on
30%. Other differences: classes are numbered in sorted
order (the authors used `os.listdir` order, which is file-system dependent),
stems are sorted (the authors listed them unsorted), and groups are formed from
all image files before unpaired ones are dropped (as the authors did). Items
come in the authors' order: class by class, groups in shuffled order, stems
sorted within a group. The items of the authors' val groups (the first part of
the test split) are also listed as `val_ids` / `val_labels`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .index import (
    VARIABLE_IMAGE_SIDE,
    AudioFiles,
    DatasetLayoutError,
    FileSource,
    ImageFiles,
    SplitIndex,
    require_dir,
)
from .walk import AUDIO_SUFFIXES, IMAGE_SUFFIXES, sorted_subdirs

VISION_DIRS = ("vision", "Dataset_v3_vision")
SOUND_DIRS = ("sound", "Dataset_v3_sound")
TRAIN_RATIO, VAL_RATIO = 0.7, 0.1
GROUP_CHARS = 5  # the source-recording id is the first 5 characters of a stem


@dataclass
class AdvanceIndex:
    """The pairs of one ADVANCE copy, split as the readers give them."""

    root: Path
    vision_dir: Path
    sound_dir: Path
    classes: list[str]
    splits: dict[str, SplitIndex]  # "train", "test": pair keys and labels
    val: SplitIndex  # the authors' validation groups (also in the test split)
    images: dict[str, str] = field(default_factory=dict)  # pair key -> path under vision_dir
    sounds: dict[str, str] = field(default_factory=dict)  # pair key -> path under sound_dir
    notes: list[str] = field(default_factory=list)


def find_folder(root: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of `root/<name>` that exists; the error names the expected path."""
    for name in names:
        if (root / name).is_dir():
            return root / name
    others = ", ".join(names[1:])
    return require_dir(root / names[0], f"the ADVANCE {what} folder (or {others})")


def files_by_stem(folder: Path, suffixes: tuple[str, ...], clashes: list[str]) -> dict[str, str]:
    """stem -> file name of the visible files of `folder` with one of `suffixes`.

    Two files with one stem: the first in sorted order is kept, the other
    named in `clashes`.
    """
    out: dict[str, str] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in suffixes or not p.is_file():
            continue
        if p.stem in out:
            clashes.append(f"{folder.name}/{p.name}")
        else:
            out[p.stem] = p.name
    return out


def grouped_split(stems: list[str], seed: int, train_ratio: float = TRAIN_RATIO,
                  val_ratio: float = VAL_RATIO) -> tuple[list[str], list[str], list[str]]:
    """The authors' `data_splitter_by_id` for one class: (train, val, test) stems."""
    groups: dict[str, list[str]] = {}
    for stem in stems:
        groups.setdefault(stem[:GROUP_CHARS], []).append(stem)
    ids = list(groups)
    np.random.RandomState(seed).shuffle(ids)  # the stream of np.random.seed(seed); shuffle
    n_train = int(math.floor(len(ids) * train_ratio))
    n_val = int(math.floor(len(ids) * val_ratio))
    parts = ids[:n_train], ids[n_train:n_train + n_val], ids[n_train + n_val:]
    return tuple([s for g in part for s in groups[g]] for part in parts)


def _note(kind: str, items: list[str]) -> list[str]:
    return [f"{kind}: {len(items)} (first: {items[0]})"] if items else []


def build_advance_index(root: str | Path) -> AdvanceIndex:
    """Pairs, classes and the grouped split of the ADVANCE copy at `root`."""
    root = Path(root)
    vision_dir = find_folder(root, VISION_DIRS, "image")
    sound_dir = find_folder(root, SOUND_DIRS, "sound")
    classes = sorted_subdirs(vision_dir)
    if not classes:
        raise DatasetLayoutError(f"expected class folders in {vision_dir} (none found)")
    index = AdvanceIndex(root, vision_dir, sound_dir, classes,
                         {"train": SplitIndex(), "test": SplitIndex()}, SplitIndex())
    lonely_images, lonely_sounds, clashes = [], [], []
    for label, cls in enumerate(classes):
        images = files_by_stem(vision_dir / cls, IMAGE_SUFFIXES, clashes)
        sounds = files_by_stem(sound_dir / cls, AUDIO_SUFFIXES, clashes)
        train, val, test = grouped_split(sorted(images), label)
        # The paper evaluates on 30%: the authors' val and test groups together.
        for targets, stems in (((index.splits["train"],), train),
                               ((index.splits["test"], index.val), val),
                               ((index.splits["test"],), test)):
            for stem in stems:
                if stem not in sounds:
                    lonely_images.append(f"{cls}/{images[stem]}")
                    continue
                key = f"{cls}/{stem}"
                for target in targets:
                    target.add(key, label)
                index.images[key], index.sounds[key] = f"{cls}/{images[stem]}", f"{cls}/{sounds[stem]}"
        lonely_sounds += [f"{cls}/{name}" for stem, name in sounds.items() if stem not in images]
    for cls in sorted_subdirs(sound_dir, exclude=classes):
        lonely_sounds += [f"{cls}/{n}" for n in files_by_stem(sound_dir / cls, AUDIO_SUFFIXES,
                                                              clashes).values()]
    index.notes = (_note(f"images in {vision_dir.name} without a sound (left out)", lonely_images)
                   + _note(f"sounds in {sound_dir.name} without an image (left out)", lonely_sounds)
                   + _note("files sharing a stem with another (left out)", clashes)
                   + _class_notes(vision_dir, sound_dir, classes))
    return index


def _class_notes(vision_dir: Path, sound_dir: Path, classes: list[str]) -> list[str]:
    """Classes on one side only (named, and those that differ only in case), and folders
    inside class folders (the layout is flat: they are not read)."""
    sound_classes = sorted_subdirs(sound_dir)
    only_vision = [c for c in classes if c not in sound_classes]
    only_sound = [c for c in sound_classes if c not in classes]
    by_case = [f"{vision_dir.name}/{v}/ and {sound_dir.name}/{s}/" for v in only_vision
               for s in only_sound if v.lower() == s.lower()]
    nested = [f"{d.name}/{c}/{sub}/" for d, names in ((vision_dir, classes),
                                                      (sound_dir, sound_classes))
              for c in names for sub in sorted_subdirs(d / c)]
    return (_note(f"classes in {vision_dir.name} with no {sound_dir.name} folder (their images "
                  "left out)", only_vision)
            + _note(f"classes in {sound_dir.name} with no {vision_dir.name} folder (their sounds "
                    "left out)", only_sound)
            + _note("class folders that differ only in case (rename one to pair them)", by_case)
            + _note("folders inside class folders, not read (class folders hold the files)",
                    nested))


class _AdvanceReader(FileSource):
    """Shared part of the two readers: pair-key ids mapped to one modality's files."""

    def __init__(self, root: str | Path, index: AdvanceIndex | None = None):
        index = index if index is not None else build_advance_index(root)
        self._folder, self._files = self._files_of(index)
        self.val_ids = list(index.val.ids)
        self.val_labels = np.asarray(index.val.labels, dtype=np.int64)
        super().__init__(index.root, index.classes, index.splits, index.notes)

    @staticmethod
    def _files_of(index: AdvanceIndex) -> tuple[Path, dict[str, str]]:
        raise NotImplementedError

    @property
    def val_count(self) -> int:
        """Pairs in the authors' validation groups (part of the test split)."""
        return len(self.val_ids)

    def path(self, split: str, index: int) -> Path:
        return self._folder / self._files[self.item_id(split, index)]


class AdvanceImages(_AdvanceReader, ImageFiles):
    """ADVANCE aerial images, uint8 RGB brought to (image_side, image_side); None keeps 512x512."""

    name = "advance-images"

    def __init__(self, root: str | Path, image_side: int | None = VARIABLE_IMAGE_SIDE, *,
                 index: AdvanceIndex | None = None):
        self.image_side = image_side
        super().__init__(root, index)

    @staticmethod
    def _files_of(index: AdvanceIndex) -> tuple[Path, dict[str, str]]:
        return index.vision_dir, index.images


class AdvanceSounds(_AdvanceReader, AudioFiles):
    """ADVANCE sounds as 16 kHz mono float32 waveforms (10 s clips, resampled)."""

    name = "advance-sounds"

    def __init__(self, root: str | Path, *, index: AdvanceIndex | None = None):
        super().__init__(root, index)

    @staticmethod
    def _files_of(index: AdvanceIndex) -> tuple[Path, dict[str, str]]:
        return index.sound_dir, index.sounds


def advance_pair(root: str | Path, image_side: int | None = VARIABLE_IMAGE_SIDE
                 ) -> tuple[AdvanceImages, AdvanceSounds]:
    """Both readers from one index: same ids, order and labels in every split."""
    index = build_advance_index(root)
    return AdvanceImages(root, image_side, index=index), AdvanceSounds(root, index=index)


__all__ = ["AdvanceImages", "AdvanceIndex", "AdvanceSounds", "GROUP_CHARS", "SOUND_DIRS",
           "TRAIN_RATIO", "VAL_RATIO", "VISION_DIRS", "advance_pair", "build_advance_index",
           "grouped_split"]
