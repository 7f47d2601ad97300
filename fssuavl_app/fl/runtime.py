"""The worker runtime: what one worker process builds once and hands to every client call.

A worker process is a Ray actor in the simulation (it serves many virtual
nodes, one call at a time) or a SuperNode's ClientApp process. Its
`WorkerRuntime` holds the device, the run's opened data sources, the
partition and each node's shard, and the reusable (optionally compiled)
model, so the per-round client work is: load weights, train, reply. It is
built from the run config at the first call of a run and passed explicitly;
`RuntimeHolder` (owned by `client_app.py`) swaps it when a new run starts.
"""

from __future__ import annotations

import socket
from logging import WARNING
from typing import Any, Mapping

from flwr.app import Context
from flwr.common import log

from ..core.devices import pick_device
from ..core.inputs import InputPipeline, InputSpec
from ..core.modalities import NAMES
from ..core.models import ModelArgs
from ..core.speed import ReusableModel, Speed, resolve_speed, reusable_model
from ..data import ClientShard, Source
from ..runs.config import RunConfig
from ..runs.manifest import (Manifest, check_own_items, mismatched_settings, read_manifest,
                             shard_from_manifest)
from ..runs.sources import open_run_sources, partition_for
from .faults import parse_faults


def node_roots(node_config: Mapping[str, Any]) -> dict[str, str]:
    """Dataset roots this node overrides ({modality: root}, possibly empty)."""
    return {m: str(node_config[f"{m}-root"]) for m in NAMES if node_config.get(f"{m}-root")}


def manifest_of(node_config: Mapping[str, Any]) -> Manifest | None:
    return read_manifest(node_config["data-path"]) if "data-path" in node_config else None


def partition_of(node_config: Mapping[str, Any]) -> tuple[int, int]:
    """(partition id, number of partitions) from the node config, with a clear error."""
    manifest = manifest_of(node_config)
    if manifest is not None:
        return manifest.partition_id, manifest.num_partitions
    try:
        pid, count = int(node_config["partition-id"]), int(node_config["num-partitions"])
    except KeyError as exc:
        raise ValueError(f"node config lacks {exc.args[0]!r}; start the SuperNode with "
                         "--node-config \"data-path='<client manifest>'\" (see fssuavl-partition) "
                         "or --node-config \"partition-id=K num-partitions=N\"") from exc
    if not 0 <= pid < count:
        raise ValueError(f"partition-id {pid} is outside 0..{count - 1}")
    return pid, count


def worker_place() -> str:
    """Where this worker runs, for the log: its Ray node (simulation) or its host name."""
    try:
        import ray

        if ray.is_initialized():
            return f"ray node {ray.get_runtime_context().get_node_id()[:8]}"
    except Exception:  # no Ray, or a Ray that cannot say: the host name will do
        pass
    return f"host {socket.gethostname()}"


def _key(node_config: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in node_config.items()))


class WorkerRuntime:
    """Per-process state of one run, built lazily, once each."""

    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.device = pick_device(cfg.device)
        self.place = worker_place()
        self.faults = parse_faults(cfg.fault_injection)
        self._sources: dict[tuple, dict[str, Source]] = {}
        self._partitions: dict[tuple, list[ClientShard]] = {}
        self._shards: dict[tuple, tuple[int, ClientShard]] = {}
        self._models: dict[tuple, ReusableModel] = {}
        self._pipelines: dict[InputSpec, InputPipeline] = {}

    def sources(self, node_config: Mapping[str, Any]) -> dict[str, Source]:
        """The run's sources, with this node's own dataset roots."""
        roots = node_roots(node_config)
        key = tuple(sorted(roots.items()))
        if key not in self._sources:
            self._sources[key] = open_run_sources(self.cfg, roots)
        return self._sources[key]

    def shard(self, node_config: Mapping[str, Any]) -> tuple[int, ClientShard]:
        """This node's partition id and shard: from its manifest, or from the seeded partition."""
        key = _key(node_config)
        if key not in self._shards:
            self._shards[key] = self._find_shard(node_config)
        return self._shards[key]

    def _find_shard(self, node_config: Mapping[str, Any]) -> tuple[int, ClientShard]:
        sources = self.sources(node_config)
        manifest = manifest_of(node_config)
        if manifest is None:
            pid, count = partition_of(node_config)
            roots = tuple(sorted(node_roots(node_config).items()))
            if (roots, count) not in self._partitions:
                self._partitions[(roots, count)] = partition_for(self.cfg, sources, count)
            return pid, self._partitions[(roots, count)][pid]
        shard = shard_from_manifest(manifest, sources)
        problems = mismatched_settings(manifest, self.cfg)
        for problem in problems:
            log(WARNING, "%s was made with other settings (%s); training on its items anyway",
                manifest.path, problem)
        if not problems:  # the same settings give the same partition: its items must be its own
            expected = partition_for(self.cfg, sources, manifest.num_partitions)
            check_own_items(manifest, shard, expected[manifest.partition_id])
        return manifest.partition_id, shard

    def speed(self, arch: str) -> Speed:
        cfg = self.cfg
        return resolve_speed(cfg.precision, cfg.channels_last, cfg.compile, arch, self.device)

    def model(self, args: ModelArgs) -> ReusableModel:
        """The process's model for `args`: built (and compiled) once, weights loaded per call."""
        speed = self.speed(args.arch)
        if (args, speed) not in self._models:
            self._models[(args, speed)] = reusable_model(args, self.device, speed)
        return self._models[(args, speed)]

    def pipeline(self, spec: InputSpec) -> InputPipeline:
        if spec not in self._pipelines:
            self._pipelines[spec] = InputPipeline(spec, self.device)
        return self._pipelines[spec]


class RuntimeHolder:
    """Keeps the runtime of the run this process currently serves."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._runtime: WorkerRuntime | None = None

    def get(self, context: Context, run_config: tuple[tuple[str, Any], ...]) -> WorkerRuntime:
        """The runtime of this run, built from the effective run config the server sent."""
        key = (context.run_id, run_config)
        if self._runtime is None or self._key != key:
            self._runtime = WorkerRuntime(RunConfig.from_run_config(dict(run_config),
                                                                    expand_preset=False))
            self._key = key
        return self._runtime
