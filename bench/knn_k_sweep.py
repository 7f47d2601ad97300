"""The kNN monitor's score of a run's checkpoints at several k, and how spread the features are.

    python bench/knn_k_sweep.py runs/<timestamp> --rounds 0,10 --ks 5,10,20,50,100,200

For each checkpoint round it extracts the monitor's features once (the run's
own bank and queries: its knn-max-samples subset, or `--full-bank`) and
prints kNN top-1 per modality at every k, then, per modality, the mean cosine
similarity of queries to the bank and the share of the k-NN vote weight
(exp(sim / t)) that the 10 nearest items carry (10 / k if the weights were
uniform). An untrained encoder's features point almost the same way, so at
large k its vote is nearly uniform and its score near chance: a gain measured
at k=200 alone can come from features spreading out rather than from better
neighbours, which the small-k rows show. `--bn-per-modality` also scores
each checkpoint with its BatchNorm running statistics re-estimated on each
modality's bank (the global model's are an average over both modalities; a
diagnostic only, training and the monitor are unchanged).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from fssuavl_app.core.inputs import InputPipeline
from fssuavl_app.evaluate.features import extract_features, with_bn_stats_from
from fssuavl_app.evaluate.monitor import KnnMonitor
from fssuavl_app.runs.checkpoint import CheckpointError, checkpoint_paths, load_checkpoint
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.sources import open_run_sources


def spread(queries: torch.Tensor, bank: torch.Tensor, k: int, t: float) -> tuple[float, float]:
    """(mean cosine of queries (Q, D) to bank (N, D), mean share of the k-NN vote weight held
    by the 10 nearest)."""
    sim = F.normalize(queries.float(), dim=1) @ F.normalize(bank.float(), dim=1).T
    weights = (sim.topk(min(k, sim.shape[1]), dim=1).values / t).exp()
    share = weights[:, :10].sum(1) / weights.sum(1)
    return sim.mean().item(), share.mean().item()


def features_with_bn_per_modality(model, monitor: KnnMonitor) -> dict:
    """`monitor.features(model)`, each modality's with that modality's BatchNorm statistics."""
    out = {}
    for m in monitor.sources:
        own = with_bn_stats_from(model, monitor.pipeline, m, monitor.inputs[(m, "train")])
        out.update({(m, split): extract_features(own, monitor.pipeline, m,
                                                 monitor.inputs[(m, split)])
                    for split in ("train", "test")})
    return out


def score_line(m: str, k: int, rounds: list[int], scores: dict, tag: str = "") -> str:
    """'image k=20   round 0 0.220  round 10 0.196  (last - first -0.024)' from
    scores[(round, k)], a monitor report per round and k."""
    values = [scores[(r, k)][f"knn-{m}-top1"] for r in rounds]
    text = f"{m} k={k:<4d} " + "  ".join(f"round {r} {v:.3f}" for r, v in zip(rounds, values))
    if len(values) > 1:
        text += f"  (last - first {values[-1] - values[0]:+.3f})"
    return text + tag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rounds", default="0", help="comma-separated checkpoint rounds (0)")
    parser.add_argument("--ks", default="5,10,20,50,100,200", help="kNN k values")
    parser.add_argument("--full-bank", action="store_true",
                        help="every train / test item instead of the run's knn-max-samples")
    parser.add_argument("--bn-per-modality", action="store_true",
                        help="also score with BatchNorm statistics re-estimated per modality")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ks = [int(k) for k in args.ks.split(",") if k.strip()]
    try:
        checkpoints = {r: load_checkpoint(checkpoint_paths(args.run_dir, r)[1])
                       for r in (int(r) for r in args.rounds.split(",") if r.strip())}
    except (CheckpointError, OSError, ValueError) as exc:
        sys.exit(f"knn_k_sweep: {exc}")
    first = next(iter(checkpoints.values()))
    cfg = RunConfig.from_run_config(first.run_config, expand_preset=False)
    sources = open_run_sources(cfg)
    monitor = KnnMonitor(sources, InputPipeline(first.input_spec), cfg.knn_k, cfg.knn_t,
                         0 if args.full_bank else cfg.knn_max_samples, cfg.seed,
                         cfg.max_clip_seconds)
    print(f"{args.run_dir}: kNN monitor {monitor.describe()}, t={cfg.knn_t}")
    models = {r: ck.build_model().eval() for r, ck in checkpoints.items()}
    feats = {r: monitor.features(model) for r, model in models.items()}
    rounds = list(checkpoints)
    scores = {(r, k): monitor.score(feats[r], k) for r in rounds for k in ks}
    recalibrated = {}
    if args.bn_per_modality:
        own_bn = {r: features_with_bn_per_modality(model, monitor) for r, model in models.items()}
        recalibrated = {(r, k): monitor.score(own_bn[r], k) for r in rounds for k in ks}
    for m in sources:
        for k in ks:
            print(score_line(m, k, rounds, scores))
            if recalibrated:
                print(score_line(m, k, rounds, recalibrated, "  [BN statistics per modality]"))
        for r in rounds:
            cosine, share = spread(feats[r][(m, "test")], feats[r][(m, "train")], max(ks),
                                   cfg.knn_t)
            print(f"{m} round {r}: mean cosine {cosine:.3f}; top-10 share of the k={max(ks)} "
                  f"vote {share:.3f} (uniform: {10 / max(ks):.3f})")


if __name__ == "__main__":
    main()
