"""ResNet-18 (torchvision): standard stem, adaptive average pooling, fc removed; 512-d features.

Its convolutions are `SmallMapConv2d`: the same function and state_dict, faster on
the 1x1 and 2x2 maps that 32x32 inputs reach on CPU (see `small_maps`).
"""

from __future__ import annotations

import torchvision
from torch import nn

from .base import Arch, mlp
from .small_maps import with_small_map_convs


def resnet18_encoder(input_size: int) -> nn.Module:
    net = torchvision.models.resnet18(weights=None)  # adaptive pooling: any input size works
    net.fc = nn.Identity()
    return with_small_map_convs(net)


RESNET18 = Arch(
    name="resnet18", label="R-18", feature_dim=512, build=resnet18_encoder,
    # proj_hidden_dim 0: one linear layer, as L-DAWA/Viewmaker, which the paper follows
    default_head=lambda proj_dim, hidden: mlp(512, hidden, proj_dim),
    summary="torchvision ResNet-18, 512-d pooled features; head Linear(512, proj-dim) "
            "(an MLP when proj-hidden-dim > 0)")
