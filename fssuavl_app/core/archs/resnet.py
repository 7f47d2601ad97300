"""ResNet-18 (torchvision): standard stem, adaptive average pooling, fc removed.

`resnet18` is torchvision's (64 channels in the stem, 512-d features), the
paper's encoder. `resnet18-half` is the same network at half the channels in
every layer (32 in the stem, 256-d features, a quarter of the parameters and
multiply-adds): the default run's encoder, sized for slow 2-core CPUs
(docs/default-run-sizing.md); the paper presets keep `resnet18`.

Its convolutions are `SmallMapConv2d`: the same function and state_dict, faster on
the 1x1 and 2x2 maps that 32x32 inputs reach on CPU (see `small_maps`).
"""

from __future__ import annotations

import functools

import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock

from .base import Arch, mlp
from .small_maps import with_small_map_convs

PAPER_WIDTH = 64  # channels after torchvision ResNet-18's stem


def resnet18_encoder(input_size: int, width: int = PAPER_WIDTH) -> nn.Module:
    """(N, 3, S, S) -> (N, 8 * width) pooled features; width 64 is torchvision's ResNet-18."""
    net = torchvision.models.resnet18(weights=None)  # adaptive pooling: any input size works
    if width != PAPER_WIDTH:
        _rebuild_at_width(net, width)
    net.fc = nn.Identity()
    return with_small_map_convs(net)


def _rebuild_at_width(net: torchvision.models.ResNet, width: int) -> None:
    """Replace the stem and the four stages of `net` by ones of `width`, 2, 4 and 8 x `width`
    channels, initialised as torchvision initialises its ResNet."""
    net.inplanes = width
    net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    net.bn1 = nn.BatchNorm2d(width)
    net.layer1 = net._make_layer(BasicBlock, width, 2)
    net.layer2 = net._make_layer(BasicBlock, 2 * width, 2, stride=2)
    net.layer3 = net._make_layer(BasicBlock, 4 * width, 2, stride=2)
    net.layer4 = net._make_layer(BasicBlock, 8 * width, 2, stride=2)
    for m in net.modules():  # torchvision.models.ResNet.__init__'s initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


RESNET18 = Arch(
    name="resnet18", label="R-18", feature_dim=512, build=resnet18_encoder,
    # proj_hidden_dim 0: one linear layer, as L-DAWA/Viewmaker, which the paper follows
    default_head=lambda proj_dim, hidden: mlp(512, hidden, proj_dim),
    summary="torchvision ResNet-18, 512-d pooled features; head Linear(512, proj-dim) "
            "(an MLP when proj-hidden-dim > 0)")

RESNET18_HALF = Arch(
    name="resnet18-half", label="R-18/2", feature_dim=256,
    build=functools.partial(resnet18_encoder, width=PAPER_WIDTH // 2),
    default_head=lambda proj_dim, hidden: mlp(256, hidden, proj_dim),
    summary="ResNet-18 at half width (32-256 channels), 256-d pooled features, a quarter of "
            "the compute; head Linear(256, proj-dim) (an MLP when proj-hidden-dim > 0)")
