"""Encoders plus projection head; `build_model(ModelArgs)` is the only constructor.

`SSLModel.features(x)` gives the representation every evaluation uses
(ResNet-18: the 512-d globally average-pooled output of layer4);
`SSLModel(x)` gives the projection used by the SSL loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torchvision
from torch import nn

FEATURE_DIMS = {"resnet18": 512}


@dataclass(frozen=True)
class ModelArgs:
    """Everything needed to rebuild the network (stored in every checkpoint)."""

    arch: str = "resnet18"
    proj_dim: int = 128
    proj_hidden_dim: int = 0  # 0: a single linear layer (as L-DAWA/Viewmaker, which the paper follows)
    input_size: int = 128

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, cfg) -> "ModelArgs":
        """The model arguments of a `config.RunConfig`."""
        return cls(arch=cfg.arch, proj_dim=cfg.proj_dim, proj_hidden_dim=cfg.proj_hidden_dim,
                   input_size=cfg.input_size)


class SSLModel(nn.Module):
    """encoder: (N, 3, S, S) -> (N, D) features; head: (N, D) -> (N, proj_dim)."""

    def __init__(self, encoder: nn.Module, head: nn.Module, args: ModelArgs):
        super().__init__()
        self.encoder, self.head, self.args = encoder, head, args

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def _resnet18() -> nn.Module:
    net = torchvision.models.resnet18(weights=None)  # standard stem, adaptive average pooling
    net.fc = nn.Identity()
    return net


def _head(in_dim: int, hidden: int, out_dim: int) -> nn.Module:
    if hidden == 0:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))


def build_model(args: ModelArgs) -> SSLModel:
    if args.arch not in FEATURE_DIMS:
        raise ValueError(f"unknown arch {args.arch!r}; known: {', '.join(FEATURE_DIMS)}")
    encoder = {"resnet18": _resnet18}[args.arch]()
    return SSLModel(encoder, _head(FEATURE_DIMS[args.arch], args.proj_hidden_dim, args.proj_dim), args)
