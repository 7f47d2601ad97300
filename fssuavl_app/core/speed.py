"""How the training step runs fast: bf16 autocast, channels_last, torch.compile.

All of it is optional and falls back to plain fp32 eager PyTorch, which is
what the CPU gets by default (`auto`): bf16 autocast and channels_last pay off
on CUDA GPUs, not on most CPUs. The loss is always computed in fp32. Reusing
one (compiled) model across clients is the worker runtime's job (`fl.runtime`).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch

from .models import ModelArgs, SSLModel, build_model


@dataclass(frozen=True)
class Speed:
    bf16: bool = False  # autocast the encoder and head to bfloat16
    channels_last: bool = False  # NHWC memory format (ResNet convolutions on GPUs)
    compile: bool = False  # torch.compile the model once per process and reuse it
    fused_sgd: bool = True  # SGD as one fused kernel where the device has one (see `sgd`)


def resolve_speed(precision: str, channels_last: str, compile_: bool, arch: str,
                  device: torch.device) -> Speed:
    """`precision` (auto/fp32/bf16), `channels_last` (auto/on/off) and compile for `device`."""
    on_gpu = device.type == "cuda"
    bf16 = precision == "bf16" or (precision == "auto" and on_gpu)
    nhwc = channels_last == "on" or (channels_last == "auto" and on_gpu and arch.startswith("resnet"))
    return Speed(bf16=bf16, channels_last=nhwc, compile=compile_)


def sgd(params, lr: float, momentum: float, weight_decay: float, fused: bool = True
        ) -> torch.optim.SGD:
    """torch's SGD with momentum and weight decay.

    `fused`: the whole step in one kernel where the parameters' device has one (CPU, CUDA):
    the same update (bit-identical on the dev machine's CPU), about 2.5x faster than
    the per-tensor loop on a CPU, where the loop costs a fifth of a 32x32 ResNet-18 step.
    Devices without the kernel get the loop.
    """
    params = list(params)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                           fused=fused and _fused_kernel_for(params))


def _fused_kernel_for(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused SGD runs on every tensor (torch checks only at the first step)."""
    try:  # the list torch's optimisers check against
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices
        devices = set(_get_fused_kernels_supported_devices())
    except ImportError:
        devices = {"cpu", "cuda"}
    return all(torch.is_floating_point(p) and p.device.type in devices for p in params)


def autocast(speed: Speed, device: torch.device):
    """bf16 autocast context for the forward pass, or nothing."""
    if not speed.bf16:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def to_input_format(x: torch.Tensor, speed: Speed) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if speed.channels_last else x


@dataclass
class ReusableModel:
    """A model built once and reused: each client loads its weights into it.

    `forward` is the compiled module when compile is on (it shares the
    parameters of `model`), so compiled graphs survive across clients and rounds.
    """

    model: SSLModel
    forward: torch.nn.Module


def reusable_model(args: ModelArgs, device: torch.device | str, speed: Speed) -> ReusableModel:
    """A fresh model on `device` in `speed`'s memory format, compiled when asked."""
    model = build_model(args).to(device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if speed.compile else model
    return ReusableModel(model, forward)


def peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory reserved by PyTorch's allocator since the last reset, MiB (0 on CPU).

    Reserved, not allocated: the caching allocator holds what it reserved, so
    this is what each of the `1 / num-gpus` clients sharing a GPU must fit in.
    """
    if device.type != "cuda":
        return 0.0
    return torch.cuda.max_memory_reserved(device) / 2**20


def peak_memory_line(peak_mb: float, whose: str = "per client") -> str:
    """A report line for `peak_memory_mb`: 0 MiB means the work ran on CPU, where none is measured."""
    return (f"peak GPU memory {whose} {peak_mb:.1f} MiB" if peak_mb > 0
            else "no GPU memory measured (trained on CPU)")


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
