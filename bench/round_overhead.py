"""Flower simulation overhead: each round's wall time vs the clients' own training time.

Reads `metrics.jsonl` of a run directory written by `flwr run .` and prints,
per round and in total, the round's wall time (configure + train + aggregate,
without the kNN monitor and checkpoint), the sum and the maximum of the
clients' own training seconds, and the ratios. With clients that run one
after another (one GPU, `client-resources-num-gpus=1`) wall / sum near 1.0
means Flower adds little; with clients in parallel compare wall / max.

    flwr run . --stream --run-config conf/quick/fssuavl-r18-simclr.toml \\
      --federation-config "num-supernodes=100 client-resources-num-cpus=1"
    python bench/round_overhead.py runs/<that run>
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fssuavl_app.core.speed import peak_memory_line
from fssuavl_app.runs.rundir import read_metrics


def overhead_rows(run_dir: Path) -> list[dict]:
    """Per trained round: round, clients, wall, client sum, client max (seconds)."""
    return [{"round": m["round"], "clients": m.get("clients", 0), "wall": m["round-seconds"],
             "sum": m["client-seconds-sum"], "max": m["client-seconds-max"],
             "peak-mem-mb": m.get("peak-mem-mb-max", 0.0)}
            for m in read_metrics(run_dir) if m["round"] > 0 and "client-seconds-sum" in m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--skip-first", type=int, default=1,
                        help="rounds left out of the totals (start-up, compile); default 1")
    args = parser.parse_args()
    rows = overhead_rows(args.run_dir)
    if not rows:
        raise SystemExit(f"{args.run_dir}: no trained rounds in metrics.jsonl")
    print(f"{'round':>5} {'clients':>7} {'wall s':>8} {'sum s':>8} {'max s':>8} "
          f"{'wall/sum':>8} {'wall/max':>8} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['round']:5d} {r['clients']:7d} {r['wall']:8.2f} {r['sum']:8.2f} {r['max']:8.2f} "
              f"{r['wall'] / r['sum']:8.3f} {r['wall'] / r['max']:8.3f} {r['peak-mem-mb']:9.1f}")
    kept = rows[args.skip_first:] or rows
    wall, total, longest = (sum(r[k] for r in kept) for k in ("wall", "sum", "max"))
    print(f"total over rounds {kept[0]['round']}..{kept[-1]['round']}: wall {wall:.1f} s, "
          f"clients' sum {total:.1f} s, max {longest:.1f} s; wall/sum {wall / total:.3f}, "
          f"wall/max {wall / longest:.3f}; " + peak_memory_line(max(r["peak-mem-mb"] for r in rows)))


if __name__ == "__main__":
    main()
