"""The report of `fssuavl-reproduce`: every target as a table over seeds, with the untrained
encoder as a baseline row, paired t-tests, and Figure 4 as accuracy against share.

Inputs are the evaluations of each run at round 0 (the untrained encoder of
that seed) and at its last round (`<out>/eval/<run>/results.json`). A cell is
mean ± std [95% t interval] of top-1 (%) over seeds. Markers: `*` the row
differs from the method it is compared with (named under the table) with
p < 0.05 in a two-sided paired t-test over seeds (same seed = same
partition, same initial weights); `†` the row's mean is not above the
untrained encoder's.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..runs.files import write_atomic, write_json_atomic
from ..runs.presets import ARCH_TAGS, TARGETS
from .report import PROTOCOL_NAMES
from .stats import paired_test, summarize

Column = tuple[str, str, str]  # protocol, task, mode
_SHARE = re.compile(r"^fig4(?P<side>[ab])-r18-(?P<what>\w+)-on-(?P<pct>\d{3})pct$")


def _column_name(col: Column) -> str:
    protocol, task, mode = col
    return f"{PROTOCOL_NAMES.get(protocol, protocol)} {task} ({mode})"


def arch_tag(stem: str) -> str:
    """The architecture tag of a preset name ("r18", "vit"; "" when it names none)."""
    return next((t for t in ARCH_TAGS if f"-{t}-" in f"-{stem}-"), "")


def collect(out: Path, runs) -> tuple[dict, dict]:
    """({stem: {column: {seed: top1}}} at the last round, {arch tag: {column: {seed: top1}}}
    at round 0: each architecture's untrained encoder is its own baseline)."""
    trained: dict = defaultdict(lambda: defaultdict(dict))
    untrained: dict = defaultdict(lambda: defaultdict(dict))
    for run in runs:
        results = json.loads((out / "eval" / run.name / "results.json").read_text())["results"]
        last = max(r["round"] for r in results)
        for r in results:
            col = (r["protocol"], r["task"], r["mode"])
            if r["round"] == 0:
                untrained[arch_tag(run.stem)][col][run.seed] = r["top1"]
            if r["round"] == last:
                trained[run.stem][col][run.seed] = r["top1"]
    return trained, untrained


def _cell(values: dict[int, float], baseline: dict[int, float], partner: dict[int, float] | None
          ) -> str:
    seeds = sorted(values)
    text = summarize([values[s] for s in seeds]).cell()
    if partner is not None:
        common = [s for s in seeds if s in partner]
        if paired_test([values[s] for s in common], [partner[s] for s in common]).significant:
            text += " *"
    if baseline and sum(values.values()) / len(values) <= sum(baseline.values()) / len(baseline):
        text += " †"
    return text


def target_table(title: str, stems: list[str], partners: dict[str, str], trained: dict,
                 untrained_by_arch: dict, arch_of: Callable[[str], str] = arch_tag
                 ) -> list[str]:
    """One target as Markdown: a row per method plus the untrained baseline (one per
    architecture: `untrained_by_arch[arch_of(stem)]`), and a line per comparison with the
    paired test's numbers."""
    columns = list(dict.fromkeys(c for s in stems for c in trained.get(s, {})))
    seeds = sorted({seed for s in stems for c in trained.get(s, {}).values() for seed in c})
    lines = [f"### {title}", "", f"Top-1 (%) over {len(seeds)} seed(s) {seeds}: mean ± std "
             "[95% t interval]. `*`: differs from the compared method (p < 0.05, paired t-test "
             "over seeds); `†`: not above the untrained encoder.", ""]
    lines.append("| Method | " + " | ".join(_column_name(c) for c in columns) + " |")
    lines.append("|" + " --- |" * (len(columns) + 1))
    tags = list(dict.fromkeys(arch_of(s) for s in stems))
    for tag in tags:
        base = untrained_by_arch.get(tag, {})
        label = "untrained encoder (round 0)" + (f", {tag}" if len(tags) > 1 else "")
        lines.append(f"| {label} | " + " | ".join(
            summarize(list(base[c].values())).cell() if base.get(c) else "" for c in columns)
            + " |")
    for stem in stems:
        partner = partners.get(stem)
        untrained = untrained_by_arch.get(arch_of(stem), {})
        cells = []
        for c in columns:
            values = trained.get(stem, {}).get(c)
            if not values:
                cells.append("")
                continue
            other = trained.get(partner, {}).get(c) if partner else None
            cells.append(_cell(values, untrained.get(c, {}), other))
        lines.append(f"| {stem} | " + " | ".join(cells) + " |")
    lines.append("")
    for stem, partner in partners.items():
        for c in columns:
            a, b = trained.get(stem, {}).get(c), trained.get(partner, {}).get(c)
            if not a or not b:
                continue
            common = sorted(set(a) & set(b))
            test = paired_test([a[s] for s in common], [b[s] for s in common])
            verdict = "significant" if test.significant else "not significant"
            lines.append(f"- {stem} - {partner}, {_column_name(c)}: "
                         f"{100 * test.mean_difference:+.1f} points (paired t-test, n = {test.n}, "
                         f"p = {test.p_value:.3f}: {verdict})")
    for stem in stems:
        for c in columns:
            values = trained.get(stem, {}).get(c)
            base = untrained_by_arch.get(arch_of(stem), {}).get(c)
            if values and base:
                common = sorted(set(values) & set(base))
                test = paired_test([values[s] for s in common], [base[s] for s in common])
                if test.mean_difference <= 0 or not test.significant:
                    lines.append(f"- {stem}, {_column_name(c)}: "
                                 f"{100 * test.mean_difference:+.1f} points against the "
                                 f"untrained encoder (p = {test.p_value:.3f}): does not beat it")
    return lines + [""]


def figure4(trained: dict, path: Path) -> Path | None:
    """Accuracy against the share of clients holding both modalities, mean with 95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict = defaultdict(list)  # (side, column) -> [(pct, summary)]
    for stem, columns in trained.items():
        m = _SHARE.match(stem)
        if not m:
            continue
        for col, values in columns.items():
            series[(m["side"], col)].append((int(m["pct"]), summarize(list(values.values()))))
    if not series:
        return None
    titles = {"a": "4a: images everywhere, audio added", "b": "4b: audio everywhere, images added"}
    sides = sorted({side for side, _ in series})  # only the panels that were run
    fig, axes = plt.subplots(1, len(sides), figsize=(5.5 * len(sides), 4), squeeze=False)
    for ax, side in zip(axes[0], sides, strict=True):
        title = titles[side]
        for (s, col), points in sorted(series.items()):
            if s != side:
                continue
            points.sort()
            x = [p for p, _ in points]
            mean = [100 * q.mean for _, q in points]
            ax.plot(x, mean, marker="o", label=_column_name(col))
            if all(q.n > 1 for _, q in points):
                ax.fill_between(x, [100 * q.low for _, q in points],
                                [100 * q.high for _, q in points], alpha=0.2)
        ax.set_title(f"Figure {title}")
        ax.set_xlabel("% of clients holding both modalities")
        ax.set_ylabel("top-1 (%)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(out: Path, targets: dict[str, list[str]], runs,
                 same_run: dict[str, str] | None = None) -> Path:
    """`<out>/report.md` (and `figure4.png` when Figure 4 is a target); its path.

    `same_run` maps a preset to the one whose run stands for it (the same settings)."""
    trained, untrained = collect(out, runs)
    for stem, canonical in (same_run or {}).items():
        if stem != canonical and canonical in trained:
            trained[stem] = trained[canonical]
    scale = runs[0].scale if runs else ""
    lines = [f"# Reproduction report ({scale} scale)", "", __doc__.split("\n\n")[1], ""]
    for target, stems in targets.items():
        title, _, partners = TARGETS.get(target, (target, (), {}))
        pairs = {p.format(a=a): q.format(a=a) for p, q in partners.items() for a in ARCH_TAGS}
        lines += target_table(title, stems, {k: v for k, v in pairs.items() if k in stems},
                              trained, untrained)
        if target.startswith("figure4") and (
                plot := figure4(trained, out / "figure4.png")) is not None:
            lines += [f"![Figure 4]({plot.name})", ""]
    path = out / "report.md"
    write_atomic(path, ("\n".join(lines) + "\n").encode())
    data = {stem: {_column_name(c): v for c, v in cols.items()} for stem, cols in trained.items()}
    write_json_atomic(out / "report.json", {
        "trained": data, "untrained": {tag: {_column_name(c): v for c, v in cols.items()}
                                       for tag, cols in untrained.items()}})
    return path
