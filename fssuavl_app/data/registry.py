"""Every dataset the app reads, by run-config name: modality, expected layout, reader.

`open_dataset(name, root)` opens one; a missing root or a wrong layout raises
`DatasetLayoutError` saying what was expected where.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .base import Source
from .index import VARIABLE_IMAGE_SIDE, DatasetLayoutError


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    modality: str
    layout: str  # what ROOT must hold, in one sentence
    opener: Callable[..., Source]  # (root, image_side) -> reader


def _idx(name):
    def open_(root, side):
        from .idx import IdxImages
        return IdxImages(root, name)
    return open_


def _reader(module: str, cls: str, *, sized: bool = False):
    """Import the reader class lazily so that listing datasets imports nothing heavy."""
    def open_(root, side):
        import importlib
        reader = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        return reader(root, image_side=side) if sized else reader(root)
    return open_


_IDX_LAYOUT = ("train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
               "t10k-labels-idx1-ubyte (each raw or .gz)")
_INFOS = [
    DatasetInfo("mnist", "image", _IDX_LAYOUT, _idx("mnist")),
    DatasetInfo("fashion-mnist", "image", _IDX_LAYOUT + "; e.g. Debian's "
                "/usr/share/datasets/fashion-mnist", _idx("fashion-mnist")),
    DatasetInfo("cifar10", "image", "cifar-10-batches-py/ (data_batch_1..5, test_batch, "
                "batches.meta) or that folder itself", _reader("images", "Cifar10")),
    DatasetInfo("tiny-imagenet", "image", "tiny-imagenet-200/ with wnids.txt, "
                "train/<wnid>/images/*.JPEG and val/val_annotations.txt + val/images/",
                _reader("images", "TinyImageNet")),
    DatasetInfo("image-folder", "image", "<class>/**/<image> (or train/<class>/... and "
                "test/<class>/...)", _reader("images", "ImageFolder", sized=True)),
    DatasetInfo("advance-images", "image", "vision/<class>/*.jpg and sound/<class>/*.wav "
                "(or Dataset_v3_vision / Dataset_v3_sound)",
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
    DatasetInfo("advance-sounds", "audio", "vision/<class>/*.jpg and sound/<class>/*.wav "
                "(or Dataset_v3_vision / Dataset_v3_sound)", _reader("advance", "AdvanceSounds")),
]
DATASETS: dict[str, DatasetInfo] = {i.name: i for i in _INFOS}
SYNTHETIC = {"synthetic-shapes": "image", "synthetic-sounds": "audio"}


def dataset_names(modality: str | None = None) -> list[str]:
    """Names of the on-disk datasets (not the built-in ones), optionally of one modality."""
    return [n for n, i in DATASETS.items() if modality in (None, i.modality)]


@functools.lru_cache(maxsize=16)
def _open_memo(name: str, root: str, image_side: int) -> Source:
    # Memoised per process: the ClientApp runs once per round in the same
    # simulation worker, and indexing a large dataset (walking folders,
    # parsing csvs) should happen once, not every round.
    info = DATASETS[name]
    if not Path(root).is_dir():
        raise DatasetLayoutError(f"{name}: root {root!r} is not a folder; it should hold "
                                 f"{info.layout}")
    try:
        return info.opener(root, image_side)
    except DatasetLayoutError as exc:
        raise DatasetLayoutError(f"{name}: {exc}. Expected under ROOT: {info.layout}") from exc


def open_dataset(name: str, root: str | Path, image_side: int = VARIABLE_IMAGE_SIDE) -> Source:
    """The reader of dataset `name` at `root` (an existing folder in the published layout)."""
    if name not in DATASETS:
        raise DatasetLayoutError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return _open_memo(name, str(Path(root).expanduser().resolve()), int(image_side))
