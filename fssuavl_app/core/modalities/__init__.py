"""The modalities the app trains on, in the order their batches alternate.

To add one (say video frames): write a `Modality` subclass next to `image.py`
(storage, views, eval input), add its object to `MODALITIES`, and give the
data layer a reader whose `modality` is its name (see the README's
*Architecture* section).
"""

from __future__ import annotations

from .audio import AUDIO, Waves
from .base import Batch, Modality, Transform
from .image import IMAGE

MODALITIES: tuple[Modality, ...] = (IMAGE, AUDIO)
NAMES: tuple[str, ...] = tuple(m.name for m in MODALITIES)


def modality(name: str) -> Modality:
    """The modality called `name`; ValueError naming the known ones."""
    for m in MODALITIES:
        if m.name == name:
            return m
    raise ValueError(f"unknown modality {name!r}; known: {', '.join(NAMES)}")


__all__ = ["AUDIO", "IMAGE", "MODALITIES", "NAMES", "Batch", "Modality", "Transform", "Waves",
           "modality"]
