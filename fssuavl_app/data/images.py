"""Image datasets in their published on-disk layouts: TinyImageNet, CIFAR-10, class folders.

Every reader returns items as uint8 RGB arrays (H, W, 3): TinyImageNet at
64x64, CIFAR-10 at 32x32, `ImageFolder` at (image_side, image_side).
Labels come from the index alone; nothing is decoded until `load`.
"""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path
from types import MappingProxyType
from typing import Sequence

import numpy as np

from .folders import class_folder_index
from .index import (
    VARIABLE_IMAGE_SIDE,
    DatasetLayoutError,
    ImageFiles,
    IndexedSource,
    SplitIndex,
    read_text,
    require_dir,
    require_file,
)
from .walk import IMAGE_SUFFIXES, sorted_subdirs, walk_classes, wanted_file

TINY_FOLDER = "tiny-imagenet-200"
TINY_SIDE = 64
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{k}" for k in range(1, 6))
CIFAR_TEST = "test_batch"
CIFAR_SIDE = 32
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


_SINGULAR = MappingProxyType({"are": "is", "name": "names", "repeat": "repeats",
                              "give": "gives"})


def _count_note(where: str, what: str, items: list[str]) -> list[str]:
    """[] or one line 'where: N rows <what> (first: item)'; <what> starts with a plural verb."""
    if not items:
        return []
    if len(items) == 1:  # "rows name ..." -> "row names ..."
        verb, _, rest = what.partition(" ")
        return [f"{where}: 1 row {_SINGULAR.get(verb, verb)} {rest} (first: {items[0]})"]
    return [f"{where}: {len(items)} rows {what} (first: {items[0]})"]


def _inside(root: Path, folder: str) -> Path:
    """`root/folder` when root is its parent, else root itself."""
    return root / folder if (root / folder).is_dir() else root


# ---------------------------------------------------------------- TinyImageNet


def read_wnids(path: Path) -> list[str]:
    """The wnids of `wnids.txt`, in file order; a repeated wnid is a layout error."""
    wnids = [line.strip() for line in read_text(path).splitlines() if line.strip()]
    if not wnids:
        raise DatasetLayoutError(f"{path}: lists no wnids")
    repeated = sorted(w for w, n in Counter(wnids).items() if n > 1)
    if repeated:
        raise DatasetLayoutError(f"{path}: lists {repeated[:3]} more than once")
    return wnids


def read_words(path: Path, wnids: Sequence[str]) -> tuple[str, ...]:
    """Readable names of `wnids` from `words.txt` (wnid TAB names); the wnid when absent."""
    names: dict[str, str] = {}
    if path.is_file():
        # display names only (labels are wnids): bytes that are not UTF-8 are replaced
        for line in path.read_bytes().decode("utf-8-sig", "replace").splitlines():
            wnid, _, words = line.partition("\t")
            names[wnid.strip()] = words.strip()
    return tuple(names.get(w) or w for w in wnids)


def _tiny_train(root: Path, wnids: Sequence[str]) -> tuple[SplitIndex, list[str]]:
    """train/<wnid>/images/* in wnids.txt order; notes for empty or unlisted classes."""
    train_dir = require_dir(root / "train", "the TinyImageNet train folder train/<wnid>/images/")
    split = SplitIndex()
    found, _, skipped = walk_classes(root, [train_dir / w / "images" for w in wnids],
                                     IMAGE_SUFFIXES, [root / "val" / "images"])
    for item_id, label in found:
        split.add(item_id, label)
    used = set(split.labels)
    empty = [f"train/{w}/images/" for label, w in enumerate(wnids) if label not in used]
    known = set(wnids)
    unlisted = [f"train/{d}/" for d in sorted_subdirs(train_dir) if d not in known]
    notes = [f"train/: {len(empty)} class(es) of wnids.txt have no images (first: {empty[0]})"
             ] if empty else []
    if skipped:
        notes.append(f"train/: {len(skipped)} linked folder(s) lead elsewhere into the dataset "
                     f"or are reached twice, not read there (first: {skipped[0]})")
    if unlisted:
        notes.append(f"train/: {len(unlisted)} folder(s) not in wnids.txt, skipped "
                     f"(first: {unlisted[0]})")
    return split, notes


def _annotation_rows(table: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(file name, wnid) of each row of val_annotations.txt, and 'line N' of malformed rows."""
    rows, bad = [], []
    for number, line in enumerate(read_text(table).splitlines(), start=1):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) >= 2 and fields[0] and fields[1]:
            rows.append((fields[0], fields[1]))
        elif line.strip():
            bad.append(f"line {number}")
    return rows, bad


def _tiny_val(root: Path, wnids: Sequence[str]) -> tuple[SplitIndex, list[str]]:
    """The labelled val split from val/val_annotations.txt (filename TAB wnid TAB box)."""
    table = require_file(root / "val" / "val_annotations.txt",
                         "the TinyImageNet val labels val/val_annotations.txt")
    images = require_dir(root / "val" / "images", "the TinyImageNet val images val/images/")
    present = {p.name for p in images.iterdir()
               if p.is_file() and wanted_file(p.name, IMAGE_SUFFIXES)}
    label_of = {w: n for n, w in enumerate(wnids)}
    split, seen = SplitIndex(), {}
    rows, bad = _annotation_rows(table)
    unknown, missing, repeated, conflicting = [], [], [], []
    for name, wnid in rows:
        item_id = f"val/images/{name}"
        if wnid not in label_of:
            unknown.append(f"{wnid} for {item_id}")
        elif name not in present:
            missing.append(item_id)
        elif item_id in seen:
            (repeated if seen[item_id] == wnid else conflicting).append(
                item_id if seen[item_id] == wnid else f"{item_id} as {wnid}, first as "
                f"{seen[item_id]}")
        else:
            seen[item_id] = wnid
            split.add(item_id, label_of[wnid])
    named = {f"val/images/{name}" for name, _ in rows}
    unlisted = sorted(f"val/images/{n}" for n in present if f"val/images/{n}" not in named)
    where = "val_annotations.txt"
    notes = (_count_note(where, "are not 'filename<TAB>wnid...'", bad)
             + _count_note(where, "name a wnid not in wnids.txt", unknown)
             + _count_note(where, "name a file that does not exist", missing)
             + _count_note(where, "repeat a file named before", repeated)
             + _count_note(where, "give a file named before another wnid (the first kept)",
                           conflicting)
             + ([f"val/images/: {len(unlisted)} file(s) no row of {where} names, not used "
                 f"(first: {unlisted[0]})"] if unlisted else []))
    return split, notes


class TinyImageNet(ImageFiles):
    """TinyImageNet (`tiny-imagenet-200/`): 200 classes, 64x64 RGB, train 500 and val 50 per class.

    `root` is the `tiny-imagenet-200` folder or its parent. Classes are in the
    order of `wnids.txt` (not sorted, unlike torchvision's ImageFolder) for
    both splits; `classes` holds the wnids and `class_names` the readable
    names from `words.txt` (the wnid where absent). train is
    `train/<wnid>/images/*.JPEG`; test is the labelled val split, listed in
    `val/val_annotations.txt`, of `val/images/val_<k>.JPEG`. The unlabelled
    `test/` and the `*_boxes.txt` files are not used. Ids are root-relative
    paths (`train/n01443537/images/n01443537_0.JPEG`, `val/images/val_0.JPEG`).
    Annotation rows with an unknown wnid or a missing file are skipped and
    counted in `index_notes`. Items are uint8 RGB (64, 64, 3); grayscale and
    CMYK JPEGs are converted, other sizes resized and centre-cropped.
    """

    name = "tiny-imagenet"
    image_side = TINY_SIDE

    def __init__(self, root: str | Path):
        base = _inside(Path(root), TINY_FOLDER)
        require_dir(base, f"the TinyImageNet folder {TINY_FOLDER}/ (or its parent)")
        wnids = read_wnids(require_file(base / "wnids.txt", "the TinyImageNet class list"))
        train, train_notes = _tiny_train(base, wnids)
        test, test_notes = _tiny_val(base, wnids)
        self.class_names = read_words(base / "words.txt", wnids)
        super().__init__(base, wnids, {"train": train, "test": test}, train_notes + test_notes)


# ---------------------------------------------------------------- CIFAR-10


def _get(batch: dict, key: str):
    """batch[key], accepting bytes keys (a pickle read without encoding='latin1')."""
    for k in (key, key.encode()):
        if k in batch:
            return batch[k]
    raise KeyError(f"no {key!r} entry (it has {sorted(map(_text, batch))[:6]})")


def _text(value) -> str:
    """A pickled name as text: bytes (Python 2 pickles) decoded, not shown as b'...'."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images uint8 (N, 32, 32, 3) and labels int64 (N,)."""
    require_file(path, f"the CIFAR-10 batch {path.name}")
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="latin1")
        data = np.asarray(_get(batch, "data"))
        raw_labels = np.asarray(_get(batch, "labels"))
        labels = raw_labels.astype(np.int64)
    except (pickle.UnpicklingError, EOFError, OSError, AttributeError, ImportError, IndexError,
            KeyError, TypeError, ValueError) as exc:
        raise DatasetLayoutError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__}: "
                                 f"{exc})") from exc
    side = CIFAR_SIDE
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * side * side:
        raise DatasetLayoutError(f"{path}: 'data' is {data.dtype} {data.shape}, expected uint8 "
                                 f"(N, {3 * side * side})")
    if raw_labels.dtype.kind not in "iub" and not np.array_equal(raw_labels, labels):
        raise DatasetLayoutError(f"{path}: 'labels' are not whole numbers (e.g. "
                                 f"{raw_labels[raw_labels != labels][0]!r})")
    if labels.shape != (len(data),):
        raise DatasetLayoutError(f"{path}: {len(data)} images but 'labels' has shape "
                                 f"{labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES)):
        raise DatasetLayoutError(f"{path}: labels outside 0..{len(CIFAR10_CLASSES) - 1}")
    images = data.reshape(-1, 3, side, side).transpose(0, 2, 3, 1)  # channel-planar -> HWC
    return np.ascontiguousarray(images), labels


def read_cifar_meta(path: Path) -> tuple[str, ...]:
    """label_names of `batches.meta`; the standard ten when the file is absent."""
    if not path.is_file():
        return CIFAR10_CLASSES
    try:
        with open(path, "rb") as fh:
            names = tuple(map(_text, _get(pickle.load(fh, encoding="latin1"), "label_names")))
    except (pickle.UnpicklingError, EOFError, OSError, AttributeError, ImportError, IndexError,
            KeyError, TypeError, ValueError) as exc:
        raise DatasetLayoutError(f"{path}: not a CIFAR-10 batches.meta ({exc})") from exc
    if len(names) != len(CIFAR10_CLASSES):
        raise DatasetLayoutError(f"{path}: {len(names)} label_names, expected 10")
    return names


class Cifar10(IndexedSource):
    """CIFAR-10, python version (`cifar-10-batches-py/`): 10 classes, 32x32 RGB, 50k / 10k.

    `root` is `cifar-10-batches-py/` or its parent. train is `data_batch_1`
    .. `data_batch_5` in that order, test is `test_batch`; class names come
    from `batches.meta` (the standard ten when it is missing). All batches
    are unpickled once, at construction, and kept in memory as uint8
    (N, 32, 32, 3) (about 180 MB for the full set), so `fingerprint` is None
    (nothing to cache). Ids are `str(index)` within a split.
    """

    name = "cifar10"

    def __init__(self, root: str | Path):
        base = _inside(Path(root), CIFAR_FOLDER)
        require_dir(base, f"the CIFAR-10 folder {CIFAR_FOLDER}/ (or its parent)")
        classes = read_cifar_meta(base / "batches.meta")
        train = [read_cifar_batch(base / name) for name in CIFAR_TRAIN]
        test_images, test_labels = read_cifar_batch(base / CIFAR_TEST)
        self._images = {"train": np.concatenate([p[0] for p in train]), "test": test_images}
        labels = {"train": np.concatenate([p[1] for p in train]), "test": test_labels}
        splits = {s: SplitIndex([str(i) for i in range(len(y))], y.tolist())
                  for s, y in labels.items()}
        super().__init__(base, classes, splits)

    def load(self, split: str, index: int) -> np.ndarray:
        """uint8 RGB (32, 32, 3), a copy."""
        self.labels(split)  # checks the split name
        return self._images[split][index].copy()


# ---------------------------------------------------------------- class folders


class ImageFolder(ImageFiles):
    """Images in class folders: `root/<class>/**/<image>`, or `root/train/...` + `root/test/...`.

    With both `root/train/` and `root/test/`, each holds `<class>/**/<image>`;
    classes are the sorted class folders of train (a test class that train
    lacks is a layout error). Otherwise classes are the sorted folders of
    `root` and the split is fixed by the file: an item is test when
    int(sha1(NFC id).hexdigest(), 16) % 5 == 0 (about 20%), train otherwise; a
    class may end up with no test or no train item. Image suffixes are those
    of `IMAGE_SUFFIXES`, any case. Ids are root-relative posix paths
    (`cat/a.jpg`, `train/cat/a.jpg`). Items are uint8 RGB
    (image_side, image_side, 3): shorter side resized, centre crop.
    """

    name = "image-folder"

    def __init__(self, root: str | Path, image_side: int = VARIABLE_IMAGE_SIDE):
        base = require_dir(Path(root), "the image folder root (<class>/<images> or train/ + test/)")
        self.image_side = int(image_side)
        classes, splits, notes = class_folder_index(base, IMAGE_SUFFIXES, "image")
        super().__init__(base, classes, splits, notes)


__all__ = ["CIFAR10_CLASSES", "Cifar10", "ImageFolder", "TinyImageNet",
           "read_cifar_batch"]
