"""The run's partition and a client's local data, as the ClientApp and ServerApp see them."""

from __future__ import annotations

import numpy as np
import torch

from .config import RunConfig
from .data import Source, load_images, load_waveforms
from .partitions import ClientShard, build_partition
from .train import LocalData


def partition_for(cfg: RunConfig, sources: dict[str, Source], num_clients: int
                  ) -> list[ClientShard]:
    """All clients' shards of the train split, from labels only (no decoding)."""
    return build_partition(sources["image"].labels("train"), sources["audio"].labels("train"),
                           num_clients, alpha=cfg.dirichlet_alpha,
                           min_size=cfg.min_partition_size, frac_image_only=cfg.frac_image_only,
                           frac_audio_only=cfg.frac_audio_only, seed=cfg.seed)


def load_local_data(sources: dict[str, Source], shard: ClientShard) -> tuple[LocalData, int]:
    """Decode exactly the items of `shard` that its role uses; also the count of
    items skipped because they cannot be used (each is named in the log)."""
    images = audio = None
    skipped = 0
    if shard.role in ("image", "both") and len(shard.image):
        loaded = load_images(sources["image"], "train", shard.image)
        images, skipped = (loaded.data if len(loaded) else None), skipped + len(loaded.bad)
    if shard.role in ("audio", "both") and len(shard.audio):
        loaded = load_waveforms(sources["audio"], "train", shard.audio)
        audio, skipped = (loaded.data if len(loaded) else None), skipped + len(loaded.bad)
    return LocalData(images=images, audio=audio), skipped


def client_generator(seed: int, global_round: int, partition_id: int) -> torch.Generator:
    """The CPU generator of one client in one round; it seeds everything random there."""
    value = np.random.SeedSequence([seed, global_round, partition_id]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(value))
