"""Local-training throughput: the ClientApp's training path vs a bare PyTorch loop.

Both run the same number of single-modality batches of the same size through
the same model, optimiser and NT-Xent loss. The ClientApp path
(`train.train_locally`) starts from raw data (uint8 images, waveforms) and makes
two random views per sample on the device (crops, jitter, log-mels, masks);
the bare loop feeds pre-made view tensors. The ratio says how much the input
pipeline and bookkeeping cost. Samples/s counts samples, each with two views.

    python bench/train_throughput.py                      # the machine's yardstick: ResNet-18
    python bench/train_throughput.py --arch resnet18-half # the default run's encoder
    python bench/train_throughput.py --input-size 128 --batch-size 256 --batches 40  # GPU
    python bench/train_throughput.py --arch vit --input-size 128 --batch-size 256 --compile
    python bench/train_throughput.py --convs torchvision  # without the small-map convolutions
    python bench/train_throughput.py --convs torchvision --sgd loop  # the app before 2026-12-04

What an AVX2-only CPU runs can be had on an AVX-512 one by forcing the
kernels down (the small-map convolutions matter most there, see
`core/archs/small_maps.py`):

    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
      python bench/train_throughput.py --convs torchvision

The encoder-only loop uses the same precision (bf16 autocast on CUDA by
default), memory format and compiled module as the ClientApp path.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from fssuavl_app.core.archs import ARCHS
from fssuavl_app.core.archs.small_maps import with_torch_convs
from fssuavl_app.core.devices import pick_device
from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.methods.simclr import nt_xent
from fssuavl_app.core.models import ModelArgs
from fssuavl_app.core.speed import (
    Speed,
    autocast,
    peak_memory_line,
    peak_memory_mb,
    reset_peak_memory,
    resolve_speed,
    reusable_model,
    sgd,
    to_input_format,
)
from fssuavl_app.core.train import LocalData, TrainSettings, train_locally
from fssuavl_app.data import Builtin, load_items, open_dataset
from fssuavl_app.runs.config import RunConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def client_path(reusable, data: LocalData, pipeline: InputPipeline, settings: TrainSettings,
                speed: Speed) -> float:
    _sync(pipeline.device)
    start = time.perf_counter()
    train_locally(reusable.model, data, pipeline, settings, torch.Generator().manual_seed(0),
                  speed=speed, forward=reusable.forward)
    _sync(pipeline.device)
    return time.perf_counter() - start


def bare_loop(reusable, views: list[torch.Tensor], settings: TrainSettings, device,
              speed: Speed) -> float:
    optimiser = sgd(reusable.model.parameters(), settings.lr, settings.momentum,
                    settings.weight_decay, fused=speed.fused_sgd)
    reusable.model.train()
    _sync(device)
    start = time.perf_counter()
    for x in views:
        with autocast(speed, device):
            z = reusable.forward(to_input_format(x, speed))
        loss = nt_xent(*z.float().chunk(2), temperature=0.5)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    loss.item()
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = RunConfig()
    parser.add_argument("--input-size", type=int, default=defaults.input_size)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--batches", type=int, default=8,
                        help="batches per modality (image and audio alternate)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    # resnet18, not the run's default (resnet18-half): every machine figure quoted in the
    # README and the issues is this one, so it stays the yardstick of a machine's speed
    parser.add_argument("--arch", default="resnet18", choices=tuple(ARCHS),
                        help="encoder (default resnet18, the machine yardstick; the default "
                             "run trains resnet18-half)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--channels-last", default="auto", choices=("auto", "on", "off"))
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--convs", default="small-map", choices=("small-map", "torchvision"),
                        help="ResNet convolutions: the app's (tiny CPU maps as matmuls) or "
                             "nn.Conv2d's own forward everywhere")
    parser.add_argument("--sgd", default="fused", choices=("fused", "loop"),
                        help="SGD step: the app's fused kernel or torch's per-tensor loop "
                             "(what the app ran before; the slow machine's figures in the "
                             "README were measured with it)")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats; best is kept")
    args = parser.parse_args()

    device = pick_device(args.device)
    speed = dataclasses.replace(
        resolve_speed(args.precision, args.channels_last, args.compile, args.arch, device),
        fused_sgd=args.sgd == "fused")
    n = args.batch_size * args.batches
    builtin = Builtin(0, -(-n // 10), 1)
    data = LocalData({m: load_items(open_dataset(name, builtin=builtin), "train", range(n)).data
                      for m, name in (("image", "synthetic-shapes"),
                                      ("audio", "synthetic-sounds"))}).to(device)
    pipeline = InputPipeline(InputSpec(args.input_size), device=device)
    settings = TrainSettings(epochs=1, batch_size=args.batch_size, lr=0.03, momentum=0.9,
                             weight_decay=1e-4)  # SimCLR, tau 0.5
    reusable = reusable_model(ModelArgs(arch=args.arch, input_size=args.input_size), device,
                              speed)
    if args.convs == "torchvision":
        with_torch_convs(reusable.model)  # before the first call, so a compile sees it too

    # The bare loop gets the same batches, with views made once beforehand.
    g = torch.Generator(device=device).manual_seed(0)
    views = []
    for lo in range(0, n, args.batch_size):
        sl = slice(lo, lo + args.batch_size)
        for modality, batch in data.batches.items():
            views.append(torch.cat(pipeline.train_views(modality, batch[sl], g)))

    client_path(reusable, data, pipeline, settings, speed)  # warm-up (allocator, kernels, compile)
    reset_peak_memory(device)
    t_client = min(client_path(reusable, data, pipeline, settings, speed)
                   for _ in range(args.repeats))
    peak = peak_memory_mb(device)
    bare_loop(reusable, views, settings, device, speed)  # warm-up
    t_bare = min(bare_loop(reusable, views, settings, device, speed) for _ in range(args.repeats))
    samples = 2 * n  # images + audio clips, two views each
    print(f"device {device}, {args.arch}, input {args.input_size}x{args.input_size}, batch "
          f"{args.batch_size}, {samples} samples ({n} images + {n} clips), {speed}, {args.convs} "
          f"convolutions, torch threads {torch.get_num_threads()}")
    print(f"ClientApp training path : {samples / t_client:8.1f} samples/s ({t_client:.2f} s)")
    print(f"bare PyTorch loop       : {samples / t_bare:8.1f} samples/s ({t_bare:.2f} s)")
    print(f"ratio client/bare       : {t_bare / t_client:8.3f}")
    print(peak_memory_line(peak, "of the ClientApp path"))


if __name__ == "__main__":
    main()
