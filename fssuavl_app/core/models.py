"""Encoder plus projection head; `build_model(ModelArgs)` is the only constructor.

`SSLModel.features(x)` gives the representation every evaluation uses (the
architecture's `feature_dim`-d output: ResNet-18's 512-d globally average-
pooled layer4 (256-d at half width), the ViT's 256-d mean of its output tokens after the final
LayerNorm, as SSAST's `finetuningavgtok`, which the paper follows);
`SSLModel(x)` gives the projection used by the SSL loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .archs import arch as arch_named
from .methods import method as method_named


@dataclass(frozen=True)
class ModelArgs:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    arch: str = "resnet18"
    proj_dim: int = 128
    # 0: the architecture's default (ResNet-18: one linear layer; ViT: an MLP of width D)
    proj_hidden_dim: int = 0
    input_size: int = 128
    loss: str = "simclr"  # the SSL method whose head is on the encoder
    head_options: tuple[tuple[str, Any], ...] = ()  # its options that shape the head

    def to_dict(self) -> dict:
        out = asdict(self)
        out["head_options"] = dict(self.head_options)
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> "ModelArgs":
        """Inverse of `to_dict`; checkpoints from before `loss` existed get SimCLR's head."""
        raw = dict(raw)
        raw["head_options"] = tuple(sorted(dict(raw.get("head_options", {})).items()))
        return cls(**raw)

    @property
    def feature_dim(self) -> int:
        return arch_named(self.arch).feature_dim


class SSLModel(nn.Module):
    """encoder: (N, 3, S, S) -> (N, D) features; head: (N, D) -> (N, projection dim)."""

    def __init__(self, encoder: nn.Module, head: nn.Module, args: ModelArgs):
        super().__init__()
        self.encoder, self.head, self.args = encoder, head, args

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def build_model(args: ModelArgs) -> SSLModel:
    """A fresh model (draws from torch's global generator: seed it first for a fixed init)."""
    arch = arch_named(args.arch)
    arch.check_input_size(args.input_size)
    encoder = arch.build(args.input_size)
    head = method_named(args.loss).build_head(arch, args.proj_dim, args.proj_hidden_dim,
                                              dict(args.head_options))
    return SSLModel(encoder, head, args)
