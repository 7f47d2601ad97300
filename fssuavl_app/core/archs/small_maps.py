"""Convolutions on tiny feature maps as matrix products, on CPU.

At 32x32 inputs torchvision's ResNet-18 (standard stem) works on 2x2 maps in
layer3 and 1x1 maps in layer4. There oneDNN's AVX2 kernels are slow,
above all in the backward pass: a 3x3 convolution of 512 channels on a 1x1
map (batch 32, 2 threads) takes 33.5 ms forward + backward, the same
product as a matmul 5.6 ms; on AVX-512 the gap is small (9.8 vs 5.8 ms).
Measured with AVX2 forced on an AVX-512 machine
(`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`),
which is what an AVX2-only CPU runs; the whole training step goes from
176 to 88 ms there (`bench/train_throughput.py --convs torchvision` vs the
default).

`SmallMapConv2d` computes the same function: on a 1x1 map with "same"
padding only the centre tap meets data (the others meet zero padding), so
the convolution is a linear layer with the centre weights; on other maps of
at most `MAX_SMALL_MAP` pixels it is im2col (`F.unfold`) and one matmul.
Larger maps, other devices, groups and non-zero padding modes use
`nn.Conv2d`'s own forward. Parameters, buffers and state_dict keys are
`nn.Conv2d`'s, so checkpoints do not change; results agree to float
rounding (summation order).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_SMALL_MAP = 4  # pixels (H * W); at 4x4 = 16 the matmul is already slower than oneDNN


def _out_side(side: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (side + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class SmallMapConv2d(nn.Conv2d):
    """`nn.Conv2d` that multiplies matrices on CPU maps of at most `MAX_SMALL_MAP` pixels."""

    def _takes_small_path(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.ndim == 4
                and x.shape[-2] * x.shape[-1] <= MAX_SMALL_MAP
                and self.groups == 1 and self.padding_mode == "zeros"
                and not isinstance(self.padding, str))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._takes_small_path(x):
            return super().forward(x)
        (kh, kw), (h, w) = self.kernel_size, x.shape[-2:]
        if (h, w) == (1, 1) and kh % 2 and kw % 2 and self.padding == (kh // 2, kw // 2) \
                and self.dilation == (1, 1):
            # (N, C, 1, 1) -> (N, O, 1, 1) whatever the stride: only the centre tap sees data
            y = F.linear(x.flatten(1), self.weight[:, :, kh // 2, kw // 2], self.bias)
            return y[:, :, None, None]
        oh = _out_side(h, kh, self.stride[0], self.padding[0], self.dilation[0])
        ow = _out_side(w, kw, self.stride[1], self.padding[1], self.dilation[1])
        # (N, C*kh*kw, L) with L = oh * ow
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)
        y = self.weight.flatten(1) @ cols  # (N, O, L)
        if self.bias is not None:
            y = y + self.bias[:, None]
        return y.view(x.shape[0], self.out_channels, oh, ow)


def _retype_convs(module: nn.Module, cls: type[nn.Conv2d]) -> nn.Module:
    """Give every Conv2d in `module` the class `cls`, in place. Only `forward` differs between
    the classes, so parameters stay as they are (and no random number is drawn)."""
    for child in module.modules():
        if isinstance(child, nn.Conv2d):
            child.__class__ = cls
    return module


def with_small_map_convs(module: nn.Module) -> nn.Module:
    """`module` with each `nn.Conv2d` computing tiny CPU maps as matmuls (see above)."""
    return _retype_convs(module, SmallMapConv2d)


def with_torch_convs(module: nn.Module) -> nn.Module:
    """`module` with every convolution back to `nn.Conv2d`'s forward (for comparisons)."""
    return _retype_convs(module, nn.Conv2d)
