"""Class-per-folder datasets, shared by the image and the audio folder readers.

Layouts: `root/train/<class>/**` + `root/test/<class>/**` (classes are the
sorted class folders of train; a test class that train lacks is a layout
error), or `root/<class>/**` with a split fixed by each file: an item is
test when int(sha1(id).hexdigest(), 16) % 5 == 0 (about 20%). Ids are
root-relative posix paths, class by class, sorted by path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from .index import DatasetLayoutError, SplitIndex, files_under, sorted_subdirs

TEST_EVERY = 5


def is_test_item(item_id: str) -> bool:
    """The fixed split of a flat class-folder set: sha1 of the id mod 5 == 0 (~20%)."""
    return int(hashlib.sha1(item_id.encode("utf-8")).hexdigest(), 16) % TEST_EVERY == 0


def note(where: str, what: tuple[str, str], items: Sequence[str]) -> list[str]:
    """[] or one line '<where>: <N> <what> (first: <item>)'; what = (singular, plural) wording."""
    if not items:
        return []
    return [f"{where}: {len(items)} {what[len(items) > 1]} (first: {items[0]})"]


def visible_files(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """The visible files directly in `folder` with one of `suffixes` (any case), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in suffixes)


def _class_files(root: Path, folder: Path, classes: Sequence[str], suffixes: Sequence[str]
                 ) -> list[tuple[str, int]]:
    return [(p.relative_to(root).as_posix(), label) for label, cls in enumerate(classes)
            for p in files_under(folder / cls, suffixes)]


def class_folder_index(root: Path, suffixes: Sequence[str], kind: str
                       ) -> tuple[list[str], dict[str, SplitIndex], list[str]]:
    """(classes, {"train", "test"} splits, index notes) of a class-folder set of `kind` files."""
    split_layout = (root / "train").is_dir() and (root / "test").is_dir()
    folder = root / "train" if split_layout else root
    classes = sorted_subdirs(folder)
    if not classes:
        raise DatasetLayoutError(f"expected class folders in {folder} (none found)")
    splits = {s: SplitIndex() for s in ("train", "test")}
    notes = []
    if split_layout:
        strangers = [c for c in sorted_subdirs(root / "test") if c not in classes]
        if strangers:
            raise DatasetLayoutError(f"{root / 'test'}: class folders {strangers[:3]} are not in "
                                     f"{root / 'train'} (expected the same classes)")
        for split, target in splits.items():
            for item_id, label in _class_files(root, root / split, classes, suffixes):
                target.add(item_id, label)
    else:
        for item_id, label in _class_files(root, root, classes, suffixes):
            splits["test" if is_test_item(item_id) else "train"].add(item_id, label)
        loose = [p.name for p in visible_files(root, suffixes)]
        notes += note(str(root), (f"{kind} file directly in the root, in no class folder, "
                                  "skipped", f"{kind} files directly in the root, in no class "
                                  "folder, skipped"), loose)
    empty = [c for c in classes if not files_under(folder / c, suffixes)]
    notes += note(str(folder), (f"class folder holds no {kind} file",
                                f"class folders hold no {kind} file"), empty)
    return classes, splits, notes
