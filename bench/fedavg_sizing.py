"""Learning curve of a run config without Flower: the same clients, views and FedAvg in one process.

    python bench/fedavg_sizing.py --set "num-server-rounds=12 eval-every=3" --seeds 0,1,2

Samples clients as the strategy does (seeded by seed and round), trains each
with the ClientApp's own training step and seeds, averages weights by
num-examples (as FedAvg), and runs the server's kNN monitor every
`eval-every` rounds. It prints kNN top-1 per modality against round 0 and the
training samples processed, so settings can be compared on the learning they
buy per sample before a real `flwr run` confirms the winner. Not bit-identical
to a Flower run (Flower sums the weights in float32 arrays), the same dynamics.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from fssuavl_app.core.inputs import InputPipeline
from fssuavl_app.core.modalities import MODALITIES
from fssuavl_app.core.models import build_model
from fssuavl_app.core.train import client_generator, train_locally
from fssuavl_app.data import load_shard
from fssuavl_app.evaluate.monitor import KnnMonitor
from fssuavl_app.fl.strategy import sample_partitions
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.sources import open_run_sources, partition_for


def parse_overrides(text: str) -> dict:
    from flwr.common.config import parse_config_args

    return parse_config_args([text]) if text.strip() else {}


def top1_text(knn: dict[str, float]) -> str:
    """'image 0.150 audio 0.512' from a monitor report."""
    return " ".join(f"{m.name} {knn[m.knn_metric(1)]:.3f}" for m in MODALITIES)


def learning_curve(cfg: RunConfig, clients: int, full_bank: bool, also_k: tuple[int, ...] = (),
                   server_momentum: float = 0.0) -> dict[str, float]:
    """Train `cfg` as FedAvg in this process, printing each monitor report (and the same
    features scored with each k of `also_k`); returns the last round's kNN top-1 gain over
    round 0 per modality ({"image": ..., "audio": ...}, at the config's knn-k).
    `server_momentum` > 0: FedAvgM on the parameters (velocity = m * velocity + (start -
    average), new = start - velocity), an experiment the app does not offer."""
    sources = open_run_sources(cfg)
    shards = partition_for(cfg, sources, clients)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model_args())
    pipeline = InputPipeline(cfg.input_spec())
    started = time.perf_counter()
    monitor = KnnMonitor(sources, pipeline, cfg.knn_k, cfg.knn_t, cfg.knn_max_samples, cfg.seed)
    capped = cfg.knn_max_samples and any(len(src.labels("train")) > cfg.knn_max_samples
                                         for src in sources.values())
    full = (KnnMonitor(sources, pipeline, cfg.knn_k, cfg.knn_t, 0, cfg.seed)
            if full_bank and capped else None)  # uncapped: the monitor's bank is already whole
    prep = time.perf_counter() - started
    samples, train_seconds, monitor_seconds = 0, 0.0, 0.0
    reports: list[dict[str, float]] = []

    def report(r: int) -> None:
        nonlocal monitor_seconds
        t = time.perf_counter()
        feats = monitor.features(model)
        knn = monitor.score(feats)
        monitor_seconds += time.perf_counter() - t
        reports.append(knn)
        extra = "".join(f"; k={k}: {top1_text(monitor.score(feats, k))}" for k in also_k)
        extra += f" (full bank: {top1_text(full(model))})" if full is not None else ""
        print(f"seed {cfg.seed} round {r:3d}: kNN {top1_text(knn)}{extra}; {samples} samples "
              f"trained, {train_seconds:.0f} s training, {monitor_seconds:.0f} s monitor",
              flush=True)

    params = {name for name, _ in model.named_parameters()}
    velocity: dict[str, torch.Tensor] = {}
    report(0)
    for r in range(1, cfg.num_server_rounds + 1):
        start = {k: v.clone() for k, v in model.state_dict().items()}
        total, weighted = 0, None
        for pid in sample_partitions(range(clients), cfg.fraction_train, cfg.seed, r):
            data, _ = load_shard(sources, shards[pid], cfg.max_clip_seconds)
            model.load_state_dict(start)
            t = time.perf_counter()
            result = train_locally(model, data, pipeline, cfg.train_settings(r),
                                   client_generator(cfg.seed, r, pid))
            train_seconds += time.perf_counter() - t
            n = sum(result.num_examples.values())
            samples += n * cfg.local_epochs
            state = model.state_dict()
            contribution = {k: v.double() * n for k, v in state.items()}
            weighted = contribution if weighted is None else {
                k: weighted[k] + contribution[k] for k in weighted}
            total += n
        averaged = {k: (v / total).to(start[k].dtype) for k, v in weighted.items()}
        if server_momentum:
            for k in params:
                step = start[k] - averaged[k]
                velocity[k] = step if k not in velocity else server_momentum * velocity[k] + step
                averaged[k] = start[k] - velocity[k]
        model.load_state_dict(averaged)
        if r % cfg.eval_every == 0 or r == cfg.num_server_rounds:
            report(r)
    print(f"seed {cfg.seed}: monitor inputs prepared in {prep:.0f} s; {samples} samples in "
          f"{train_seconds:.0f} s = {samples / max(train_seconds, 1e-9):.1f} samples/s "
          f"({torch.get_num_threads()} threads)")
    return {m.name: reports[-1][m.knn_metric(1)] - reports[0][m.knn_metric(1)]
            for m in MODALITIES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="", help="run-config overrides 'k=v ...'")
    parser.add_argument("--seeds", default="",
                        help="comma-separated seeds, each a run (default: the config's seed); "
                             "the gains over round 0 are summarised across them")
    parser.add_argument("--clients", type=int, default=100, help="number of clients (100)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full-bank", action="store_true",
                        help="also score every report on the whole training split as kNN bank")
    parser.add_argument("--also-k", default="",
                        help="comma-separated kNN k values to score each report with as well "
                             "(the same features; the summary uses the config's knn-k)")
    parser.add_argument("--server-momentum", type=float, default=0.0,
                        help="experiment: server momentum on the averaged update of the "
                             "parameters (FedAvgM, server lr 1; BatchNorm buffers averaged as "
                             "FedAvg); 0 = FedAvg (the app's)")
    args = parser.parse_args()
    also_k = tuple(int(k) for k in args.also_k.split(",") if k.strip())
    torch.set_num_threads(args.threads)
    overrides = parse_overrides(args.set)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()] or [None]
    gains = []
    for seed in seeds:
        given = overrides if seed is None else {**overrides, "seed": seed}
        gains.append(learning_curve(RunConfig.from_run_config(given), args.clients,
                                    args.full_bank, also_k, args.server_momentum))
    for m in MODALITIES:
        values = [g[m.name] for g in gains]
        print(f"last-round kNN top-1 gain over round 0, {m.name}: "
              + ", ".join(f"{v:+.3f}" for v in values)
              + (f" (mean {statistics.mean(values):+.3f}, min {min(values):+.3f})"
                 if len(values) > 1 else ""))


if __name__ == "__main__":
    main()
