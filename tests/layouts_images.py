"""Tiny image datasets written in their published on-disk layouts, for tests.

Each `write_*` writes into a folder and returns the dataset root a reader
takes; all are deterministic and take a few milliseconds. Content depends on
the class (one background colour per class, `CLASS_COLOURS`) and on the item
(a bright square whose position moves with the item number), so no two
items of a class are identical.

File-based layouts (TinyImageNet, class folders) also hold dirty items, listed
by `tiny_imagenet_dirty()` / `image_folder_dirty()` as (split, id) pairs:
`corrupt` items raise `BadItem` on load, `odd` ones decode fine although
unusual (grayscale, CMYK, palette, RGBA, not square), and `skipped` are
entries a reader must leave out and count in `index_notes`. The in-memory
layouts (CIFAR-10 pickles, idx files) have no per-item files and no dirty
items; `cifar_image` / `idx_image` give the exact pixels written.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

CLASS_COLOURS = ((220, 40, 40), (40, 180, 60), (50, 80, 220), (230, 200, 30), (160, 60, 200),
                 (30, 200, 200), (240, 130, 20), (120, 120, 120), (90, 50, 20), (250, 160, 200))
TINY_WNIDS = ("n04067472", "n02124075", "n04540053", "n04099969", "n07749582", "n01641577",
              "n02802426", "n09246464")  # real wnids, not sorted (nor any first 2 or 3 of them)
TINY_WORDS = ("reel", "Egyptian cat", "volleyball", "rocking chair, rocker", "lemon",
              "bullfrog, Rana catesbeiana", "basketball", "cliff, drop, drop-off")
TINY_UNKNOWN_WNID = "n99999999"
CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
IMAGE_FOLDER_CLASSES = ("cat", "dog", "owl")


@dataclass(frozen=True)
class Dirty:
    """The unusual entries of a written fixture, as (split, id) pairs."""

    corrupt: tuple[tuple[str, str], ...] = ()  # load raises BadItem
    odd: tuple[tuple[str, str], ...] = ()  # decode fine: grayscale, CMYK, palette, RGBA, odd size
    skipped: tuple[tuple[str, str], ...] = ()  # not indexed; counted in index_notes

    def ids(self, split: str, kind: str = "corrupt") -> list[str]:
        """Ids of `split` in `kind` ("corrupt", "odd" or "skipped")."""
        return [i for s, i in getattr(self, kind) if s == split]


# ---------------------------------------------------------------- pixels


def class_image(label: int, k: int, size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """uint8 RGB (h, w, 3) for size=(w, h): class colour, white square placed by item k."""
    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = CLASS_COLOURS[label % len(CLASS_COLOURS)]
    side = max(2, min(w, h) // 4)
    top, left = (k * 5) % (h - side), (k * 11) % (w - side)
    img[top: top + side, left: left + side] = 255
    return img


def cifar_image(label: int, k: int) -> np.ndarray:
    """The exact uint8 (32, 32, 3) written for CIFAR item k of a split."""
    img = class_image(label, k, (32, 32))
    img[0, 0] = (k % 256, 7, 200)  # distinct channels: catches a wrong planar -> HWC reshape
    return img


def idx_image(label: int, k: int) -> np.ndarray:
    """The exact uint8 (28, 28) grey image written for idx item k: a bar per class."""
    img = np.full((28, 28), k % 50, np.uint8)
    img[2 + 2 * label: 4 + 2 * label, 4:24] = 255
    return img


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _jpeg(arr: np.ndarray) -> bytes:
    return _encode(Image.fromarray(arr), "JPEG", quality=90)


def _truncated_jpeg(arr: np.ndarray) -> bytes:
    """The first 40% of a valid JPEG: the header parses, the scan data ends early."""
    data = _jpeg(arr)
    return data[: len(data) * 2 // 5]


def _grey_jpeg(arr: np.ndarray) -> bytes:
    return _encode(Image.fromarray(arr).convert("L"), "JPEG", quality=90)


def _cmyk_jpeg(arr: np.ndarray) -> bytes:
    return _encode(Image.fromarray(arr).convert("CMYK"), "JPEG", quality=90)


def _palette_png(arr: np.ndarray) -> bytes:
    return _encode(Image.fromarray(arr).convert("P", palette=Image.Palette.ADAPTIVE, colors=16),
                   "PNG")


def _rgba_png(arr: np.ndarray) -> bytes:
    alpha = np.full(arr.shape[:2], 255, np.uint8)
    alpha[: arr.shape[0] // 3] = 0  # top third transparent
    return _encode(Image.fromarray(np.dstack([arr, alpha]), "RGBA"), "PNG")


# ---------------------------------------------------------------- TinyImageNet


def tiny_imagenet_dirty() -> Dirty:
    """Dirty entries of `write_tiny_imagenet(dirty=True)` (all in the first wnid)."""
    w = TINY_WNIDS[0]
    train = f"train/{w}/images/{w}"
    return Dirty(corrupt=(("train", f"{train}_2.JPEG"), ("train", f"{train}_3.JPEG"),
                          ("test", "val/images/val_0.JPEG")),
                 odd=(("train", f"{train}_0.JPEG"), ("train", f"{train}_1.JPEG")),
                 skipped=(("test", "val/images/val_9998.JPEG"),
                          ("test", "val/images/val_9999.JPEG")))


def _tiny_train_class(root: Path, label: int, wnid: str, per_class: int, dirty: bool) -> None:
    """train/<wnid>/images/<wnid>_<k>.JPEG and train/<wnid>/<wnid>_boxes.txt."""
    boxes = []
    for k in range(per_class):
        arr = class_image(label, k)
        data = _jpeg(arr)
        if dirty and label == 0:  # k = 0 grey, 1 CMYK, 2 truncated, 3 zero bytes
            data = {0: _grey_jpeg(arr), 1: _cmyk_jpeg(arr), 2: _truncated_jpeg(arr),
                    3: b""}.get(k, data)
        _write(root / "train" / wnid / "images" / f"{wnid}_{k}.JPEG", data)
        boxes.append(f"{wnid}_{k}.JPEG\t0\t0\t63\t63\n")
    (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(boxes))


def _tiny_val(root: Path, wnids: Sequence[str], val_per_class: int, dirty: bool) -> None:
    """val/images/val_<j>.JPEG (class j % C), val_annotations.txt, and dirty rows."""
    rows = []
    for j in range(len(wnids) * val_per_class):
        label = j % len(wnids)
        arr = class_image(label, 100 + j)
        data = _truncated_jpeg(arr) if dirty and j == 0 else _jpeg(arr)
        _write(root / "val" / "images" / f"val_{j}.JPEG", data)
        rows.append(f"val_{j}.JPEG\t{wnids[label]}\t0\t0\t63\t63\n")
    if dirty:  # one row names a file that is absent, one names a wnid not in wnids.txt
        rows.insert(1, f"val_9998.JPEG\t{wnids[0]}\t0\t0\t63\t63\n")
        _write(root / "val" / "images" / "val_9999.JPEG", _jpeg(class_image(0, 9)))
        rows.append(f"val_9999.JPEG\t{TINY_UNKNOWN_WNID}\t0\t0\t63\t63\n")
    (root / "val" / "val_annotations.txt").write_text("".join(rows))


def write_tiny_imagenet(tmp: Path, classes: int = 3, per_class: int = 4, val_per_class: int = 2,
                        dirty: bool = True) -> Path:
    """tmp/tiny-imagenet-200 with `classes` wnids (wnids.txt not sorted); returns that folder.

    train: per_class 64x64 JPEGs per class; val: val_per_class per class,
    val_<j> of class j % classes; test/: 2 unlabelled images; words.txt with
    two extra synsets; boxes files. dirty: see `tiny_imagenet_dirty()`.
    """
    if not 1 <= classes <= len(TINY_WNIDS) or (dirty and per_class < 4) or val_per_class < 1:
        raise ValueError("need 1..8 classes, per_class >= 4 when dirty, val_per_class >= 1")
    root = Path(tmp) / "tiny-imagenet-200"
    root.mkdir(parents=True, exist_ok=True)
    wnids = TINY_WNIDS[:classes]
    (root / "wnids.txt").write_text("".join(f"{w}\n" for w in wnids))
    words = [*zip(TINY_WNIDS, TINY_WORDS), ("n00001740", "entity"), ("n15299783", "sauce-alone")]
    (root / "words.txt").write_text("".join(f"{w}\t{n}\n" for w, n in sorted(words)))
    for label, wnid in enumerate(wnids):
        _tiny_train_class(root, label, wnid, per_class, dirty)
    _tiny_val(root, wnids, val_per_class, dirty)
    for j in range(2):
        _write(root / "test" / "images" / f"test_{j}.JPEG", _jpeg(class_image(j, 50 + j)))
    return root


# ---------------------------------------------------------------- CIFAR-10


def cifar_labels(split: str, per_batch: int = 4, test: int = 10) -> list[int]:
    """Labels written by `write_cifar10`: item k has label k % 10 (train), (k + 3) % 10 (test)."""
    if split == "train":
        return [k % 10 for k in range(5 * per_batch)]
    return [(k + 3) % 10 for k in range(test)]


def _cifar_batch(labels: list[int], first: int, name: str) -> dict:
    """A batch dict as the python version holds it: data (N, 3072) channel-planar uint8."""
    images = np.stack([cifar_image(y, first + i) for i, y in enumerate(labels)])
    data = images.transpose(0, 3, 1, 2).reshape(len(labels), 3 * 32 * 32)
    return {"batch_label": name, "labels": list(labels), "data": np.ascontiguousarray(data),
            "filenames": [f"item_{first + i}.png" for i in range(len(labels))]}


def write_cifar10(tmp: Path, per_batch: int = 4, test: int = 10, meta: bool = True) -> Path:
    """tmp/cifar-10-batches-py with data_batch_1..5, test_batch (and batches.meta); returns it.

    Train item k (over the five batches in order) is `cifar_image(k % 10, k)`,
    test item k is `cifar_image((k + 3) % 10, k)`; see `cifar_labels`.
    """
    root = Path(tmp) / "cifar-10-batches-py"
    root.mkdir(parents=True, exist_ok=True)
    train = cifar_labels("train", per_batch, test)
    for b in range(5):
        part = train[b * per_batch: (b + 1) * per_batch]
        batch = _cifar_batch(part, b * per_batch, f"training batch {b + 1} of 5")
        (root / f"data_batch_{b + 1}").write_bytes(pickle.dumps(batch, protocol=2))
    batch = _cifar_batch(cifar_labels("test", per_batch, test), 0, "testing batch 1 of 1")
    (root / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    if meta:
        info = {"num_cases_per_batch": per_batch, "label_names": list(CIFAR_NAMES), "num_vis": 3072}
        (root / "batches.meta").write_bytes(pickle.dumps(info, protocol=2))
    (root / "readme.html").write_text("<html>tiny CIFAR-10 fixture</html>\n")
    return root


# ---------------------------------------------------------------- MNIST idx


def idx_labels(split: str, n: int) -> list[int]:
    """Labels written by `write_mnist_idx`: k % 10 (train), (k + 1) % 10 (test)."""
    return [(k + (split == "test")) % 10 for k in range(n)]


def _idx_bytes(arr: np.ndarray) -> bytes:
    """An idx file: magic 0x0800 | ndim (uint8), big-endian dims, then the bytes."""
    header = (0x800 | arr.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_mnist_idx(tmp: Path, n_train: int = 20, n_test: int = 10, gz: bool = True) -> Path:
    """tmp/mnist-idx with the four idx files (`.gz` when gz); returns that folder.

    Item k of a split is `idx_image(label, k)` with the label of `idx_labels`.
    """
    root = Path(tmp) / "mnist-idx"
    root.mkdir(parents=True, exist_ok=True)
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        labels = idx_labels(split, n)
        images = np.stack([idx_image(y, k) for k, y in enumerate(labels)])
        for stem, arr in ((f"{prefix}-images-idx3-ubyte", images),
                          (f"{prefix}-labels-idx1-ubyte", np.asarray(labels, np.uint8))):
            data = _idx_bytes(arr)
            if gz:
                (root / f"{stem}.gz").write_bytes(gzip.compress(data, mtime=0))
            else:
                (root / stem).write_bytes(data)
    return root


# ---------------------------------------------------------------- class folders


def image_folder_split(item_id: str) -> str:
    """The split the flat class-folder layout gives `item_id`: test when sha1 % 5 == 0."""
    return "test" if int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 5 == 0 else "train"


# name below the first class folder, kind, how it is made
_FOLDER_DIRTY = (("gray.jpg", "odd", "grey"), ("palette.png", "odd", "palette"),
                 ("rgba.png", "odd", "rgba"), ("nested/deep/truncated.jpg", "corrupt", "truncated"),
                 ("empty.jpg", "corrupt", "empty"))


def _dirty_place(name: str, cls: str, split_folders: bool) -> tuple[str, str]:
    """(split, id) of a dirty file: truncated.jpg goes to test/ with split folders."""
    if split_folders:
        split = "test" if name.endswith("truncated.jpg") else "train"
        return split, f"{split}/{cls}/{name}"
    return image_folder_split(f"{cls}/{name}"), f"{cls}/{name}"


def image_folder_dirty(split_folders: bool = False,
                       classes: Sequence[str] = IMAGE_FOLDER_CLASSES) -> Dirty:
    """Dirty entries of `write_image_folder(dirty=True)` (all in the first class).

    Flat: the split of each follows `image_folder_split`. With split folders,
    truncated.jpg is under test/ and the others under train/.
    """
    places = {kind: tuple(_dirty_place(name, classes[0], split_folders)
                          for name, k, _ in _FOLDER_DIRTY if k == kind)
              for kind in ("corrupt", "odd")}
    return Dirty(corrupt=places["corrupt"], odd=places["odd"])


def _dirty_bytes(key: str, arr: np.ndarray) -> bytes:
    makers = {"grey": _grey_jpeg, "palette": _palette_png, "rgba": _rgba_png,
              "truncated": _truncated_jpeg, "empty": lambda a: b""}
    return makers[key](arr)


def _folder_item_name(cls: str, k: int) -> str:
    """<cls>_<k>.<suffix>: jpg, png, JPEG (upper case) and bmp in turn."""
    return f"{cls}_{k:02d}.{('jpg', 'png', 'JPEG', 'bmp')[k % 4]}"


def _folder_item_bytes(label: int, k: int) -> bytes:
    """Item k of a class: sizes vary (not square), format follows `_folder_item_name`."""
    arr = class_image(label, k, (48 + 8 * (k % 3), 40 + 6 * (k % 2)))
    fmt = ("JPEG", "PNG", "JPEG", "BMP")[k % 4]
    return _encode(Image.fromarray(arr), fmt)


def write_image_folder(tmp: Path, classes: Sequence[str] = IMAGE_FOLDER_CLASSES,
                       per_class: int = 6, split_folders: bool = False,
                       dirty: bool = True) -> Path:
    """tmp/image-folder with <class>/<images> (or train/<class>/ + test/<class>/); returns it.

    Flat: per_class images per class, split by `image_folder_split`; a loose
    image in the root (skipped, noted) and a notes.txt (ignored). Split
    folders: per_class in train and per_class // 2 (at least 1) in test per
    class. dirty: see `image_folder_dirty(split_folders, classes)`.
    """
    root = Path(tmp) / "image-folder"
    counts = {"": per_class} if not split_folders else {"train": per_class,
                                                         "test": max(1, per_class // 2)}
    for part, n in counts.items():
        for label, cls in enumerate(classes):
            for k in range(n):
                item = k + (100 if part == "test" else 0)
                _write(root / part / cls / _folder_item_name(cls, item),
                       _folder_item_bytes(label, item))
    if dirty:
        for name, _, key in _FOLDER_DIRTY:
            _, item_id = _dirty_place(name, classes[0], split_folders)
            _write(root / item_id, _dirty_bytes(key, class_image(0, 77, (60, 44))))
    (root / (classes[0] if not split_folders else f"train/{classes[0]}") / "notes.txt").write_text(
        "not an image\n")
    if not split_folders:
        _write(root / "loose.png", _encode(Image.fromarray(class_image(1, 5, (32, 32))), "PNG"))
    return root
