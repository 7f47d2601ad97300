"""The ResNet-18 encoders: torchvision's (the paper's) and the half-width one of the default run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fssuavl_app.core.archs import ARCHS
from fssuavl_app.core.archs.resnet import resnet18_encoder
from fssuavl_app.core.models import ModelArgs, build_model

pytestmark = pytest.mark.unit


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_half_width_has_the_same_layout_at_half_the_channels():
    full, half = resnet18_encoder(32), resnet18_encoder(32, width=32)
    full_shapes, half_shapes = full.state_dict(), half.state_dict()
    assert list(full_shapes) == list(half_shapes)  # same layers, same names
    for name, tensor in full_shapes.items():
        other = half_shapes[name]
        if tensor.dim() == 4:  # conv weights: out and in channels halve, except the RGB input
            assert other.shape[0] * 2 == tensor.shape[0], name
            assert other.shape[1] == 3 if name == "conv1.weight" else other.shape[1] * 2 == tensor.shape[1]
            assert other.shape[2:] == tensor.shape[2:], name
    assert 0.24 < _params(half) / _params(full) < 0.26  # a quarter of the weights (11.2M -> 2.8M)


@pytest.mark.parametrize("size", [32, 64])
def test_half_width_features_are_256_and_the_head_fits(size):
    torch.manual_seed(0)
    model = build_model(ModelArgs(arch="resnet18-half", input_size=size, proj_dim=16))
    x = torch.randn(3, 3, size, size)
    assert ARCHS["resnet18-half"].feature_dim == 256
    assert model.features(x).shape == (3, 256)
    assert model(x).shape == (3, 16)


def test_half_width_is_initialised_as_torchvision_initialises_resnet():
    torch.manual_seed(0)
    net = resnet18_encoder(32, width=32)
    for name, m in net.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0), name
        elif isinstance(m, nn.Conv2d):  # kaiming normal, fan_out: std sqrt(2 / fan_out)
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            std = m.weight.std().item()
            assert 0.8 < std / (2 / fan_out) ** 0.5 < 1.2, name


def test_half_width_trains_one_step():
    torch.manual_seed(0)
    model = build_model(ModelArgs(arch="resnet18-half", input_size=32))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(4, 3, 32, 32)
    before = [p.detach().clone() for p in model.parameters()]
    model(x).pow(2).mean().backward()
    opt.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert sum(not torch.equal(a, b) for a, b in zip(before, model.parameters())) > 50
