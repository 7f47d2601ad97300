"""Local SSL training on one client's unpaired data of every modality.

Batches are single-modality and take turns in `MODALITIES` order (image,
audio, image, ...) until one modality runs out, then the rest of the others.
Batches never hold a single sample: a lone last sample joins the previous
batch, so a client smaller than the batch size still trains (NT-Xent needs N >= 2).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

from .inputs import InputPipeline
from .methods import method as method_named
from .modalities import NAMES, Batch
from .models import SSLModel
from .speed import Speed, autocast, sgd, to_input_format


@dataclass
class LocalData:
    """A client's raw training data: one batch per modality it holds (absent = none)."""

    batches: dict[str, Batch] = field(default_factory=dict)

    def count(self, modality: str) -> int:
        batch = self.batches.get(modality)
        return 0 if batch is None else len(batch)

    def to(self, device: torch.device) -> "LocalData":
        """The same data on `device` (one transfer per round instead of one per batch)."""
        return LocalData({m: b.to(device, non_blocking=True) for m, b in self.batches.items()})

    def batch(self, modality: str, idx: torch.Tensor) -> Batch:
        return self.batches[modality][idx]


@dataclass(frozen=True)
class TrainSettings:
    """One round of local training, as the server sends it."""

    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    loss: str = "simclr"  # an SSL method of `methods.METHODS`
    loss_options: tuple[tuple[str, Any], ...] = ()  # its options; missing ones take defaults


def ssl_loss(settings: TrainSettings) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss of two views' projections (N, D) each -> scalar, as the settings choose."""
    chosen = method_named(settings.loss)
    options = chosen.resolve(dict(settings.loss_options))
    return lambda z1, z2: chosen.loss(z1, z2, options)


def lr_for_round(lr: float, schedule: str, global_round: int, total_rounds: int) -> float:
    """The client learning rate in `global_round` (1-based): constant, or cosine over rounds
    from `lr` in round 1 towards 0 (never 0: round r uses (r - 1) / total of the half period)."""
    if schedule == "constant":
        return lr
    progress = (max(1, global_round) - 1) / max(1, total_rounds)
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def client_generator(seed: int, global_round: int, partition_id: int) -> torch.Generator:
    """The CPU generator of one client in one round; it seeds everything random there."""
    value = np.random.SeedSequence([seed, global_round, partition_id]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(value))


@dataclass
class TrainResult:
    num_examples: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NAMES, 0))
    mean_loss: dict[str, float] = field(default_factory=lambda: dict.fromkeys(NAMES, 0.0))
    steps: int = 0
    seconds: float = 0.0


def batch_indices(n: int, batch_size: int, generator: torch.Generator, min_batch: int = 2
                  ) -> list[torch.Tensor]:
    """Shuffled index batches covering 0..n-1; a last batch smaller than `min_batch` joins
    the one before (so no batch of size 1, unless n == 1)."""
    perm = torch.randperm(n, generator=generator)
    batches = list(torch.split(perm, batch_size))
    if len(batches) > 1 and len(batches[-1]) < min_batch:
        last = batches.pop()
        batches[-1] = torch.cat([batches[-1], last])
    return batches


def interleave(batches: Mapping[str, list]) -> Iterator[tuple[str, Any]]:
    """One batch of each modality in turn (mapping order); when one runs out, the rest."""
    for i in range(max((len(b) for b in batches.values()), default=0)):
        for modality, listed in batches.items():
            if i < len(listed):
                yield modality, listed[i]


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
    optimiser = sgd(model.parameters(), settings.lr, settings.momentum, settings.weight_decay,
                    fused=speed.fused_sgd)
    loss_fn = ssl_loss(settings)
    min_batch = method_named(settings.loss).min_batch
    result = TrainResult()
    loss_sums = dict.fromkeys(NAMES, 0.0)
    loss_counts = dict.fromkeys(NAMES, 0)
    usable = [m for m in NAMES if data.count(m) >= 2]
    model.train()
    start = time.perf_counter()
    for _ in range(settings.epochs):
        per_modality = {m: batch_indices(data.count(m), settings.batch_size, generator, min_batch)
                        for m in usable}
        for modality, idx in interleave(per_modality):
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
    for m in usable:
        result.num_examples[m] = data.count(m)
        result.mean_loss[m] = loss_sums[m] / loss_counts[m] if loss_counts[m] else 0.0
    return result
