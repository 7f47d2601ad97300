"""ServerApp body: FedAvg over sampled clients; checkpoint, metrics and kNN monitor each round.

The run config is read once, here. Each round's train messages carry the
settings clients train with (`messages.RoundSettings`), built from it and,
when resuming, from the checkpoint's audio front-end.
"""

from __future__ import annotations

import time
from logging import INFO, WARNING
from pathlib import Path

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid

from ..core.devices import pick_device
from ..core.inputs import InputPipeline, InputSpec
from ..core.modalities import MODALITIES
from ..core.models import SSLModel, build_model
from ..data import summarize
from ..evaluate.monitor import KnnMonitor
from ..runs.checkpoint import Checkpoint, save_checkpoint
from ..runs.clock import RunClock
from ..runs.config import ConfigError, RunConfig
from ..runs.rundir import MetricsLog, read_metrics, resolve_run_dir
from ..runs.sources import open_run_sources, partition_for
from .faults import parse_faults
from .messages import RoundSettings
from .strategy import FssuavlFedAvg, discover_partitions


def initial_model(cfg: RunConfig, resumed: Checkpoint | None) -> SSLModel:
    if resumed is not None:
        return resumed.build_model()
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model_args())


def round_settings(cfg: RunConfig, inputs: InputSpec, global_round: int) -> RoundSettings:
    """What every client of `global_round` trains with."""
    return RoundSettings(global_round=global_round, seed=cfg.seed, model=cfg.model_args(),
                         train=cfg.train_settings(global_round), inputs=inputs)


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


def final_report(run_dir: Path) -> str:
    """Where the run is, and kNN top-1 per modality at round 0 and at the last round."""
    first_key = MODALITIES[0].knn_metric(1)
    rows = [r for r in read_metrics(run_dir) if first_key in r]
    lines = [f"Run directory: {run_dir}"]
    if rows:
        first, last = rows[0], rows[-1]
        for m in MODALITIES:
            key = m.knn_metric(1)
            lines.append(f"kNN top-1 {m.name}: round {first['round']} = {first[key]:.4f}, "
                         f"round {last['round']} = {last[key]:.4f}")
    return "\n".join(lines)


def run_server(grid: Grid, context: Context) -> None:
    cfg = RunConfig.from_run_config(context.run_config)
    try:
        parse_faults(cfg.fault_injection)
    except ValueError as exc:
        raise ConfigError(f"run-config key 'fault-injection': {exc}") from exc
    run_dir, resumed = resolve_run_dir(cfg)
    start_round = resumed.round if resumed else 0
    log(INFO, "Run directory: %s%s", run_dir,
        f" (resuming after round {start_round})" if resumed else "")
    if start_round >= cfg.num_server_rounds:
        log(INFO, "Nothing to do: %d of %d rounds done.\n%s", start_round,
            cfg.num_server_rounds, final_report(run_dir))
        return

    sources = open_run_sources(cfg)  # a missing root or wrong layout stops the run here
    for src in sources.values():
        log(INFO, "%s: %d train / %d test items, %d classes", src.name,
            len(src.labels("train")), len(src.labels("test")), len(src.classes))
        for note in src.index_notes:
            log(WARNING, "%s: %s", src.name, note)
    partitions = discover_partitions(grid)
    shards = partition_for(cfg, sources, len(partitions))
    log(INFO, "%s", summarize(shards, {m: s.labels("train") for m, s in sources.items()},
                              cfg.dirichlet_alpha))

    device = pick_device(cfg.device)
    model = initial_model(cfg, resumed).to(device)
    inputs = resumed.input_spec if resumed else cfg.input_spec()
    pipeline = InputPipeline(inputs, device)
    log(INFO, "Preparing the kNN monitor inputs on %s ...", device)
    monitor = KnnMonitor(sources, pipeline, cfg.knn_k, cfg.knn_t, cfg.knn_max_samples, cfg.seed)

    strategy = FssuavlFedAvg(
        partitions=partitions, seed=cfg.seed, round_offset=start_round,
        fraction_train=cfg.fraction_train, min_train_replies=cfg.min_train_replies,
        round_config=lambda r: round_settings(cfg, inputs, r).to_record())
    metrics_log = MetricsLog(run_dir, resume_after=start_round if resumed else None)
    recorder = RoundRecorder(cfg, run_dir, model, monitor, strategy, metrics_log, bool(resumed))
    try:
        strategy.start(grid=grid, initial_arrays=ArrayRecord(model.state_dict()),
                       num_rounds=cfg.num_server_rounds - start_round,
                       train_config=ConfigRecord({}), evaluate_fn=recorder,
                       timeout=cfg.round_timeout)
    finally:
        metrics_log.close()
    log(INFO, "%s", final_report(run_dir))
