"""Local SSL training on one client's unpaired images and audio.

Batches are single-modality and alternate image, audio, image, ... until one
modality runs out, then the rest of the other. Batches never hold a single
sample: a lone last sample joins the previous batch, so a client smaller
than the batch size still trains (NT-Xent needs N >= 2).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterator

import torch

from .inputs import InputPipeline
from .losses import barlow_twins, nt_xent
from .models import SSLModel
from .speed import Speed, autocast, to_input_format

MODALITIES = ("image", "audio")


@dataclass
class LocalData:
    """A client's raw training data; either modality may be absent (None)."""

    images: torch.Tensor | None = None  # uint8 (N, 3, H, W)
    audio: tuple[torch.Tensor, torch.Tensor] | None = None  # (N, L) waves, (N,) lengths

    def count(self, modality: str) -> int:
        if modality == "image":
            return 0 if self.images is None else len(self.images)
        return 0 if self.audio is None else len(self.audio[0])

    def to(self, device: torch.device) -> "LocalData":
        """The same data on `device` (one transfer per round instead of one per batch)."""
        images = None if self.images is None else self.images.to(device, non_blocking=True)
        audio = None if self.audio is None else tuple(t.to(device, non_blocking=True)
                                                      for t in self.audio)
        return LocalData(images=images, audio=audio)

    def batch(self, modality: str, idx: torch.Tensor):
        if modality == "image":
            return self.images[idx]
        waves, lengths = self.audio
        return waves[idx], lengths[idx]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    temperature: float
    loss: str = "simclr"  # or "barlow-twins"
    bt_lambda: float = 0.005


def ssl_loss(settings: TrainSettings) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss of two views' projections (N, D) each -> scalar, as the settings choose."""
    if settings.loss == "simclr":
        return partial(nt_xent, temperature=settings.temperature)
    if settings.loss == "barlow-twins":
        return partial(barlow_twins, lambd=settings.bt_lambda)
    raise ValueError(f"unknown loss {settings.loss!r}; use simclr or barlow-twins")


def lr_for_round(lr: float, schedule: str, global_round: int, total_rounds: int) -> float:
    """The client learning rate in `global_round` (1-based): constant, or cosine over rounds
    from `lr` in round 1 towards 0 (never 0: round r uses (r - 1) / total of the half period)."""
    if schedule == "constant":
        return lr
    progress = (max(1, global_round) - 1) / max(1, total_rounds)
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class TrainResult:
    num_examples: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODALITIES, 0))
    mean_loss: dict[str, float] = field(default_factory=lambda: dict.fromkeys(MODALITIES, 0.0))
    steps: int = 0
    seconds: float = 0.0


def batch_indices(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches covering 0..n-1; no batch of size 1 (unless n == 1)."""
    perm = torch.randperm(n, generator=generator)
    batches = list(torch.split(perm, batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = torch.cat([batches[-1], last])
    return batches


def alternate(image_batches: list, audio_batches: list) -> Iterator[tuple[str, torch.Tensor]]:
    """image, audio, image, audio, ...; when one runs out, the rest of the other."""
    for i in range(max(len(image_batches), len(audio_batches))):
        if i < len(image_batches):
            yield "image", image_batches[i]
        if i < len(audio_batches):
            yield "audio", audio_batches[i]


def train_locally(model: SSLModel, data: LocalData, pipeline: InputPipeline,
                  settings: TrainSettings, generator: torch.Generator,
                  on_step: Callable[[int, str, float], None] | None = None,
                  speed: Speed = Speed(), forward: torch.nn.Module | None = None) -> TrainResult:
    """Run `settings.epochs` local epochs of SSL on `data`; returns counts and mean losses.

    `generator` (a CPU generator) drives shuffling; a device generator seeded
    from it drives the views, so results depend only on its seed. Views and
    log-mels are made in fp32; `speed` may run the model (or `forward`, a
    compiled wrapper sharing `model`'s parameters) under bf16 autocast in
    channels_last; the loss is always fp32.
    """
    forward = model if forward is None else forward
    device = pipeline.device
    view_gen = torch.Generator(device=device)
    view_gen.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
    optimiser = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    loss_fn = ssl_loss(settings)
    result = TrainResult()
    loss_sums = dict.fromkeys(MODALITIES, 0.0)
    loss_counts = dict.fromkeys(MODALITIES, 0)
    usable = {m: data.count(m) >= 2 for m in MODALITIES}
    model.train()
    start = time.perf_counter()
    for _ in range(settings.epochs):
        per_modality = {m: batch_indices(data.count(m), settings.batch_size, generator)
                        if usable[m] else [] for m in MODALITIES}
        for modality, idx in alternate(per_modality["image"], per_modality["audio"]):
            v1, v2 = pipeline.train_views(modality, data.batch(modality, idx), view_gen)
            with autocast(speed, device):
                z = forward(to_input_format(torch.cat([v1, v2]), speed))
            loss = loss_fn(*z.float().chunk(2))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            value = loss.item()
            loss_sums[modality] += value
            loss_counts[modality] += 1
            result.steps += 1
            if on_step is not None:
                on_step(result.steps, modality, value)
    result.seconds = time.perf_counter() - start
    for m in MODALITIES:
        result.num_examples[m] = data.count(m) if usable[m] else 0
        result.mean_loss[m] = loss_sums[m] / loss_counts[m] if loss_counts[m] else 0.0
    return result
