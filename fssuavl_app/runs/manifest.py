"""Client manifests: one client's shard written to a file, for real SuperNodes.

`fssuavl-partition` writes `client-NNNN.json` per client (same partition
logic and seed as the simulation) and a summary. A SuperNode started with
`--node-config "data-path='<manifest>'"` trains on exactly the items it lists,
found by their dataset-relative ids in the node's own copy of the data
(`image-root` / `audio-root` in the node config override the run config's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.modalities import NAMES
from ..data import ROLES, ClientShard, Source
from .config import RunConfig

FORMAT = "fssuavl-client-manifest/1"
# Settings that decide a partition; a manifest made with other values is reported.
PARTITION_KEYS = ("seed", "dirichlet-alpha", "min-partition-size", "partition-mode",
                  *(f"frac-{m}-only" for m in NAMES), *(f"{m}-dataset" for m in NAMES),
                  "synthetic-train-per-class")


class ManifestError(ValueError):
    """A manifest file is missing, malformed, or does not fit the run."""


@dataclass(frozen=True)
class Manifest:
    partition_id: int
    num_partitions: int
    role: str
    datasets: dict[str, str]  # modality -> dataset name
    ids: dict[str, list[str]]  # modality -> train-split item ids
    settings: dict  # PARTITION_KEYS values it was made with
    path: Path | None = None


def manifest_dict(shard: ClientShard, partition_id: int, num_partitions: int, cfg: RunConfig,
                  sources: dict[str, Source]) -> dict:
    """The JSON-ready manifest of one client: role and item ids (train split) per modality."""
    run = cfg.to_run_config()
    return {"format": FORMAT, "partition-id": partition_id, "num-partitions": num_partitions,
            "role": shard.role, "settings": {k: run[k] for k in PARTITION_KEYS},
            **{m: {"dataset": sources[m].name, "split": "train",
                   "ids": [sources[m].item_id("train", int(i)) for i in shard.indices(m)]}
               for m in NAMES}}


def read_manifest(path: str | Path) -> Manifest:
    """Parse and validate a client manifest, with errors that name the file and the field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ManifestError(f"client manifest {path} does not exist; write manifests with "
                            "`fssuavl-partition` and pass one per SuperNode as data-path") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"client manifest {path} is not readable JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ManifestError(f"{path} is not a client manifest (format must be {FORMAT!r})")
    try:
        m = Manifest(partition_id=int(raw["partition-id"]),
                     num_partitions=int(raw["num-partitions"]), role=str(raw["role"]),
                     datasets={mod: str(raw[mod]["dataset"]) for mod in NAMES},
                     ids={mod: [str(i) for i in raw[mod]["ids"]] for mod in NAMES},
                     settings=dict(raw.get("settings", {})), path=path)
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: missing or bad field {exc}") from exc
    if m.role not in ROLES or not 0 <= m.partition_id < m.num_partitions:
        raise ManifestError(f"{path}: role {m.role!r} / partition {m.partition_id} of "
                            f"{m.num_partitions} is not valid")
    for mod, ids in m.ids.items():
        if len(set(ids)) != len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise ManifestError(f"{path}: lists {mod} item {twice!r} more than once "
                                f"({len(ids) - len(set(ids))} repeats); a client holds each "
                                "item once")
    return m


def read_summary(path: str | Path) -> dict:
    """The summary.json of `fssuavl-partition`: {"num-clients": K, "clients": [...]}."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
        clients = raw["clients"]
        count = int(raw["num-clients"])
        if len(clients) != count or sorted(int(c["partition-id"]) for c in clients) != \
                list(range(count)):
            raise ValueError("its clients are not partitions 0..num-clients-1")
    except FileNotFoundError as exc:
        raise ManifestError(f"partition summary {path} does not exist") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path} is not an fssuavl-partition summary.json ({exc})") from exc
    return raw


def check_own_items(manifest: Manifest, shard: ClientShard, expected: ClientShard) -> None:
    """Refuse a manifest whose items are not the shard its partition id has in the run's
    partition (`expected`): another client's items, or a hand-edited list."""
    for mod in NAMES:
        got, want = set(shard.indices(mod).tolist()), set(expected.indices(mod).tolist())
        if shard.uses(mod) and got != want:
            raise ManifestError(
                f"{manifest.path}: its {mod} items are not those of partition "
                f"{manifest.partition_id} ({len(got - want)} of {len(got)} belong elsewhere or "
                f"nowhere, {len(want - got)} of its own are missing); write the manifests again "
                "with fssuavl-partition and the run's settings")


def mismatched_settings(manifest: Manifest, cfg: RunConfig) -> list[str]:
    """'key: manifest value != run value' for each partition setting that differs."""
    run = cfg.to_run_config()
    return [f"{k}: {manifest.settings[k]!r} in the manifest, {run[k]!r} in the run"
            for k in PARTITION_KEYS if k in manifest.settings and manifest.settings[k] != run[k]]


def shard_from_manifest(manifest: Manifest, sources: dict[str, Source]) -> ClientShard:
    """The shard the manifest lists, as positions in this node's copy of the datasets."""
    indices = {}
    for m in NAMES:
        if manifest.datasets[m] != sources[m].name:
            raise ManifestError(f"{manifest.path}: lists {m} items of {manifest.datasets[m]!r} "
                                f"but the run trains on {sources[m].name!r}")
        indices[m] = sources[m].index_of("train", manifest.ids[m]).astype(np.int64)
    return ClientShard(manifest.role, indices)
