"""What the app needs to know of an encoder architecture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn


def mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Module:
    """Linear(in, out) when hidden == 0, else Linear(in, hidden) -> ReLU -> Linear(hidden, out)."""
    if hidden == 0:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))


@dataclass(frozen=True)
class Arch:
    """An encoder: (N, 3, S, S) -> (N, feature_dim) features used by every evaluation.

    `build(input_size)` makes a fresh encoder; `default_head(proj_dim,
    proj_hidden_dim)` the projection head that SSL methods without a head of
    their own put on it; inputs must be a multiple of `input_multiple`.
    """

    name: str
    feature_dim: int
    build: Callable[[int], nn.Module]
    default_head: Callable[[int, int], nn.Module]
    input_multiple: int = 1
    fixed_input: bool = False  # True: a model serves only the input size it was built for
    summary: str = ""
    label: str = ""  # in tables, as the paper writes it (R-18, ViT)

    def check_input_size(self, input_size: int) -> None:
        if input_size <= 0 or input_size % self.input_multiple:
            raise ValueError(f"arch {self.name!r} needs input_size to be a positive multiple of "
                             f"{self.input_multiple}, got {input_size}")
