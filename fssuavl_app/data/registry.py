"""Every dataset the app reads, by run-config name: modality, expected layout, reader.

`open_dataset(name, root)` opens one; a missing root or a wrong layout raises
`DatasetLayoutError` saying what was expected where. The built-in datasets
need no root: they are generated from `Builtin` (seed and sizes). Opening
indexes the dataset (walks folders, parses csvs): callers that need a source
again keep the one they opened (the worker runtime does).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .base import Source
from .index import VARIABLE_IMAGE_SIDE, DatasetLayoutError


@dataclass(frozen=True)
class Builtin:
    """How the built-in datasets are generated: seed and items per class."""

    seed: int = 0
    train_per_class: int = 300
    test_per_class: int = 50


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    modality: str
    layout: str  # what ROOT must hold, in one sentence
    opener: Callable[[str, int, Builtin], Source]  # (root, image side, builtin) -> reader
    needs_root: bool = True


def _reader(module: str, cls: str, *, sized: bool = False, args: tuple = ()):
    """Import the reader class lazily so that listing datasets imports nothing heavy."""
    def open_(root, side, builtin):
        reader = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        return reader(root, *args, image_side=side) if sized else reader(root, *args)
    return open_


def _builtin(cls: str):
    def open_(root, side, b: Builtin):
        reader = getattr(importlib.import_module(f"{__package__}.synthetic"), cls)
        return reader(b.seed, b.train_per_class, b.test_per_class)
    return open_


_IDX_LAYOUT = ("train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
               "t10k-labels-idx1-ubyte (each raw or .gz)")
_ADVANCE_LAYOUT = ("vision/<class>/*.jpg and sound/<class>/*.wav (or Dataset_v3_vision / "
                   "Dataset_v3_sound)")
_INFOS = (
    DatasetInfo("synthetic-shapes", "image", "built in, no root", _builtin("SyntheticShapes"),
                needs_root=False),
    DatasetInfo("synthetic-sounds", "audio", "built in, no root", _builtin("SyntheticSounds"),
                needs_root=False),
    DatasetInfo("mnist", "image", _IDX_LAYOUT, _reader("idx", "IdxImages", args=("mnist",))),
    DatasetInfo("fashion-mnist", "image", _IDX_LAYOUT + "; e.g. Debian's "
                "/usr/share/datasets/fashion-mnist",
                _reader("idx", "IdxImages", args=("fashion-mnist",))),
    DatasetInfo("cifar10", "image", "cifar-10-batches-py/ (data_batch_1..5, test_batch, "
                "batches.meta) or that folder itself", _reader("images", "Cifar10")),
    DatasetInfo("tiny-imagenet", "image", "tiny-imagenet-200/ with wnids.txt, "
                "train/<wnid>/images/*.JPEG and val/val_annotations.txt + val/images/",
                _reader("images", "TinyImageNet")),
    DatasetInfo("image-folder", "image", "<class>/**/<image> (or train/<class>/... and "
                "test/<class>/...)", _reader("images", "ImageFolder", sized=True)),
    DatasetInfo("advance-images", "image", _ADVANCE_LAYOUT,
                _reader("advance", "AdvanceImages", sized=True)),
    DatasetInfo("vggsound", "audio", "vggsound.csv and the clips extracted to "
                "<ytid>_<start:06d>.wav or .flac anywhere below ROOT", _reader("audio_sets", "VGGSound")),
    DatasetInfo("speech-commands", "audio", "speech_commands_v0.02/ word folders with "
                "validation_list.txt and testing_list.txt", _reader("audio_sets", "SpeechCommands")),
    DatasetInfo("epic-sounds", "audio", "EPIC_Sounds_train.csv, EPIC_Sounds_validation.csv and "
                "the HDF5 of untrimmed 24 kHz recordings (e.g. EPIC_audio.hdf5)",
                _reader("epic", "EpicSounds")),
    DatasetInfo("esc50", "audio", "meta/esc50.csv and audio/*.wav (fold 5 is the test split)",
                _reader("audio_sets", "ESC50")),
    DatasetInfo("fsdd", "audio", "recordings/<digit>_<speaker>_<index>.wav (index 0-4 is test)",
                _reader("audio_sets", "FSDD")),
    DatasetInfo("audio-folder", "audio", "<class>/**/<audio file> (or train/<class>/... and "
                "test/<class>/...)", _reader("audio_sets", "AudioFolder")),
    DatasetInfo("advance-sounds", "audio", _ADVANCE_LAYOUT, _reader("advance", "AdvanceSounds")),
)


def dataset_infos() -> tuple[DatasetInfo, ...]:
    """Every dataset, built-in ones first."""
    return _INFOS


def dataset_info(name: str) -> DatasetInfo:
    for info in _INFOS:
        if info.name == name:
            return info
    raise DatasetLayoutError(f"unknown dataset {name!r}; known: "
                             f"{', '.join(i.name for i in _INFOS)}")


def dataset_names(modality: str | None = None, *, on_disk: bool = False) -> list[str]:
    """Names of the datasets (optionally of one modality, or only those read from a root)."""
    return [i.name for i in _INFOS
            if modality in (None, i.modality) and (i.needs_root or not on_disk)]


def open_dataset(name: str, root: str | Path | None = None,
                 image_side: int = VARIABLE_IMAGE_SIDE, builtin: Builtin = Builtin()) -> Source:
    """The reader of dataset `name`: at `root` (an existing folder in the published layout),
    or generated from `builtin` for the built-in ones."""
    info = dataset_info(name)
    if not info.needs_root:
        return info.opener("", int(image_side), builtin)
    if not root or not Path(root).expanduser().is_dir():
        raise DatasetLayoutError(f"{name}: root {str(root)!r} is not a folder; it should hold "
                                 f"{info.layout}")
    resolved = str(Path(root).expanduser().resolve())
    try:
        return info.opener(resolved, int(image_side), builtin)
    except DatasetLayoutError as exc:
        raise DatasetLayoutError(f"{name}: {exc}. Expected under ROOT: {info.layout}") from exc


def esc50_folds(root: str | Path) -> list[tuple[int, Source]]:
    """ESC-50's five leave-one-fold-out splits: (test fold, reader) for folds 1..5."""
    open_dataset("esc50", root)  # layout check with a clear message
    from .audio_sets import ESC50

    return [(k, ESC50(Path(root).expanduser().resolve(), test_fold=k)) for k in range(1, 6)]


def advance_pair(root: str | Path, image_side: int | None = VARIABLE_IMAGE_SIDE):
    """ADVANCE's image and sound readers built from one index (same ids, order, labels)."""
    from .advance import advance_pair as pair

    return pair(Path(root).expanduser().resolve(), image_side)
