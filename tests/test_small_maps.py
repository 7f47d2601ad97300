"""SmallMapConv2d computes what nn.Conv2d computes, forward and backward; ResNet-18 keeps its
parameters, state_dict and random initialisation."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from fssuavl_app.core.archs.resnet import resnet18_encoder
from fssuavl_app.core.archs.small_maps import (SmallMapConv2d, with_small_map_convs,
                                               with_torch_convs)

pytestmark = pytest.mark.unit

# (in, out, kernel, stride, padding, dilation, bias, map side): every case ResNet-18 meets at
# 32x32 (3x3 "same" on 1x1 and 2x2, 3x3 stride 2 from 2x2 to 1x1, 1x1 stride 2 shortcuts) and a
# few it does not (bias, odd padding, a 1x2 map, dilation).
CASES = [
    (8, 6, 3, 1, 1, 1, False, (1, 1)),
    (8, 6, 3, 1, 1, 1, True, (1, 1)),
    (8, 6, 3, 2, 1, 1, False, (1, 1)),
    (8, 6, 3, 1, 1, 1, False, (2, 2)),
    (8, 6, 3, 2, 1, 1, True, (2, 2)),
    (8, 6, 1, 2, 0, 1, False, (2, 2)),
    (8, 6, 1, 1, 0, 1, False, (1, 1)),
    (8, 6, 3, 1, 0, 1, False, (1, 1)),  # no padding would give an empty output: left to conv2d
    (8, 6, 3, 1, 2, 1, True, (1, 2)),
    (8, 6, 3, 1, 2, 2, False, (2, 2)),
    (8, 6, 5, 1, 2, 1, False, (1, 1)),
]


def _pair(case, seed=0):
    cin, cout, k, stride, pad, dil, bias, _ = case
    torch.manual_seed(seed)
    plain = nn.Conv2d(cin, cout, k, stride, pad, dil, bias=bias)
    small = SmallMapConv2d(cin, cout, k, stride, pad, dil, bias=bias)
    small.load_state_dict(plain.state_dict())
    return plain, small


def _input(case):
    torch.manual_seed(1)
    return torch.randn(3, case[0], *case[-1], requires_grad=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"k{c[2]}s{c[3]}p{c[4]}d{c[5]}b{int(c[6])}"
                                                      f"-{c[7][0]}x{c[7][1]}")
def test_forward_and_gradients_match_conv2d(case):
    plain, small = _pair(case)
    x = _input(case)
    try:
        want = plain(x)
    except RuntimeError:  # an empty output: the small path must refuse it the same way
        with pytest.raises(RuntimeError):
            small(x)
        return
    got = small(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    upstream = torch.randn_like(want)
    want_grads = torch.autograd.grad(want, (x, *plain.parameters()), upstream)
    got_grads = torch.autograd.grad(got, (x, *small.parameters()), upstream)
    assert len(got_grads) == (3 if case[6] else 2)
    for g, w in zip(got_grads, want_grads):  # input, weight (and bias)
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_larger_maps_use_conv2d_itself():
    plain, small = _pair((8, 6, 3, 1, 1, 1, True, (4, 4)))
    x = torch.randn(2, 8, 3, 3)  # 9 pixels > MAX_SMALL_MAP
    assert torch.equal(small(x), plain(x))


def test_grouped_and_circular_padded_convs_use_conv2d_itself():
    torch.manual_seed(0)
    grouped = SmallMapConv2d(8, 8, 3, padding=1, groups=2)
    circular = SmallMapConv2d(8, 6, 3, padding=1, padding_mode="circular")
    x = torch.randn(2, 8, 1, 1)
    assert torch.equal(grouped(x), nn.Conv2d.forward(grouped, x))
    assert torch.equal(circular(x), nn.Conv2d.forward(circular, x))


def test_resnet18_keeps_torchvision_parameters_state_dict_and_init():
    torch.manual_seed(0)
    ours = resnet18_encoder(32)
    after_ours = torch.rand(1)
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(weights=None)
    theirs.fc = nn.Identity()
    after_theirs = torch.rand(1)
    assert torch.equal(after_ours, after_theirs)  # swapping the convolutions drew no random number
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(type(m) is SmallMapConv2d for m in ours.modules() if isinstance(m, nn.Conv2d))


def test_resnet18_features_and_gradients_match_torch_convs_at_32x32():
    torch.manual_seed(0)
    ours = resnet18_encoder(32)
    plain = with_torch_convs(resnet18_encoder(32))
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(4, 3, 32, 32)
    got, want = ours(x), plain(x)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    got.square().sum().backward()
    want.square().sum().backward()
    for (name, p), q in zip(ours.named_parameters(), plain.parameters()):
        # relative to the tensor's largest gradient: elementwise, near-zero entries are noise
        assert (p.grad - q.grad).abs().max() <= 1e-4 * q.grad.abs().max(), name


def test_retyping_round_trips():
    net = with_small_map_convs(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()))
    assert type(net[0]) is SmallMapConv2d
    assert type(with_torch_convs(net)[0]) is nn.Conv2d


def test_channels_last_and_bf16_inputs_take_the_small_path():
    plain, small = _pair((8, 6, 3, 1, 1, 1, True, (2, 2)))
    x = torch.randn(3, 8, 2, 2).to(memory_format=torch.channels_last)
    torch.testing.assert_close(small(x), plain(x), rtol=1e-5, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = small(x), plain(x)
    torch.testing.assert_close(got.float(), want.float(), rtol=2e-2, atol=2e-2)


def test_stride_two_from_one_pixel_matches_conv2d_output_shape():
    plain, small = _pair((8, 6, 3, 2, 1, 1, False, (1, 1)))
    x = torch.randn(2, 8, 1, 1)
    assert small(x).shape == plain(x).shape == (2, 6, 1, 1)
