"""ServerApp body: FedAvg over sampled clients; checkpoint, metrics and kNN monitor each round.

The run config is read once, here. Each round's train messages carry the
settings clients train with (`messages.RoundSettings`), built from it and,
when resuming, from the checkpoint's audio front-end.
"""

from __future__ import annotations

import time
from logging import ERROR, INFO, WARNING
from pathlib import Path
from typing import Mapping

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid

from ..core.background import InBackground
from ..core.devices import pick_device
from ..core.inputs import InputPipeline, InputSpec
from ..core.modalities import MODALITIES
from ..core.models import SSLModel, build_model
from ..data import ClientShard, DatasetLayoutError, PartitionError, summarize
from ..evaluate.monitor import KnnMonitor
from ..runs.checkpoint import Checkpoint, CheckpointError, save_checkpoint
from ..runs.clock import RunClock
from ..runs.config import ConfigError, RunConfig, resumed_config
from ..runs.manifest import ManifestError, read_summary
from ..runs.rundir import (MetricsLog, RunDirError, make_run_dir, read_metrics,
                           resolve_run_dir)
from ..runs.sources import index_note_lines, open_run_sources, partition_for
from .faults import checked
from .messages import RoundSettings
from .strategy import FssuavlFedAvg, RunFailedError, discover_partitions


def initial_model(cfg: RunConfig, resumed: Checkpoint | None) -> SSLModel:
    if resumed is not None:
        return resumed.build_model()
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model_args())


def round_settings(cfg: RunConfig, inputs: InputSpec, global_round: int) -> RoundSettings:
    """What every client of `global_round` trains with (and the run config it opens the data
    and finds its shard with)."""
    return RoundSettings(global_round=global_round, seed=cfg.seed, model=cfg.model_args(),
                         train=cfg.train_settings(global_round), inputs=inputs,
                         run_config=tuple(sorted(cfg.to_run_config().items())))


class RoundRecorder:
    """FedAvg's `evaluate_fn`: after round r (and for the initial weights, r=0) save a
    checkpoint, append metrics, run the kNN monitor when due, and log progress."""

    def __init__(self, cfg: RunConfig, run_dir: Path, model: SSLModel, monitor: KnnMonitor,
                 strategy: FssuavlFedAvg, metrics_log: MetricsLog, resumed: bool):
        self.cfg, self.run_dir, self.model, self.monitor = cfg, run_dir, model, monitor
        self.strategy, self.metrics_log, self.resumed = strategy, metrics_log, resumed
        self.clock = RunClock(cfg.num_server_rounds, strategy.global_round(0), self.knn_due)
        self.round_started = time.perf_counter()

    def knn_due(self, global_round: int) -> bool:
        return (global_round == 0 or global_round % self.cfg.eval_every == 0
                or global_round == self.cfg.num_server_rounds)

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        global_round = self.strategy.global_round(server_round)
        if server_round == 0 and self.resumed:
            return None  # the resumed checkpoint already recorded this round
        round_seconds = time.perf_counter() - self.round_started
        self.model.load_state_dict(arrays.to_torch_state_dict())
        record: dict = {"round": global_round, "time": time.time(),
                        "round-seconds": round_seconds if server_round else 0.0}
        record.update(self.strategy.train_metrics.get(global_round, {}))
        if global_round in self.strategy.sampled:
            record["clients-trained"] = self.strategy.sampled[global_round]
        if self.knn_due(global_round):
            started = time.perf_counter()
            record.update(self.monitor(self.model))
            record["knn-seconds"] = time.perf_counter() - started
        save_checkpoint(self.run_dir, global_round, self.model.state_dict(), self.model.args,
                        self.monitor.pipeline.spec.audio, self.cfg.to_run_config(), record)
        self.metrics_log.write(record)
        self.clock.record(global_round, time.perf_counter() - self.round_started,
                          record.get("knn-seconds"))
        log(INFO, "%s | %s", progress_line(record, self.cfg.num_server_rounds),
            self.clock.line(global_round))
        self.round_started = time.perf_counter()
        return MetricRecord({k: v for k, v in record.items() if k.startswith("knn-")})


def progress_line(record: dict, total_rounds: int) -> str:
    parts = [f"[round {record['round']}/{total_rounds}]"]
    if all(m.metric("loss") in record for m in MODALITIES):
        counts = " + ".join(f"{record[m.metric('num')]} {m.short}" for m in MODALITIES)
        losses = " ".join(f"{m.short} {record[m.metric('loss')]:.3f}" for m in MODALITIES)
        parts.append(f"{record['clients']} clients, {counts}, loss {losses}, "
                     f"{record['round-seconds']:.1f} s")
    if record.get("num-failed") or record.get("num-rejected"):
        parts.append(f"({record['num-failed']} failed, {record['num-rejected']} rejected"
                     + (", model kept" if not record.get("aggregated", 1) else "") + ")")
    knn = [f"{k[4:]} {v:.3f}" for k, v in record.items() if k.startswith("knn-") and "top" in k]
    if knn:
        parts.append("kNN " + ", ".join(knn))
    return " ".join(parts)


def final_report(run_dir: Path, small_k: int = 0) -> str:
    """Where the run is, and kNN top-1 per modality at round 0 and at the last round (and at
    `small_k` neighbours where both rounds recorded it)."""
    first_key = MODALITIES[0].knn_metric(1)
    rows = [r for r in read_metrics(run_dir) if first_key in r]
    lines = [f"Run directory: {run_dir}"]
    if rows:
        first, last = rows[0], rows[-1]
        for m in MODALITIES:
            key = m.knn_metric(1)
            line = (f"kNN top-1 {m.name}: round {first['round']} = {first[key]:.4f}, "
                    f"round {last['round']} = {last[key]:.4f}")
            at_small = m.knn_metric_at(small_k)
            if small_k and at_small in first and at_small in last:
                line += f" (k={small_k}: {first[at_small]:.4f} -> {last[at_small]:.4f})"
            lines.append(line)
    return "\n".join(lines)


def resolve_config(given: Mapping) -> tuple[RunConfig, Path, Checkpoint | None]:
    """The run's effective config, its directory and, when resuming, its last checkpoint.

    A resumed run keeps its stored settings; keys set now that may change are
    applied and logged, others are refused (`runs.config.resumed_config`).
    """
    cfg = checked(RunConfig.from_run_config(given))
    run_dir, resumed = resolve_run_dir(cfg)
    if resumed is not None:
        cfg, changes = resumed_config(given, resumed.run_config)
        for change in changes:
            log(INFO, "resume: %s", change)
    return checked(cfg), run_dir, resumed


def check_round_size(cfg: RunConfig, num_nodes: int) -> None:
    """Refuse settings no round can meet (min-train-replies above the clients per round)."""
    per_round = max(1, int(num_nodes * cfg.fraction_train + 1e-9))
    if cfg.min_train_replies > per_round:
        raise ConfigError(f"min-train-replies={cfg.min_train_replies} but each round trains "
                          f"{per_round} of the {num_nodes} clients (fraction-train="
                          f"{cfg.fraction_train}): no round could be aggregated")


def holdings_of(cfg: RunConfig, shards: list[ClientShard], num_partitions: int
                ) -> dict[int, dict[str, int]]:
    """What each client holds per modality, as the server knows it: from the fssuavl-partition
    summary named by `partition-summary`, else from the partition of this run config."""
    if not cfg.partition_summary:
        return {k: {m.name: len(s.indices(m.name)) if s.uses(m.name) else 0 for m in MODALITIES}
                for k, s in enumerate(shards)}
    summary = read_summary(cfg.partition_summary)
    if summary["num-clients"] != num_partitions:
        raise ConfigError(f"partition-summary {cfg.partition_summary} lists "
                          f"{summary['num-clients']} clients, the nodes report {num_partitions}")
    return {c["partition-id"]: {m.name: int(c.get(m.metric("num"), 0)) for m in MODALITIES}
            for c in summary["clients"]}


# what a user can fix: a run-config value, a data root or layout, a run directory to resume
USER_ERRORS = (ConfigError, DatasetLayoutError, PartitionError, RunDirError, CheckpointError,
               ManifestError, RunFailedError)


def run_server(grid: Grid, context: Context) -> None:
    """`serve`, with a user's error also logged as one line before Flower's traceback."""
    try:
        serve(grid, context)
    except USER_ERRORS as exc:
        log(ERROR, "The run stopped: %s", exc)
        raise


def serve(grid: Grid, context: Context) -> None:
    cfg, run_dir, resumed = resolve_config(context.run_config)
    start_round = resumed.round if resumed else 0
    log(INFO, "Run directory: %s%s", run_dir,
        f" (resuming after round {start_round})" if resumed else "")
    if start_round >= cfg.num_server_rounds:
        log(INFO, "Nothing to do: %d of %d rounds done.\n%s", start_round,
            cfg.num_server_rounds, final_report(run_dir, cfg.knn_small_k))
        return

    sources = open_run_sources(cfg)  # a missing root or wrong layout stops the run here
    for src in sources.values():
        log(INFO, "%s: %d train / %d test items, %d classes", src.name,
            len(src.labels("train")), len(src.labels("test")), len(src.classes))
    for line in index_note_lines(sources):
        log(WARNING, "%s", line)
    device = pick_device(cfg.device)
    model = initial_model(cfg, resumed).to(device)
    inputs = resumed.input_spec if resumed else cfg.input_spec()
    pipeline = InputPipeline(inputs, device)
    # Decoding the monitor's inputs takes seconds (about 8 s of a 2-core CPU for the default
    # run); it needs no node, so it overlaps the wait for the simulation to start its nodes.
    log(INFO, "Preparing the kNN monitor inputs on %s (while the nodes start) ...", device)
    pending_monitor = InBackground(lambda: KnnMonitor(
        sources, pipeline, cfg.knn_k, cfg.knn_t, cfg.knn_max_samples, cfg.seed,
        cfg.max_clip_seconds, cfg.knn_small_k), name="knn-monitor-inputs")
    partitions, num_partitions = discover_partitions(grid)
    check_round_size(cfg, len(partitions))
    shards = partition_for(cfg, sources, num_partitions)
    log(INFO, "%s", summarize(shards, {m: s.labels("train") for m, s in sources.items()},
                              cfg.dirichlet_alpha))
    monitor = pending_monitor.result()
    log(INFO, "kNN monitor ready: %s", monitor.describe())

    strategy = FssuavlFedAvg(
        partitions=partitions, seed=cfg.seed, round_offset=start_round,
        fraction_train=cfg.fraction_train, min_train_replies=cfg.min_train_replies,
        max_skipped_rounds=cfg.max_skipped_rounds, aggregation=cfg.aggregation,
        trim_beta=cfg.trim_beta, byzantine_clients=cfg.byzantine_clients,
        holdings=holdings_of(cfg, shards, num_partitions), max_examples=cfg.max_client_examples,
        round_config=lambda r: round_settings(cfg, inputs, r).to_record())
    make_run_dir(run_dir)  # only now: a run refused at start leaves nothing
    metrics_log = MetricsLog(run_dir, resume_after=start_round if resumed else None)
    recorder = RoundRecorder(cfg, run_dir, model, monitor, strategy, metrics_log, bool(resumed))
    try:
        strategy.start(grid=grid, initial_arrays=ArrayRecord(model.state_dict()),
                       num_rounds=cfg.num_server_rounds - start_round,
                       train_config=ConfigRecord({}), evaluate_fn=recorder,
                       timeout=cfg.round_timeout)
    finally:
        metrics_log.close()
    log(INFO, "%s", final_report(run_dir, cfg.knn_small_k))
    if strategy.rounds_aggregated == 0:
        raise RunFailedError(f"none of the {cfg.num_server_rounds - start_round} rounds "
                             "aggregated an update (every client failed or was rejected; see "
                             "the warnings above): the model was never trained")
