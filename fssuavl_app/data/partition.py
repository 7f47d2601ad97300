"""Client shards: Dirichlet over labels per modality, plus modality roles (pure numpy).

Every client gets a role: the name of the one modality it trains on
("image", "audio": a unimodal client) or "both" (every modality). Two modes:

- "paper" (the paper's section 3.3): the train split of each modality is cut
  into K shards, one per client, by a per-class Dirichlet(alpha) draw over
  ALL K clients; client k keeps shard k of every modality its role uses. A
  unimodal client's other shard is used by nobody, so Model-Comb (50/50/0)
  learns from about half of each set and Figure 4 at x% audio from about x%
  of the audio.
- "redistribute": each modality is cut only among the clients that use it,
  so every item is used whatever the roles.

The two agree when every client holds every modality. Deterministic by seed;
a draw that leaves some shard below `min_size` is redrawn, at most
`max_retries` times, then `PartitionError` says which settings to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..core.modalities import NAMES
from ..core.modalities import modality as modality_named

BOTH = "both"
MAX_RETRIES = 100
MODES = ("paper", "redistribute")


class PartitionError(ValueError):
    """The partition settings cannot be met."""


def uses(role: str, modality: str) -> bool:
    """Whether a client of `role` trains on `modality`."""
    return role in (modality, BOTH)


@dataclass(frozen=True)
class ClientShard:
    """What one client holds: its role and dataset indices (train split) per modality."""

    role: str
    held: Mapping[str, np.ndarray] = field(default_factory=dict)  # modality -> sorted positions

    def indices(self, modality: str) -> np.ndarray:
        """Positions in the modality's train split (empty when the client holds none)."""
        return self.held.get(modality, np.zeros(0, np.int64))

    def uses(self, modality: str) -> bool:
        return uses(self.role, modality)


def roles_of(modalities: tuple[str, ...]) -> tuple[str, ...]:
    """Every role: one per modality (unimodal), then BOTH."""
    return (*modalities, BOTH)


ROLES = roles_of(NAMES)


def assign_roles(num_clients: int, only: Mapping[str, float], seed: int) -> list[str]:
    """Role of each client id; `only[m]` is the share of clients that hold modality m only.

    Counts are round(share * K), placed by a seeded permutation; the rest hold every modality.
    """
    counts = {m: round(frac * num_clients) for m, frac in only.items()}
    for m, frac in only.items():
        if frac > 0 and counts[m] == 0:
            raise PartitionError(f"frac-{m}-only={frac} gives no client out of {num_clients}; "
                                 f"use at least {1 / num_clients:.3g} or more clients")
    if sum(counts.values()) > num_clients:
        terms = " + ".join(f"frac-{m}-only" for m in only)
        raise PartitionError(f"{terms} ask for {sum(counts.values())} clients out of "
                             f"{num_clients}")
    listed = [m for m, n in counts.items() for _ in range(n)]
    roles = np.array(listed + [BOTH] * (num_clients - len(listed)))
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


def build_partition(labels: Mapping[str, np.ndarray], num_clients: int, *, alpha: float,
                    min_size: int, only: Mapping[str, float], seed: int,
                    mode: str = "paper") -> list[ClientShard]:
    """The shards of all `num_clients` clients, indexed by partition id.

    `labels` maps each modality to its train labels (N_m,); `only` maps each
    modality to the share of clients that hold it alone; `mode` is "paper"
    (K shards per modality, a client keeps those its role uses) or
    "redistribute" (each modality split among its users only).
    """
    if num_clients < 1:
        raise PartitionError(f"need at least one client, got {num_clients}")
    if mode not in MODES:
        raise PartitionError(f"partition mode {mode!r}; use one of {', '.join(MODES)}")
    roles = assign_roles(num_clients, {m: only.get(m, 0.0) for m in labels}, seed)
    held: dict[int, dict[str, np.ndarray]] = {k: {} for k in range(num_clients)}
    for code, (modality, modality_labels) in enumerate(labels.items(), start=1):
        users = [k for k, r in enumerate(roles) if uses(r, modality)]
        if not users:
            continue
        owners = range(num_clients) if mode == "paper" else users
        shards = dict(zip(owners, dirichlet_shards(modality_labels, len(owners), alpha,
                                                   min_size, seed * 1000 + code)))
        for k in users:
            held[k][modality] = shards[k]
    return [ClientShard(roles[k], held[k]) for k in range(num_clients)]


def _stats(sizes: list[int]) -> str:
    if not sizes:
        return "none"
    a = np.array(sizes)
    return f"{a.sum():6d} in all, per client min {a.min()} / median {int(np.median(a))} / max {a.max()}"


def summarize(shards: list[ClientShard], labels: Mapping[str, np.ndarray], alpha: float) -> str:
    """A one-screen description of the split."""
    roles = [s.role for s in shards]
    lines = [f"Partition: {len(shards)} clients, Dirichlet alpha={alpha}; roles: "
             + ", ".join(f"{roles.count(r)} {r}{'-only' if r != BOTH else ''}"
                         for r in roles_of(tuple(labels)))]
    for modality, modality_labels in labels.items():
        held = [s.indices(modality) for s in shards if s.uses(modality)]
        sizes = [len(h) for h in held]
        used = int(sum(sizes))
        classes = [len(np.unique(modality_labels[h])) for h in held]
        share = used / max(1, len(modality_labels))
        lines.append(f"  {modality:5s}: {_stats(sizes)} ({used}/{len(modality_labels)} used, "
                     f"{share:.0%})")
        if classes:
            lines.append(f"         classes per client min {min(classes)} / median "
                         f"{int(np.median(classes))} / max {max(classes)} "
                         f"of {len(np.unique(modality_labels))}")
    head = ", ".join(f"#{k} {s.role}: " + " ".join(f"{len(s.indices(m))} {modality_named(m).short}"
                                                  for m in labels)
                     for k, s in enumerate(shards[:4]))
    lines.append(f"  first clients: {head}{' ...' if len(shards) > 4 else ''}")
    return "\n".join(lines)
