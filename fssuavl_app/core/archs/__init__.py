"""Encoder architectures by run-config name (`arch`).

To add one: a module here that builds the encoder and says its feature size
and default head (an `Arch`), plus one line in `ARCHS`.
"""

from __future__ import annotations

from types import MappingProxyType

from .base import Arch, mlp
from .resnet import RESNET18, RESNET18_HALF
from .vit import VIT, ViT

ARCHS = MappingProxyType({a.name: a for a in (RESNET18, RESNET18_HALF, VIT)})


def arch(name: str) -> Arch:
    if name not in ARCHS:
        raise ValueError(f"unknown arch {name!r}; known: {', '.join(ARCHS)}")
    return ARCHS[name]


__all__ = ["ARCHS", "Arch", "ViT", "arch", "mlp"]
