"""Image readers on tiny fixtures in the published layouts, and on the real Debian Fashion-MNIST."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from fssuavl_app.data import idx as idx_module
from fssuavl_app.data import images as images_module
from fssuavl_app.data import index as index_module
from fssuavl_app.data.decode import BadItem
from fssuavl_app.data.idx import FASHION_CLASSES, IdxImages
from fssuavl_app.data.images import Cifar10, ImageFolder, TinyImageNet
from fssuavl_app.data.index import DatasetLayoutError, IndexedSource
from fssuavl_app.data.registry import open_dataset

from . import layouts_images as L

pytestmark = pytest.mark.integration

FASHION = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return L.write_tiny_imagenet(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def folder_root(tmp_path_factory) -> Path:
    return L.write_image_folder(tmp_path_factory.mktemp("folder"))


@pytest.fixture
def no_decoding(monkeypatch):
    """Any image decode fails the test: labels and ids must come from the index alone."""
    def forbidden(path):
        raise AssertionError(f"decoded {path} while indexing")
    monkeypatch.setattr(index_module, "decode_image", forbidden)


def _bad_ids(reader, split: str) -> list[str]:
    """Ids of `split` whose load raises BadItem; the others must be uint8 (H, W, 3)."""
    bad = []
    for i in range(len(reader.labels(split))):
        try:
            item = reader.load(split, i)
        except BadItem:
            bad.append(reader.item_id(split, i))
            continue
        assert item.dtype == np.uint8 and item.ndim == 3 and item.shape[2] == 3
    return bad


def _assert_round_trip(reader) -> None:
    for split in SPLITS:
        ids = reader.item_ids(split)
        assert len(ids) == len(set(ids)) == len(reader.labels(split))
        assert reader.labels(split).dtype == np.int64
        np.testing.assert_array_equal(reader.index_of(split, ids[::-1]),
                                      np.arange(len(ids))[::-1])
        assert [reader.item_id(split, i) for i in range(len(ids))] == ids
    with pytest.raises(DatasetLayoutError, match="not in this copy"):
        reader.index_of("train", ["no/such/item"])


def _near_colour(item: np.ndarray, label: int, tol: float = 40.0) -> bool:
    """The most common (median) colour of `item` is the class colour within `tol`."""
    median = np.median(item.reshape(-1, 3), axis=0)
    return float(np.abs(median - np.asarray(L.CLASS_COLOURS[label])).max()) < tol


# ---------------------------------------------------------------- TinyImageNet


def test_tiny_imagenet_classes_follow_wnids_txt(tiny_root, no_decoding):
    reader = TinyImageNet(tiny_root)
    assert reader.name == "tiny-imagenet" and isinstance(reader, IndexedSource)
    assert reader.classes == L.TINY_WNIDS[:3] and list(reader.classes) != sorted(reader.classes)
    assert reader.class_names == L.TINY_WORDS[:3]
    assert TinyImageNet(tiny_root.parent).root == tiny_root  # the parent is accepted


def test_tiny_imagenet_splits_labels_and_ids(tiny_root, no_decoding):
    reader = TinyImageNet(tiny_root)
    w = L.TINY_WNIDS
    assert reader.item_ids("train")[:2] == [f"train/{w[0]}/images/{w[0]}_0.JPEG",
                                            f"train/{w[0]}/images/{w[0]}_1.JPEG"]
    assert reader.labels("train").tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert all(i.split("/")[1] == reader.classes[y]
               for i, y in zip(reader.item_ids("train"), reader.labels("train")))
    assert reader.item_ids("test") == [f"val/images/val_{j}.JPEG" for j in range(6)]
    assert reader.labels("test").tolist() == [j % 3 for j in range(6)]
    everything = reader.item_ids("train") + reader.item_ids("test")
    assert not [i for i in everything if i.startswith("test/") or i.endswith(".txt")]
    _assert_round_trip(reader)


def test_tiny_imagenet_notes_skipped_annotation_rows(tiny_root):
    reader = TinyImageNet(tiny_root)
    skipped = L.tiny_imagenet_dirty().ids("test", "skipped")
    assert not set(skipped) & set(reader.item_ids("test"))
    notes = "\n".join(reader.index_notes)
    assert len(reader.index_notes) == 2
    assert ("val_annotations.txt: 1 row names a file that does not exist "
            "(first: val/images/val_9998.JPEG)") in notes
    assert "1 row names a wnid not in wnids.txt" in notes and L.TINY_UNKNOWN_WNID in notes


def test_tiny_imagenet_loads_64px_rgb_and_flags_corrupt(tiny_root):
    reader = TinyImageNet(tiny_root)
    dirty = L.tiny_imagenet_dirty()
    for split in SPLITS:
        assert sorted(_bad_ids(reader, split)) == sorted(dirty.ids(split))
    grey = reader.load("train", reader.index_of("train", dirty.ids("train", "odd")[:1])[0])
    assert grey.shape == (64, 64, 3) and (grey[..., 0] == grey[..., 2]).all()
    w1 = L.TINY_WNIDS[1]
    item = reader.load("train", reader.index_of("train", [f"train/{w1}/images/{w1}_0.JPEG"])[0])
    assert item.shape == (64, 64, 3) and _near_colour(item, 1)
    with pytest.raises(BadItem, match="val_0.JPEG"):
        reader.load("test", 0)
    assert reader.fingerprint("train", 0) is not None


def test_tiny_imagenet_clean_fixture(tmp_path):
    reader = TinyImageNet(L.write_tiny_imagenet(tmp_path, classes=2, per_class=3, dirty=False))
    assert reader.index_notes == [] and len(reader.labels("train")) == 6
    assert _bad_ids(reader, "train") == _bad_ids(reader, "test") == []


@pytest.mark.parametrize("missing", ["wnids.txt", "train", "val/val_annotations.txt"])
def test_tiny_imagenet_missing_parts(tmp_path, missing):
    root = L.write_tiny_imagenet(tmp_path)
    target = root / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DatasetLayoutError, match="expected") as err:
        TinyImageNet(root)
    assert str(target) in str(err.value)


def test_tiny_imagenet_missing_root(tmp_path):
    with pytest.raises(DatasetLayoutError) as err:
        TinyImageNet(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)


# ---------------------------------------------------------------- CIFAR-10


def test_cifar10_classes_splits_and_pixels(tmp_path, no_decoding):
    root = L.write_cifar10(tmp_path)
    reader = Cifar10(root.parent)  # the parent is accepted
    assert reader.name == "cifar10" and reader.root == root and isinstance(reader, IndexedSource)
    assert reader.classes == L.CIFAR_NAMES
    for split, n in (("train", 20), ("test", 10)):
        assert reader.labels(split).tolist() == L.cifar_labels(split)
        assert reader.item_ids(split) == [str(i) for i in range(n)]
    for split in SPLITS:
        for k in (0, 7):
            item = reader.load(split, k)
            assert item.dtype == np.uint8 and item.shape == (32, 32, 3)
            np.testing.assert_array_equal(item, L.cifar_image(L.cifar_labels(split)[k], k))
    assert reader.fingerprint("train", 0) is None
    _assert_round_trip(reader)


def test_cifar10_unpickles_each_batch_once(tmp_path, monkeypatch):
    calls = []
    real = images_module.read_cifar_batch
    monkeypatch.setattr(images_module, "read_cifar_batch", lambda p: calls.append(p) or real(p))
    reader = Cifar10(L.write_cifar10(tmp_path))
    for split in SPLITS:
        reader.labels(split)
        reader.load(split, 1)
    names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    assert sorted(p.name for p in calls) == names


def test_cifar10_without_meta_uses_standard_names(tmp_path):
    assert Cifar10(L.write_cifar10(tmp_path, meta=False)).classes == L.CIFAR_NAMES


def test_cifar10_missing_batch(tmp_path):
    root = L.write_cifar10(tmp_path)
    (root / "data_batch_3").unlink()
    with pytest.raises(DatasetLayoutError, match="data_batch_3") as err:
        Cifar10(root)
    assert str(root / "data_batch_3") in str(err.value)


@pytest.mark.parametrize("content,reason", [
    (b"this is not a pickle", "not a CIFAR-10 python batch"),
    (pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}), r"expected uint8"),
    (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}), "labels"),
    (pickle.dumps({"labels": [0]}), "KeyError"),
    # was "KeyError: b'labels'"
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}), r"no 'labels' entry \(it has \['data'\]\)"),
    # was truncated to 3 silently
    (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [3.7, 1.0]}),
     "'labels' are not whole numbers"),
], ids=["not-a-pickle", "data-shape", "labels-short", "no-data", "bytes-keys-no-labels",
        "float-labels"])
def test_cifar10_broken_batch(tmp_path, content, reason):
    root = L.write_cifar10(tmp_path)
    (root / "test_batch").write_bytes(content)
    with pytest.raises(DatasetLayoutError, match=reason) as err:
        Cifar10(root)
    assert str(root / "test_batch") in str(err.value)


def test_cifar10_meta_names_stored_as_bytes_read_as_text(tmp_path):
    """A Python 2 pickle's label_names (bytes) showed up as class names like b'airplane'."""
    root = L.write_cifar10(tmp_path)
    names = [f"class {k}".encode() for k in range(10)]
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))
    assert Cifar10(root).classes == tuple(f"class {k}" for k in range(10))


def test_cifar10_missing_root(tmp_path):
    with pytest.raises(DatasetLayoutError) as err:
        Cifar10(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)


# ---------------------------------------------------------------- MNIST idx


@pytest.mark.parametrize("gz", [True, False])
def test_idx_raw_and_gz(tmp_path, gz):
    root = L.write_mnist_idx(tmp_path, gz=gz)
    assert all(p.name.endswith(".gz") == gz for p in root.iterdir())
    reader = IdxImages(root, "mnist")
    assert isinstance(reader, IndexedSource) and reader.name == "mnist"
    assert reader.classes == tuple(str(d) for d in range(10))
    for split, n in (("train", 20), ("test", 10)):
        assert reader.labels(split).tolist() == L.idx_labels(split, n)
        assert reader.item_ids(split) == [str(i) for i in range(n)]
        item = reader.load(split, 3)
        assert item.dtype == np.uint8 and item.shape == (28, 28, 3)
        grey = L.idx_image(L.idx_labels(split, n)[3], 3)
        np.testing.assert_array_equal(item, np.repeat(grey[..., None], 3, axis=2))
    assert reader.fingerprint("train", 0) is None
    _assert_round_trip(reader)


def test_idx_reads_each_image_file_once(tmp_path, monkeypatch):
    calls = []
    real = idx_module.read_idx
    monkeypatch.setattr(idx_module, "read_idx",
                        lambda p, n: calls.append((p.name, n)) or real(p, n))
    reader = IdxImages(L.write_mnist_idx(tmp_path), "mnist")
    assert sorted(n for _, n in calls) == [1, 1]  # labels only at construction
    for _ in range(3):
        for split in SPLITS:
            reader.load(split, 0)
    assert sorted(name for name, n in calls if n == 3) == ["t10k-images-idx3-ubyte.gz",
                                                           "train-images-idx3-ubyte.gz"]


def test_idx_layout_errors(tmp_path):
    from fssuavl_app.data.idx import DatasetLayoutError as IdxError
    assert IdxError is DatasetLayoutError
    root = L.write_mnist_idx(tmp_path)
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetLayoutError) as err:
        IdxImages(root, "mnist")
    assert str(root / "t10k-labels-idx1-ubyte") in str(err.value)
    with pytest.raises(DatasetLayoutError, match="not a folder"):
        IdxImages(tmp_path / "nowhere")


def test_idx_image_and_label_counts_must_match(tmp_path):
    root = L.write_mnist_idx(tmp_path / "a", n_test=10)
    other = L.write_mnist_idx(tmp_path / "b", n_test=7)
    shutil.copy(other / "t10k-images-idx3-ubyte.gz", root / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(DatasetLayoutError, match="7 images but 10 labels"):
        IdxImages(root, "mnist")  # was found only at the first load, after other work


def test_a_corrupt_idx_gz_is_a_layout_error_naming_the_file(tmp_path):
    """A flipped byte inside the gzip stream raised zlib.error with a traceback."""
    root = L.write_mnist_idx(tmp_path, n_train=200)
    path = root / "train-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    for k in range(20, 40):  # early in the deflate stream: zlib.error, not a CRC mismatch
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetLayoutError, match="cannot read") as err:
        IdxImages(root, "mnist").load("train", 0)
    assert str(path) in str(err.value)


def test_a_raw_idx_file_beside_its_gz_must_hold_the_same_bytes(tmp_path):
    """A stale raw labels file (all zeros) beside the .gz was read silently."""
    import gzip

    root = L.write_mnist_idx(tmp_path)
    gz = root / "t10k-labels-idx1-ubyte.gz"
    (root / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    assert IdxImages(root, "mnist").labels("test").tolist() == L.idx_labels("test", 10)  # gunzip -k
    stale = bytearray(gzip.decompress(gz.read_bytes()))
    stale[8:] = bytes(len(stale) - 8)
    (root / "t10k-labels-idx1-ubyte").write_bytes(bytes(stale))
    with pytest.raises(DatasetLayoutError, match="holds both t10k-labels-idx1-ubyte and "
                       "t10k-labels-idx1-ubyte.gz, and the size and CRC-32"):
        IdxImages(root, "mnist")


def test_real_fashion_mnist():
    if not FASHION.is_dir():
        pytest.fail(f"{FASHION} is missing: apt-get install dataset-fashion-mnist "
                    "(.ci installs it)")
    reader = IdxImages(FASHION, "fashion-mnist")
    assert reader.classes == FASHION_CLASSES and len(reader.classes) == 10
    assert len(reader.labels("train")) == 60000 and len(reader.labels("test")) == 10000
    assert reader.labels("train")[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert reader.labels("test")[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(reader.labels("train")).tolist() == [6000] * 10
    item = reader.load("train", 0)
    assert item.dtype == np.uint8 and item.shape == (28, 28, 3) and item.max() > 200
    assert reader.index_of("test", ["9999"]).tolist() == [9999]


# ---------------------------------------------------------------- class folders


def test_image_folder_flat_split_and_labels(folder_root, no_decoding):
    reader = ImageFolder(folder_root)
    assert reader.name == "image-folder" and reader.classes == L.IMAGE_FOLDER_CLASSES
    dirty = L.image_folder_dirty()
    for split in SPLITS:
        ids = reader.item_ids(split)
        assert all(L.image_folder_split(i) == split for i in ids)
        assert [reader.classes[y] for y in reader.labels(split)] == [i.split("/")[0] for i in ids]
    everything = set(reader.item_ids("train") + reader.item_ids("test"))
    assert len(everything) == 3 * 6 + 5  # 6 per class + 5 dirty files
    assert {i for _, i in dirty.corrupt + dirty.odd} <= everything
    assert "cat/cat_02.JPEG" in everything and "cat/notes.txt" not in everything
    assert len(reader.index_notes) == 1 and "loose.png" in reader.index_notes[0]
    assert 0 < len(reader.item_ids("test")) < len(reader.item_ids("train"))
    _assert_round_trip(reader)


@pytest.mark.parametrize("side", [None, 40])
def test_image_folder_loads_square_rgb(folder_root, side):
    reader = ImageFolder(folder_root) if side is None else ImageFolder(folder_root, image_side=side)
    side = side or index_module.VARIABLE_IMAGE_SIDE
    dirty = L.image_folder_dirty()
    for split in SPLITS:
        assert sorted(_bad_ids(reader, split)) == sorted(dirty.ids(split))
    for split, item_id in dirty.odd:
        item = reader.load(split, reader.index_of(split, [item_id])[0])
        assert item.shape == (side, side, 3) and item.dtype == np.uint8
    dog = reader.item_ids("train").index("dog/dog_01.png")
    item = reader.load("train", dog)
    assert item.shape == (side, side, 3) and _near_colour(item, 1)
    with pytest.raises(BadItem, match="empty.jpg"):
        reader.load("train", reader.index_of("train", ["cat/empty.jpg"])[0])


def test_image_folder_split_folders(tmp_path, no_decoding):
    reader = ImageFolder(L.write_image_folder(tmp_path, split_folders=True), image_side=32)
    assert reader.classes == L.IMAGE_FOLDER_CLASSES and reader.index_notes == []
    dirty = L.image_folder_dirty(split_folders=True)
    for split, per_class in (("train", 6), ("test", 3)):
        ids = reader.item_ids(split)
        assert all(i.startswith(f"{split}/") for i in ids)
        extra = len(dirty.ids(split)) + len(dirty.ids(split, "odd"))
        assert len(ids) == 3 * per_class + extra
        assert [reader.classes[y] for y in reader.labels(split)] == [i.split("/")[1] for i in ids]
    _assert_round_trip(reader)


def test_image_folder_split_folders_bad_test_class(tmp_path):
    root = L.write_image_folder(tmp_path, split_folders=True)
    (root / "test" / "emu").mkdir()
    with pytest.raises(DatasetLayoutError, match="emu") as err:
        ImageFolder(root)
    assert str(root / "train") in str(err.value)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetLayoutError) as err:
        ImageFolder(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)
    (tmp_path / "flat").mkdir()
    with pytest.raises(DatasetLayoutError, match="class folders") as err:
        ImageFolder(tmp_path / "flat")
    assert str(tmp_path / "flat") in str(err.value)


def _images(folder: Path, n: int = 2, label: int = 0) -> None:
    for k in range(n):
        L._write(folder / f"i{k}.png", L._folder_item_bytes(label, k + 1))


def test_folders_named_like_a_split_are_not_taken_as_classes(tmp_path):
    """train/ + val/, a lone train/, a wrapped copy: the folders became the classes."""
    for name, folders in {"tv": ("train", "val"), "tronly": ("train",),
                          "validation": ("train", "Validation")}.items():
        for split in folders:
            for cls in ("cat", "dog"):
                _images(tmp_path / name / split / cls)
        with pytest.raises(DatasetLayoutError, match="a split layout needs train/<class>/ and "
                           "test/<class>/") as err:
            ImageFolder(tmp_path / name)
        assert f"{folders[-1]}/" in str(err.value)
    for cls in ("cat", "dog"):
        _images(tmp_path / "wrapped" / "mydata" / cls)
    with pytest.raises(DatasetLayoutError, match="point the root at") as err:
        ImageFolder(tmp_path / "wrapped")
    assert str(tmp_path / "wrapped" / "mydata") in str(err.value)
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            _images(tmp_path / "split-wrapped" / split / "wrap" / cls)
    with pytest.raises(DatasetLayoutError, match="move the class folders of wrap/ up a level, "
                       "in train/ and test/"):
        ImageFolder(tmp_path / "split-wrapped")


def test_split_folders_in_any_case_and_what_they_leave_out_is_noted(tmp_path, no_decoding):
    root = tmp_path / "set"
    for split in ("Train", "TEST", "val"):
        for label, cls in enumerate(("cat", "dog")):
            _images(root / split / cls, label=label)
    _images(root / "Train", n=1)  # loose in train/
    reader = ImageFolder(root)
    assert reader.classes == ("cat", "dog")
    assert reader.item_ids("test")[0] == "TEST/cat/i0.png" and len(reader.item_ids("test")) == 4
    notes = " | ".join(reader.index_notes)
    assert "1 folder beside the train and test folders, not used (first: val/)" in notes
    assert "1 image file directly in Train/, in no class folder, skipped (first: i0.png)" in notes


def test_hidden_macos_and_linked_folders(tmp_path, no_decoding):
    """__MACOSX became a class; hidden folders were read; linked folders were skipped
    silently; broken links vanished uncounted."""
    root = tmp_path / "set"
    for label, cls in enumerate(("cat", "dog")):
        _images(root / cls, label=label)
    _images(root / "__MACOSX" / "cat")
    _images(root / "cat" / ".ipynb_checkpoints")
    _images(tmp_path / "store" / "more", n=3)
    (root / "dog" / "linked").symlink_to(tmp_path / "store" / "more")
    (root / "dog" / "loop").symlink_to(root / "dog")  # walked once, not forever
    (root / "cat" / "broken.png").symlink_to(tmp_path / "gone.png")
    reader = ImageFolder(root)
    assert reader.classes == ("cat", "dog")
    ids = reader.item_ids("train") + reader.item_ids("test")
    assert sorted(i for i in ids if i.startswith("dog/")) == [
        "dog/i0.png", "dog/i1.png", "dog/linked/i0.png", "dog/linked/i1.png", "dog/linked/i2.png"]
    assert sorted(i for i in ids if i.startswith("cat/")) == ["cat/i0.png", "cat/i1.png"]
    notes = " | ".join(reader.index_notes)
    assert ("1 image name is not a readable file (a broken link?) or a folder could not be "
            "listed, skipped (first: cat/broken.png)") in notes
    assert "1 folder is reached a second time through a link" in notes and "dog/loop/" in notes


def test_links_into_another_class_or_up_to_the_root_are_not_followed(tmp_path, no_decoding):
    """Followed, `cat/up -> ..` read every dog image again as a cat."""
    root = tmp_path / "set"
    for label, cls in enumerate(("cat", "dog")):
        _images(root / cls, label=label)
    (root / "cat" / "up").symlink_to(root)
    (root / "cat" / "dogs").symlink_to(root / "dog")
    (root / "cat" / "top").symlink_to("/")
    reader = ImageFolder(root)
    ids = sorted(reader.item_ids("train") + reader.item_ids("test"))
    assert ids == ["cat/i0.png", "cat/i1.png", "dog/i0.png", "dog/i1.png"]
    assert any("3 folders are reached a second time through a link, or links lead into another "
               "class or above the root; not read there (first: cat/dogs/)" in n
               for n in reader.index_notes), reader.index_notes


def test_links_into_another_class_sub_folder_or_the_other_split_are_not_followed(
        tmp_path, no_decoding):
    """`cat/more -> dog/pics` labelled dog images as cats too; `test/cat/extra -> train/cat`
    put training images into the test split."""
    flat = tmp_path / "flat"
    for label, cls in enumerate(("cat", "dog")):
        _images(flat / cls, label=label)
    _images(flat / "dog" / "pics", n=3, label=1)
    (flat / "cat" / "more").symlink_to(flat / "dog" / "pics")
    reader = ImageFolder(flat)
    ids = reader.item_ids("train") + reader.item_ids("test")
    assert sorted(i for i in ids if "pics" in i) == ["dog/pics/i0.png", "dog/pics/i1.png",
                                                     "dog/pics/i2.png"]
    assert any("(first: cat/more/)" in n for n in reader.index_notes), reader.index_notes
    split = tmp_path / "split"
    for part in ("train", "test"):
        for label, cls in enumerate(("cat", "dog")):
            _images(split / part / cls, label=label)
    (split / "test" / "cat" / "extra").symlink_to(split / "train" / "cat")
    reader = ImageFolder(split)
    assert reader.item_ids("test") == ["test/cat/i0.png", "test/cat/i1.png", "test/dog/i0.png",
                                       "test/dog/i1.png"]
    assert any("(first: test/cat/extra/)" in n for n in reader.index_notes)


def test_class_folders_linked_to_another_disk_keep_their_labels(tmp_path, no_decoding):
    """root/cat -> disk2/cat: a link disk2/cat/more -> ../dog, or one to disk2 itself, read
    dog images as cats (the real class folders lie outside the root)."""
    disk2, root = tmp_path / "disk2", tmp_path / "set"
    for label, cls in enumerate(("cat", "dog")):
        _images(disk2 / cls, label=label)
    (disk2 / "cat" / "more").symlink_to(disk2 / "dog")
    (disk2 / "cat" / "all").symlink_to(disk2)
    root.mkdir()
    for cls in ("cat", "dog"):
        (root / cls).symlink_to(disk2 / cls)
    reader = ImageFolder(root)
    ids = sorted(reader.item_ids("train") + reader.item_ids("test"))
    assert ids == ["cat/i0.png", "cat/i1.png", "dog/i0.png", "dog/i1.png"]
    assert any("2 folders are reached a second time through a link, or links lead" in n
               for n in reader.index_notes), reader.index_notes


def test_a_class_folder_linked_onto_another_class_or_split_is_not_read(tmp_path, no_decoding):
    """`root/cat -> dog` read dog's images under both labels; `test/cat -> ../train/cat` put
    every training cat into the test split too; `root/all -> .` read the whole set as one
    class."""
    flat = tmp_path / "flat"
    for label, cls in enumerate(("bird", "dog")):
        _images(flat / cls, n=10, label=label)
    (flat / "cat").symlink_to("dog")
    (flat / "all").symlink_to(".")
    reader = ImageFolder(flat)
    ids = reader.item_ids("train") + reader.item_ids("test")
    assert sorted({i.split("/")[0] for i in ids}) == ["bird", "dog"] and len(ids) == 20
    assert any("2 folders are reached a second time through a link, or links lead into "
               "another class or above the root; not read there (first: all/)" in n
               for n in reader.index_notes), reader.index_notes
    split = tmp_path / "split"
    for part in ("train", "test"):
        for label, cls in enumerate(("cat", "dog")):
            _images(split / part / cls, label=label)
    shutil.rmtree(split / "test" / "cat")
    (split / "test" / "cat").symlink_to(split / "train" / "cat")
    reader = ImageFolder(split)
    assert reader.item_ids("test") == ["test/dog/i0.png", "test/dog/i1.png"]
    assert reader.item_ids("train")[:2] == ["train/cat/i0.png", "train/cat/i1.png"]
    assert any("(first: test/cat/)" in n for n in reader.index_notes), reader.index_notes


def test_a_tiny_imagenet_class_linked_onto_another_is_not_read(tmp_path, no_decoding):
    """train/n1 -> n2 labelled n2's images as n1 as well."""
    root = L.write_tiny_imagenet(tmp_path)
    wnids = (root / "wnids.txt").read_text().split()
    shutil.rmtree(root / "train" / wnids[0])
    (root / "train" / wnids[0]).symlink_to(wnids[1])
    reader = TinyImageNet(root)
    labels = set(reader.labels("train").tolist())
    assert 0 not in labels and 1 in labels
    assert any("linked folder(s) lead elsewhere into the dataset or are reached twice, not "
               f"read there (first: train/{wnids[0]}/images/)" in n
               for n in reader.index_notes), reader.index_notes


def test_tiny_imagenet_links_into_another_class_and_a_bom(tmp_path, no_decoding):
    """train/n1/images/x -> train/n2/images labelled n2's images as n1; a BOM in wnids.txt
    made its first class '\\ufeffn...' and dropped its images, exit code 0."""
    root = L.write_tiny_imagenet(tmp_path)
    clean = TinyImageNet(root)
    wnids = (root / "wnids.txt").read_text().split()
    (root / "train" / wnids[0] / "images" / "x").symlink_to(root / "train" / wnids[1] / "images")
    (root / "wnids.txt").write_bytes(b"\xef\xbb\xbf" + (root / "wnids.txt").read_bytes())
    reader = TinyImageNet(root)
    assert reader.classes == clean.classes
    for split in SPLITS:
        assert reader.item_ids(split) == clean.item_ids(split)
    assert any("1 linked folder(s) lead elsewhere into the dataset" in n
               for n in reader.index_notes), reader.index_notes
    (root / "wnids.txt").write_bytes("\n".join(wnids).encode() + "\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetLayoutError, match=r"wnids.txt: line 4 is not UTF-8 text"):
        TinyImageNet(root)


def test_tiny_imagenet_val_conflicts_and_unlisted_images_are_noted(tmp_path, no_decoding):
    """A val file listed with two wnids kept the first as 'repeats a file named before';
    val images no row names were left out silently."""
    root = L.write_tiny_imagenet(tmp_path, dirty=False)
    table = root / "val" / "val_annotations.txt"
    first = table.read_text().splitlines()[0].split("\t")
    other = next(w for w in (root / "wnids.txt").read_text().split() if w != first[1])
    table.write_text(table.read_text() + f"{first[0]}\t{other}\t0\t0\t1\t1\n")
    L._write(root / "val" / "images" / "val_999.JPEG", L._jpeg(L.class_image(0, 1)))
    notes = " | ".join(TinyImageNet(root).index_notes)
    assert (f"1 row gives a file named before another wnid (the first kept) (first: "
            f"val/images/{first[0]} as {other}, first as {first[1]})") in notes
    assert "val/images/: 1 file(s) no row of val_annotations.txt names, not used (first: " \
        "val/images/val_999.JPEG)" in notes


def test_a_class_named_like_a_split_that_holds_files_is_a_class(tmp_path, no_decoding):
    """A flat set with the classes bus, train and tractor was refused as a split layout."""
    for label, cls in enumerate(("bus", "train", "tractor")):
        _images(tmp_path / "set" / cls, n=5, label=label)
    reader = ImageFolder(tmp_path / "set")
    assert reader.classes == ("bus", "tractor", "train")
    assert reader.index_notes == []


def test_one_class_is_noted(tmp_path, no_decoding):
    _images(tmp_path / "set" / "cat", n=6)
    reader = ImageFolder(tmp_path / "set")
    assert any("one class folder only (cat)" in n for n in reader.index_notes)


def test_the_flat_split_does_not_depend_on_unicode_normalisation():
    import unicodedata

    from fssuavl_app.data.folders import is_test_item

    ids = [f"café/été_{k}.jpg" for k in range(200)]
    nfd = [unicodedata.normalize("NFD", i) for i in ids]
    assert nfd != ids and [is_test_item(i) for i in ids] == [is_test_item(i) for i in nfd]
    assert is_test_item("caf\udce9/x.jpg") in (True, False)  # a Latin-1 name: was UnicodeEncodeError


# ---------------------------------------------------------------- writers and registry


def _tree_digest(root: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("writer", [L.write_tiny_imagenet, L.write_cifar10, L.write_mnist_idx,
                                    L.write_image_folder])
def test_writers_are_deterministic(tmp_path, writer):
    first = writer(tmp_path / "a")
    assert _tree_digest(first) == _tree_digest(writer(tmp_path / "b"))


@pytest.mark.parametrize("name,writer", [("tiny-imagenet", L.write_tiny_imagenet),
                                         ("cifar10", L.write_cifar10),
                                         ("mnist", L.write_mnist_idx),
                                         ("image-folder", L.write_image_folder)])
def test_registry_opens_each_layout(tmp_path, name, writer):
    reader = open_dataset(name, writer(tmp_path), image_side=48)
    assert reader.name == name and len(reader.labels("train")) > 0
    assert reader.load("train", len(reader.labels("train")) - 1).dtype == np.uint8
