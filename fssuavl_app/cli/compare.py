"""`fssuavl-compare`: several runs side by side, laid out like the paper's tables.

Runs that differ only by `seed` are grouped: a table gives each method's kNN
monitor at its last round as mean ± std [95% t interval] over the seeds, with
the untrained encoder (round 0 of the same seeds, one row per architecture) as
the baseline; a difference to the first method is marked significant only when
a two-sided paired t-test over seeds gives p < 0.05, and a method not above its
architecture's untrained encoder is flagged.

For each run directory: the method (FSSUAVL, FVSSL, FASSL, Model-Comb, or
the client shares), architecture, loss and rounds, read from its last
checkpoint, and the central kNN monitor's top-1 per modality at that round
(at the run's knn-k, the paper's 200, and in extra columns at its knn-small-k
where the run recorded one).
With evaluation results (`fssuavl-evaluate` writes results.json into
<run>/eval-*/; the newest is used, or pass --eval FILE), also the per-task
tables of `fssuavl-evaluate` with each run's method name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.archs import ARCHS
from ..core.methods import METHODS
from ..core.modalities import MODALITIES
from ..evaluate.report import markdown
from ..evaluate.reproduction import target_table
from ..runs.checkpoint import CheckpointError, list_checkpoints, load_metadata


def method_name(run_config: dict) -> str:
    """FSSUAVL / FVSSL / FASSL / Model-Comb from the clients' modality shares."""
    img, aud = float(run_config.get("frac-image-only", 0)), float(run_config.get("frac-audio-only", 0))
    if img >= 1.0:
        return "FVSSL"
    if aud >= 1.0:
        return "FASSL"
    if abs(img - 0.5) < 1e-9 and abs(aud - 0.5) < 1e-9:
        return "Model-Comb"
    if img == aud == 0:
        return "FSSUAVL"
    both = 1.0 - img - aud
    return f"FSSUAVL {img:.0%} V / {aud:.0%} A / {both:.0%} both"


def _label(registry, name: str | None) -> str | None:
    """The table label of a registered arch or method; the name itself when unknown."""
    return registry[name].label if name in registry else name


def describe_run(run_dir: Path) -> dict:
    if run_dir.is_file():
        raise CheckpointError(f"{run_dir} is a file; give the run directory that holds it "
                              f"({run_dir.parent})")
    found = list_checkpoints(run_dir)
    if not found:
        raise CheckpointError(f"{run_dir}: no checkpoint; is it a run directory?")
    meta = load_metadata(found[-1][1])  # metadata only: no weights are read
    rc, m = meta["run_config"], meta["metrics"]
    return {"run": run_dir.name, "method": method_name(rc),
            "arch": _label(ARCHS, rc.get("arch")),
            "loss": _label(METHODS, rc.get("loss", "simclr")),
            "round": meta["round"], "local-epochs": rc.get("local-epochs"),
            "image": m.get("knn-image-top1"), "audio": m.get("knn-audio-top1"),
            "small": small_k_scores(rc, m)}


def small_k_scores(run_config: dict, metrics: dict) -> dict[str, float]:
    """{"image k=20": top1, ...}: the monitor's second score at `knn-small-k`, where the
    run recorded one (runs before that key, or with it 0, have none)."""
    small_k = int(run_config.get("knn-small-k", 0) or 0)
    out = {}
    for m in MODALITIES:
        if small_k and (v := metrics.get(m.knn_metric_at(small_k))) is not None:
            out[f"{m.name} k={small_k}"] = v
    return out


# keys that do not make two runs different methods: the seed is what we average over
NOT_THE_METHOD = ("seed", "run-name", "output-dir", "resume", "cache-dir", "device",
                  "image-root", "audio-root", "data-cache", "compile", "precision",
                  "channels-last", "round-timeout", "fault-injection", "partition-summary",
                  "knn-small-k")  # a second score of the same features; training is the same


def group_by_seed(run_dirs: list[Path]) -> tuple[dict[str, dict[int, Path]], dict[str, str]]:
    """({method label: {seed: run dir}} for runs that differ only by seed (and where they
    ran), {method label: its architecture's label})."""
    groups: dict[tuple, dict[int, Path]] = {}
    labels: dict[tuple, tuple[str, str]] = {}
    for run_dir in run_dirs:
        meta = load_metadata(list_checkpoints(run_dir)[-1][1])
        rc = meta["run_config"]
        key = tuple(sorted((k, str(v)) for k, v in rc.items() if k not in NOT_THE_METHOD))
        groups.setdefault(key, {})[int(rc.get("seed", 0))] = run_dir
        arch = str(_label(ARCHS, rc.get("arch")))
        labels.setdefault(key, (f"{method_name(rc)} ({_label(METHODS, rc.get('loss', 'simclr'))}"
                                f", {arch})", arch))
    out, arch_of, seen = {}, {}, {}
    for key, members in groups.items():
        label, arch = labels[key]
        seen[label] = seen.get(label, 0) + 1
        label = label if seen[label] == 1 else f"{label} #{seen[label]}"
        out[label], arch_of[label] = members, arch
    return out, arch_of


def monitor_by_seed(groups: dict[str, dict[int, Path]], arch_of: dict[str, str]
                    ) -> tuple[dict, dict]:
    """The kNN monitor at each run's last round and at round 0 (the untrained encoder), by
    seed, in `evaluate.reproduction` form: ({label: {column: {seed: top1}}},
    {architecture label: {column: {seed: top1}}}): each architecture's untrained encoder is
    its own baseline (a seed's round 0 of R-18 says nothing about R-18/2's)."""
    trained: dict = {}
    untrained: dict = {}
    for label, members in groups.items():
        for seed, run_dir in members.items():
            found = list_checkpoints(run_dir)
            first, last = (load_metadata(found[i][1])["metrics"] for i in (0, -1))
            for m in MODALITIES:
                col = ("knn", "monitor", m.letter)
                if (v := last.get(m.knn_metric(1))) is not None:
                    trained.setdefault(label, {}).setdefault(col, {})[seed] = v
                if found[0][0] == 0 and (v := first.get(m.knn_metric(1))) is not None:
                    untrained.setdefault(arch_of[label], {}).setdefault(col, {})[seed] = v
    return trained, untrained


def monitor_table(rows: list[dict]) -> str:
    """The paper's k (the Avg. is over these) and, after it, any small-k columns the runs hold."""
    extra = list(dict.fromkeys(name for r in rows for name in r.get("small", {})))
    head = ("| Method | Arch. | Loss | Run | Round | kNN image top-1 | kNN audio top-1 | Avg. |"
            + "".join(f" kNN {name} |" for name in extra))
    lines = [head, "|" + " --- |" * (8 + len(extra))]
    cell = lambda v: "" if v is None else f"{100 * v:.2f}"
    for r in rows:
        vals = [v for v in (r["image"], r["audio"]) if v is not None]
        avg = f"{100 * sum(vals) / len(vals):.2f}" if vals else ""
        small = "".join(f" {cell(r.get('small', {}).get(name))} |" for name in extra)
        lines.append(f"| {r['method']} | {r['arch']} | {r['loss']} | {r['run']} | {r['round']} | "
                     f"{cell(r['image'])} | {cell(r['audio'])} | {avg} |{small}")
    return "\n".join(lines)


def newest_eval(run_dir: Path) -> Path | None:
    found = sorted(run_dir.glob("eval-*/results.json"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


class CompareError(ValueError):
    """An --eval file that is missing or not an fssuavl-evaluate results.json."""


def relabelled_results(eval_json: Path, method: str, arch: str) -> list[dict]:
    """The results of an `fssuavl-evaluate` results.json, under this run's method name."""
    try:
        results = json.loads(eval_json.read_text())["results"]
        return [{**r, "method": method, "arch": arch} for r in results]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompareError(f"--eval {eval_json}: not readable JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise CompareError(f"--eval {eval_json}: not a results.json of fssuavl-evaluate "
                           "(no list of results)") from exc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fssuavl-compare", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--eval", nargs="*", default=None, metavar="RESULTS_JSON",
                   help="evaluation results, one per run in the same order (default: the newest "
                        "<run>/eval-*/results.json of each run, when there is one)")
    p.add_argument("--out", help="also write the tables to this Markdown file")
    args = p.parse_args(argv)
    if args.eval is not None and len(args.eval) != len(args.runs):
        p.error(f"--eval got {len(args.eval)} files for {len(args.runs)} runs")
    if args.out and not Path(args.out).resolve().parent.is_dir():
        p.error(f"--out {args.out}: the folder {Path(args.out).resolve().parent} does not exist")
    if args.out and Path(args.out).is_dir():  # was: an IsADirectoryError after the tables
        p.error(f"--out {args.out} is a folder; give the Markdown file to write, "
                f"e.g. {Path(args.out) / 'compare.md'}")
    try:
        rows = [describe_run(Path(r)) for r in args.runs]
        results = []
        for i, (run, row) in enumerate(zip(args.runs, rows, strict=True)):
            eval_json = Path(args.eval[i]) if args.eval else newest_eval(Path(run))
            if eval_json is not None:
                label = f"{row['method']} ({row['loss']}, {row['run']})"
                results += relabelled_results(eval_json, label, row["arch"])
    except (CheckpointError, CompareError) as exc:
        print(f"fssuavl-compare: error: {exc}", file=sys.stderr)
        return 2
    parts = ["### Central kNN monitor at each run's last round (top-1 %)", "", monitor_table(rows), ""]
    if results:
        parts += [markdown(results)]
    groups, arch_of = group_by_seed([Path(r) for r in args.runs])
    if any(len(members) > 1 for members in groups.values()):
        trained, untrained = monitor_by_seed(groups, arch_of)
        labels = list(groups)
        parts += target_table("kNN monitor over seeds", labels,
                              {label: labels[0] for label in labels[1:]}, trained,
                              untrained, arch_of=arch_of.__getitem__)
    text = "\n".join(parts)
    print(text)
    if args.out:
        try:
            Path(args.out).write_text(text + "\n")
        except OSError as exc:
            print(f"fssuavl-compare: error: --out {args.out}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
