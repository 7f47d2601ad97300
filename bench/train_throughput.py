"""Local-training throughput: the ClientApp's training path vs a bare PyTorch loop.

Both run the same number of single-modality batches of the same size through
the same model, optimiser and NT-Xent loss. The ClientApp path
(`train.train_locally`) starts from raw data (uint8 images, waveforms) and makes
two random views per sample on the device (crops, jitter, log-mels, masks);
the bare loop feeds pre-made view tensors. The ratio says how much the input
pipeline and bookkeeping cost. Samples/s counts samples, each with two views.

    python bench/train_throughput.py                      # the app's default run config
    python bench/train_throughput.py --input-size 128 --batch-size 256 --batches 40  # GPU
"""

from __future__ import annotations

import argparse
import time

import torch

from fssuavl_app.config import RunConfig
from fssuavl_app.data import SyntheticShapes, SyntheticSounds, load_images, load_waveforms
from fssuavl_app.devices import pick_device
from fssuavl_app.inputs import InputPipeline
from fssuavl_app.losses import nt_xent
from fssuavl_app.models import ModelArgs, build_model
from fssuavl_app.train import LocalData, TrainSettings, train_locally


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def client_path(model, data: LocalData, pipeline: InputPipeline, settings: TrainSettings) -> float:
    _sync(pipeline.device)
    start = time.perf_counter()
    train_locally(model, data, pipeline, settings, torch.Generator().manual_seed(0))
    _sync(pipeline.device)
    return time.perf_counter() - start


def bare_loop(model, views: list[torch.Tensor], settings: TrainSettings, device) -> float:
    optimiser = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    model.train()
    _sync(device)
    start = time.perf_counter()
    for x in views:
        z = model(x)
        loss = nt_xent(*z.chunk(2), temperature=settings.temperature)
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
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats; best is kept")
    args = parser.parse_args()

    device = pick_device(args.device)
    n = args.batch_size * args.batches
    per_class = -(-n // 10)
    images = load_images(SyntheticShapes(0, per_class, 1), "train", range(n)).data
    audio = load_waveforms(SyntheticSounds(0, per_class, 1), "train", range(n)).data
    data = LocalData(images=images.to(device), audio=tuple(t.to(device) for t in audio))
    pipeline = InputPipeline(args.input_size, device=device)
    settings = TrainSettings(epochs=1, batch_size=args.batch_size, lr=0.03, momentum=0.9,
                             weight_decay=1e-4, temperature=0.5)
    model = build_model(ModelArgs(input_size=args.input_size)).to(device)

    # The bare loop gets the same batches, with views made once beforehand.
    g = torch.Generator(device=device).manual_seed(0)
    views = []
    for lo in range(0, n, args.batch_size):
        sl = slice(lo, lo + args.batch_size)
        views.append(torch.cat(pipeline.train_views("image", data.images[sl], g)))
        views.append(torch.cat(pipeline.train_views("audio", (data.audio[0][sl], data.audio[1][sl]), g)))

    client_path(model, data, pipeline, settings)  # warm-up (allocator, kernels)
    t_client = min(client_path(model, data, pipeline, settings) for _ in range(args.repeats))
    t_bare = min(bare_loop(model, views, settings, device) for _ in range(args.repeats))
    samples = 2 * n  # images + audio clips, two views each
    print(f"device {device}, input {args.input_size}x{args.input_size}, batch {args.batch_size}, "
          f"{samples} samples ({n} images + {n} clips), torch threads {torch.get_num_threads()}")
    print(f"ClientApp training path : {samples / t_client:8.1f} samples/s ({t_client:.2f} s)")
    print(f"bare PyTorch loop       : {samples / t_bare:8.1f} samples/s ({t_bare:.2f} s)")
    print(f"ratio client/bare       : {t_bare / t_client:8.3f}")


if __name__ == "__main__":
    main()
