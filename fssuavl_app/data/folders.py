"""Class-per-folder datasets, shared by the image and the audio folder readers.

Layouts: `root/train/<class>/**` + `root/test/<class>/**` (the two names in
any case; classes are the sorted class folders of train; a test class that
train lacks is a layout error), or `root/<class>/**` with a split fixed by
each file: an item is test when int(sha1(NFC id).hexdigest(), 16) % 5 == 0
(about 20%). Ids are root-relative posix paths, class by class, sorted by
path. Hidden files and folders are skipped, symlinked folders followed.
Folders named like a split but not the train/test pair (val/, a lone
train/), or a lone class folder whose files sit one level deeper, are layout
errors: read as classes they would give every item a wrong label.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path
from typing import Sequence

from .index import DatasetLayoutError, SplitIndex
from .walk import sorted_subdirs, walk_classes, wanted_file

TEST_EVERY = 5
# Folder names (any case) that say a copy is split; in a flat layout they would become classes.
SPLIT_NAMES = frozenset({"train", "test", "val", "valid", "validation", "eval", "dev"})


def is_test_item(item_id: str) -> bool:
    """The fixed split of a flat class-folder set: sha1 of the NFC id mod 5 == 0 (~20%)."""
    # NFC: a copy made on macOS (NFD names) splits as a copy made on Linux; surrogateescape:
    # a file name that is not UTF-8 still hashes
    key = unicodedata.normalize("NFC", item_id)
    return int(hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest(),
               16) % TEST_EVERY == 0


def note(where: str, what: tuple[str, str], items: Sequence[str]) -> list[str]:
    """[] or one line '<where>: <N> <what> (first: <item>)'; what = (singular, plural) wording."""
    if not items:
        return []
    return [f"{where}: {len(items)} {what[len(items) > 1]} (first: {items[0]})"]


def visible_files(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """The visible files directly in `folder` with one of `suffixes` (any case), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and wanted_file(p.name, suffixes))


def _holds_folders(folder: Path) -> bool:
    """A split folder holds class folders; a class that happens to be named `train` holds files."""
    return bool(sorted_subdirs(folder))


def split_folders(root: Path) -> tuple[Path, Path] | None:
    """(train, test) folders of a split layout (the names in any case), or None for a flat one.

    A folder named like a split (train, test, val, ...) that holds folders is
    taken as a split; one that holds only files is a class. Split folders
    other than the train/test pair (val/ beside train/, a train/ alone) are a
    layout error: read as classes they would silently become the classes.
    """
    folders = [f for f in sorted_subdirs(root) if _holds_folders(root / f)]
    named = {f.lower(): f for f in folders}
    if "train" in named and "test" in named:
        return root / named["train"], root / named["test"]
    splits = [f for f in folders if f.lower() in SPLIT_NAMES]
    if splits:
        raise DatasetLayoutError(
            f"{root} holds {', '.join(f + '/' for f in splits)} with folders inside: a split "
            "layout needs train/<class>/ and test/<class>/ (rename a val/ or validation/ folder "
            "to test/); without both, ROOT's sub-folders are the classes, and these would be "
            "taken as classes")
    return None


def _one_level_too_high(root: Path, folder: Path, classes: Sequence[str],
                        suffixes: Sequence[str]) -> None:
    """A lone class folder whose files all sit in its own sub-folders is the real root."""
    if len(classes) != 1:
        return
    inner = folder / classes[0]
    if visible_files(inner, suffixes) or len(sorted_subdirs(inner)) < 2:
        return
    where = (f"point the root at {inner} (its sub-folders are the classes)" if folder == root
             else f"move the class folders of {classes[0]}/ up a level, in train/ and test/")
    raise DatasetLayoutError(
        f"{folder} holds one folder, {classes[0]}/, and its files sit in its sub-folders "
        f"{sorted_subdirs(inner)[:3]}: {where}")


def class_folder_index(root: Path, suffixes: Sequence[str], kind: str
                       ) -> tuple[list[str], dict[str, SplitIndex], list[str]]:
    """(classes, {"train", "test"} splits, index notes) of a class-folder set of `kind` files."""
    split = split_folders(root)
    folder = split[0] if split else root
    classes = sorted_subdirs(folder)
    if not classes:
        raise DatasetLayoutError(f"expected class folders in {folder} (none found)")
    _one_level_too_high(root, folder, classes, suffixes)
    splits = {s: SplitIndex() for s in ("train", "test")}
    notes, unreadable, skipped = [], [], []
    loose = {root: [p.name for p in visible_files(root, suffixes)]}
    if split:
        strangers = [c for c in sorted_subdirs(split[1]) if c not in classes]
        if strangers:
            raise DatasetLayoutError(f"{split[1]}: class folders {strangers[:3]} are not in "
                                     f"{split[0]} (expected the same classes)")
        every_class = [t / c for t in split for c in sorted_subdirs(t)]
        for name, target in zip(("train", "test"), split):
            found, bad, links = walk_classes(root, [target / c for c in classes], suffixes,
                                             every_class)
            for item_id, label in found:
                splits[name].add(item_id, label)
            unreadable += bad
            skipped += links
            loose[target] = [p.name for p in visible_files(target, suffixes)]
        unused = [f + "/" for f in sorted_subdirs(root) if root / f not in split]
        notes += note(str(root), ("folder beside the train and test folders, not used",
                                  "folders beside the train and test folders, not used"),
                      unused)
    else:
        found, unreadable, skipped = walk_classes(root, [root / c for c in classes], suffixes)
        for item_id, label in found:
            splits["test" if is_test_item(item_id) else "train"].add(item_id, label)
    for where, names in loose.items():
        place = "the root" if where == root else f"{where.name}/"
        notes += note(str(where), (f"{kind} file directly in {place}, in no class folder, "
                                   "skipped", f"{kind} files directly in {place}, in no class "
                                   "folder, skipped"), names)
    notes += note(str(root), (f"{kind} name is not a readable file (a broken link?) or a "
                              "folder could not be listed, skipped", f"{kind} names are not "
                              "readable files (broken links?) or folders could not be listed, "
                              "skipped"), unreadable)
    notes += note(str(root), ("folder is reached a second time through a link, or a link leads "
                              "into another class or above the root; not read there",
                              "folders are reached a second time through a link, or links lead "
                              "into another class or above the root; not read there"), skipped)
    used = set(splits["train"].labels) | (set() if split else set(splits["test"].labels))
    empty = [c for label, c in enumerate(classes) if label not in used]
    notes += note(str(folder), (f"class folder holds no {kind} file",
                                f"class folders hold no {kind} file"), empty)
    if len(classes) == 1:
        notes.append(f"{folder}: one class folder only ({classes[0]}): every item has the same "
                     "label, so kNN, probes and label-skewed partitions mean nothing")
    return classes, splits, notes
