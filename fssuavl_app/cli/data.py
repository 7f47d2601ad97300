"""`fssuavl-data`: list the supported datasets, and check one as the app would read it.

`fssuavl-data check DATASET ROOT` indexes the dataset, decodes every item
(or `--limit` per split) exactly as training does, and prints counts per
split and class, audio durations and native sample rates, image sizes,
every bad file with its reason, and, for a dataset whose official release has
a fixed size, whether this copy holds the same counts. Exit code 0 when the dataset is readable,
1 when some split has no usable item (or, with --strict, any bad item),
2 when the root or its layout is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..core.modalities import modality
from .args import at_least
from ..core.progress import Progress
from ..data import (RELEASES, SPLITS, BadItem, DatasetLayoutError, dataset_infos, open_dataset,
                    published_note, release_summary)


def _inspect(source, split: str, index: int) -> dict:
    """Decode one item: its figures (size, seconds) and native rate, or its problem."""
    try:
        item = source.load(split, index)
    except BadItem as exc:
        return {"bad": str(exc)}
    return {"stats": modality(source.modality).describe(item),
            "rate": source.native_rate(split, index)}


def check_split(source, split: str, limit: int, workers: int) -> dict:
    """Counts per class and decode results of one split (the first `limit` items if > 0)."""
    labels = source.labels(split)
    indices = range(len(labels) if limit <= 0 else min(limit, len(labels)))
    progress, results = Progress(f"{source.name}/{split}", len(indices)), []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for n, res in enumerate(pool.map(lambda i: _inspect(source, split, i), indices), 1):
            results.append(res)
            progress.update(n)
    bad = [{"id": source.item_id(split, i), "reason": r["bad"]}
           for i, r in zip(indices, results) if "bad" in r]
    counts = np.bincount(labels, minlength=len(source.classes))
    good = [r for r in results if "bad" not in r]
    out = {"items": int(len(labels)), "checked": len(indices),
           "decoded": len(indices) - len(bad), "bad": bad,
           "per-class": {c: int(n) for c, n in zip(source.classes, counts)},
           **modality(source.modality).summarize([r["stats"] for r in good])}
    rates = Counter(r["rate"] for r in good if r["rate"] is not None)
    if rates:
        out["native-rates"] = {str(k): v for k, v in rates.items()}
    return out


def check_dataset(name: str, root: str, limit: int = 0, workers: int = 4) -> dict:
    """The full report of one dataset (raises DatasetLayoutError for a wrong root/layout)."""
    source = open_dataset(name, root)
    report = {"dataset": name, "root": str(Path(root).resolve()), "modality": source.modality,
              "classes": list(source.classes), "index-notes": list(source.index_notes),
              "splits": {s: check_split(source, s, limit, workers) for s in SPLITS}}
    if (release := RELEASES.get(name)) is not None:
        differs = published_note(source)
        report["release"] = {"summary": release_summary(release), "matches": differs is None,
                             **({"difference": differs} if differs else {})}
    report["readable"] = all(r["decoded"] > 0 for r in report["splits"].values())
    return report


def format_report(r: dict) -> str:
    """The report as a human-readable page."""
    lines = [f"{r['dataset']} at {r['root']}: {r['modality']}, {len(r['classes'])} classes"]
    lines.append(f"  {'split':6s} {'items':>8s} {'checked':>8s} {'decoded':>8s} {'bad':>6s}")
    for split, s in r["splits"].items():
        lines.append(f"  {split:6s} {s['items']:8d} {s['checked']:8d} {s['decoded']:8d} "
                     f"{len(s['bad']):6d}")
    lines.append("  items per class (train / test):")
    train, test = r["splits"]["train"]["per-class"], r["splits"]["test"]["per-class"]
    for c in r["classes"]:
        lines.append(f"    {c[:32]:32s} {train[c]:7d} / {test[c]:d}")
    for split, s in r["splits"].items():
        described = modality(r["modality"]).summary_lines(split, s)
        if described and s.get("native-rates"):
            rates = ", ".join(f"{k} Hz ({v})" for k, v in s["native-rates"].items())
            described[-1] += f"; native rates: {rates}"
        lines += described
    for note in r["index-notes"]:
        lines.append(f"  index note: {note}")
    if release := r.get("release"):
        lines.append(f"  official release: {release['summary']}; " + (
            "this copy matches" if release["matches"] else f"DIFFERS: {release['difference']}"))
    bad = [(split, b) for split, s in r["splits"].items() for b in s["bad"]]
    lines.append(f"  bad files: {len(bad) or 'none'}")
    lines.extend(f"    [{split}] {b['id']}: {b['reason']}" for split, b in bad)
    lines.append("  readable: yes" if r["readable"] else
                 "  readable: NO (a split has no item that decodes)")
    if r.get("strict") and not r.get("passed"):
        lines.append("  --strict: FAILED (bad files above)" if r["readable"] else
                     "  --strict: FAILED")
    return "\n".join(lines)


def format_list() -> str:
    lines = ["Datasets (run-config <modality>-dataset) and what ROOT must hold:"]
    lines += [f"  {i.name} ({i.modality}): {i.layout}" for i in dataset_infos()]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fssuavl-data", description=__doc__.split("\n\n")[0],
                                     epilog=format_list(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the supported datasets and the layout each expects")
    check = sub.add_parser("check", help="scan a dataset as the app would read it",
                           description=__doc__.split("\n\n")[1])
    on_disk = sorted(i.name for i in dataset_infos() if i.needs_root)
    check.add_argument("dataset", choices=on_disk, metavar="DATASET",
                       help="dataset name (see `fssuavl-data list`)")
    check.add_argument("root", help="folder holding the dataset in its published layout")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--limit", type=at_least(0), default=0,
                       help="decode at most N items per split (0 = all; counts cover all)")
    check.add_argument("--workers", type=at_least(1), default=4, help="decoding threads (default 4)")
    check.add_argument("--strict", action="store_true", help="exit 1 if any file is bad")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "list":
        print(format_list())
        return 0
    try:
        report = check_dataset(args.dataset, args.root, args.limit, args.workers)
    except DatasetLayoutError as exc:
        print(f"fssuavl-data: error: {exc}", file=sys.stderr)
        if args.json:  # a script reading stdout gets an answer too
            print(json.dumps({"dataset": args.dataset, "root": str(args.root),
                              "readable": False, "strict": bool(args.strict), "passed": False,
                              "error": str(exc)}, indent=1))
        return 2
    report["strict"] = bool(args.strict)
    report["passed"] = report["readable"] and not (
        args.strict and any(s["bad"] for s in report["splits"].values()))
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
