"""Client shards: Dirichlet over labels per modality, plus modality roles.

Every client gets a role: "image" (image-only), "audio" (audio-only) or
"both". The image set is split into one shard per client that uses images,
the audio set into one shard per client that uses audio, each with a
per-class Dirichlet(alpha) draw over those clients. Deterministic by seed;
a draw that leaves some client below `min_size` is redrawn, at most
`max_retries` times, then `PartitionError` says which settings to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ROLES = ("image", "audio", "both")
MAX_RETRIES = 100


class PartitionError(ValueError):
    """The partition settings cannot be met."""


@dataclass(frozen=True)
class ClientShard:
    """What one client holds: its role and dataset indices (train split) per modality."""

    role: str
    image: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def indices(self, modality: str) -> np.ndarray:
        return self.image if modality == "image" else self.audio


def assign_roles(num_clients: int, frac_image_only: float, frac_audio_only: float,
                 seed: int) -> list[str]:
    """Role of each client id; counts are round(frac * K), placed by a seeded permutation."""
    n_img, n_aud = round(frac_image_only * num_clients), round(frac_audio_only * num_clients)
    for name, frac, count in (("frac-image-only", frac_image_only, n_img),
                              ("frac-audio-only", frac_audio_only, n_aud)):
        if frac > 0 and count == 0:
            raise PartitionError(f"{name}={frac} gives no client out of {num_clients}; "
                                 f"use at least {1 / num_clients:.3g} or more clients")
    if n_img + n_aud > num_clients:
        raise PartitionError(f"frac-image-only + frac-audio-only ask for {n_img + n_aud} "
                             f"clients out of {num_clients}")
    roles = np.array(["image"] * n_img + ["audio"] * n_aud + ["both"] * (num_clients - n_img - n_aud))
    return list(roles[np.random.default_rng([seed, 101]).permutation(num_clients)])


def dirichlet_shards(labels: np.ndarray, num_shards: int, alpha: float, min_size: int,
                     seed: int, max_retries: int = MAX_RETRIES) -> list[np.ndarray]:
    """Split indices of `labels` (N,) into `num_shards` disjoint, complete, sorted shards.

    Per class, proportions over shards ~ Dirichlet(alpha); the class's shuffled
    indices are cut at the cumulative proportions. Redrawn while a shard has
    fewer than `min_size` items.
    """
    if num_shards == 0:
        return []
    if len(labels) < num_shards * min_size:
        raise PartitionError(
            f"{len(labels)} samples cannot give {num_shards} clients {min_size} each; "
            "lower min-partition-size, use fewer clients or more data")
    rng = np.random.default_rng([seed, 202])
    classes = np.unique(labels)
    for _ in range(max_retries):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_shards)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(labels == c))
            props = rng.dirichlet(np.full(num_shards, alpha))
            cuts = (np.cumsum(props)[:-1] * len(idx)).astype(int)
            for shard, piece in enumerate(np.split(idx, cuts)):
                parts[shard].append(piece)
        shards = [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
        if min(len(s) for s in shards) >= min_size:
            return shards
    raise PartitionError(
        f"no Dirichlet(alpha={alpha}) split of {len(labels)} samples in {len(classes)} classes "
        f"gave all {num_shards} clients at least {min_size} samples in {max_retries} draws; "
        "raise dirichlet-alpha, lower min-partition-size, use fewer clients or more data")


def build_partition(image_labels: np.ndarray, audio_labels: np.ndarray, num_clients: int, *,
                    alpha: float, min_size: int, frac_image_only: float,
                    frac_audio_only: float, seed: int) -> list[ClientShard]:
    """The shards of all `num_clients` clients, indexed by partition id."""
    if num_clients < 1:
        raise PartitionError(f"need at least one client, got {num_clients}")
    roles = assign_roles(num_clients, frac_image_only, frac_audio_only, seed)
    per_modality = {}
    for modality, labels, code in (("image", image_labels, 1), ("audio", audio_labels, 2)):
        users = [k for k, r in enumerate(roles) if r in (modality, "both")]
        shards = dirichlet_shards(labels, len(users), alpha, min_size, seed * 1000 + code)
        per_modality[modality] = dict(zip(users, shards))
    empty = np.zeros(0, np.int64)
    return [ClientShard(role=roles[k], image=per_modality["image"].get(k, empty),
                        audio=per_modality["audio"].get(k, empty)) for k in range(num_clients)]


def _stats(sizes: list[int]) -> str:
    if not sizes:
        return "none"
    a = np.array(sizes)
    return f"{a.sum():6d} in all, per client min {a.min()} / median {int(np.median(a))} / max {a.max()}"


def summarize(shards: list[ClientShard], image_labels: np.ndarray, audio_labels: np.ndarray,
              alpha: float) -> str:
    """A one-screen description of the split."""
    roles = [s.role for s in shards]
    lines = [f"Partition: {len(shards)} clients, Dirichlet alpha={alpha}; roles: "
             + ", ".join(f"{roles.count(r)} {r}{'-only' if r != 'both' else ''}" for r in ROLES)]
    for modality, labels in (("image", image_labels), ("audio", audio_labels)):
        held = [s.indices(modality) for s in shards if s.role in (modality, "both")]
        sizes = [len(h) for h in held]
        used = int(sum(sizes))
        classes = [len(np.unique(labels[h])) for h in held]
        lines.append(f"  {modality:5s}: {_stats(sizes)} ({used}/{len(labels)} used)")
        if classes:
            lines.append(f"         classes per client min {min(classes)} / median "
                         f"{int(np.median(classes))} / max {max(classes)} "
                         f"of {len(np.unique(labels))}")
    head = ", ".join(f"#{k} {s.role}: {len(s.image)} img {len(s.audio)} aud"
                     for k, s in enumerate(shards[:4]))
    lines.append(f"  first clients: {head}{' ...' if len(shards) > 4 else ''}")
    return "\n".join(lines)
