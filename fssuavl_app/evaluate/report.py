"""Results as JSON and as Markdown tables laid out like the paper's.

Unimodal tasks: one row per method (and round), columns grouped by protocol
(KNN / L.P / F.T) with one column per task and the average (Tables 2-3, 7).
Paired tasks: columns per protocol, task and mode A+V / V / A (Tables 4-5).
ESC-50 folds are averaged into one `esc50 (5-fold)` column; JSON keeps each fold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import MappingProxyType

PROTOCOL_NAMES = MappingProxyType({"knn": "KNN", "linear": "L.P", "finetune": "F.T"})
_FOLD = re.compile(r"^(?P<base>.+)-fold\d+$")


def write_json(results: list[dict], path: Path, meta: dict) -> Path:
    path.write_text(json.dumps({**meta, "results": results}, indent=1))
    return path


def _column_task(task: str) -> str:
    m = _FOLD.match(task)
    return f"{m['base']} (5-fold)" if m else task


def _row_key(r: dict) -> tuple:
    return (r["method"], r["arch"], -1 if r["round"] is None else r["round"])


def _table(results: list[dict], column_of) -> list[str]:
    """A Markdown table: rows (method, arch, round), columns from `column_of(result)`
    grouped by protocol, each protocol closed by an Avg. column."""
    cells: dict[tuple, dict[tuple, list[float]]] = {}
    columns: dict[str, list[str]] = {}
    for r in results:
        col = column_of(r)
        cols = columns.setdefault(r["protocol"], [])
        if col not in cols:
            cols.append(col)
        cells.setdefault(_row_key(r), {}).setdefault((r["protocol"], col), []).append(r["top1"])
    head = ["Method", "Arch.", "Round"]
    for p, cols in columns.items():
        head += [f"{PROTOCOL_NAMES[p]} {c}" for c in cols] + [f"{PROTOCOL_NAMES[p]} Avg."]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for key in sorted(cells):
        row = [key[0], key[1], "-" if key[2] < 0 else str(key[2])]
        for p, cols in columns.items():
            means = {c: 100 * sum(v) / len(v) for c in cols if (v := cells[key].get((p, c)))}
            row += [f"{means[c]:.2f}" if c in means else "" for c in cols]
            row.append(f"{sum(means.values()) / len(means):.2f}" if means else "")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def markdown(results: list[dict]) -> str:
    """Top-1 accuracy (%) tables: unimodal tasks, then audio-visual tasks."""
    uni = [r for r in results if not r.get("paired")]
    paired = [r for r in results if r.get("paired")]
    parts = []
    if uni:
        parts += ["### Unimodal tasks (top-1 %)", ""]
        parts += _table(uni, lambda r: f"{_column_task(r['task'])} ({r['mode']})") + [""]
    if paired:
        parts += ["### Audio-visual tasks (top-1 %)", ""]
        parts += _table(paired, lambda r: f"{r['task']} {r['mode']}") + [""]
    seconds: dict[str, float] = {}
    for r in results:
        seconds[r["protocol"]] = seconds.get(r["protocol"], 0.0) + r["seconds"]
    shared: dict[tuple, float] = {}
    for r in results:
        key = (r["method"], r["round"], r["task"])
        shared[key] = max(shared.get(key, 0.0), r.get("features-seconds", 0.0))
    parts.append("Time per protocol, all tasks and rounds: " + ", ".join(
        f"{PROTOCOL_NAMES[p]} {s:.1f} s" for p, s in seconds.items())
        + f"; feature extraction shared by KNN and L.P {sum(shared.values()):.1f} s "
        "(decoding inputs not counted).")
    return "\n".join(parts) + "\n"
