"""The README's fidelity section from a `fssuavl-reproduce` report: key cells and one verdict
per paper claim, each with its paired t-test over seeds.

    python scripts/fidelity_summary.py reproduce-fidelity/report.json

Expects the tasks of `scripts/fidelity_report.sh` (fmnist, words, digits, spoken, digits-av)
and its presets (FSSUAVL, FVSSL, FASSL, Model-Comb, FSSUAVL 33/33/33, Figure 4a at 30%).
A claim "holds" when the mean difference has the claimed sign; "(p = ...)" says whether a
two-sided paired t-test over seeds finds the difference significant at 0.05.
"""

from __future__ import annotations

import json
import sys

from fssuavl_app.evaluate.stats import paired_test, summarize

ROWS = (("untrained encoder (round 0)", None), ("FSSUAVL", "fssuavl-r18-simclr"),
        ("FVSSL (images only)", "fvssl-r18-simclr"), ("FASSL (audio only)", "fassl-r18-simclr"),
        ("Model-Comb 50/50/0", "model-comb-r18-simclr"),
        ("FSSUAVL 33/33/33", "fssuavl-333-r18-simclr"),
        ("Fig. 4a: audio on 30%", "fig4a-r18-audio-on-030pct"))
COLUMNS = ("KNN fmnist (V)", "KNN digits (V)", "KNN words (A)", "KNN spoken (A)",
           "KNN digits-av (A+V)", "L.P fmnist (V)", "L.P words (A)", "L.P digits-av (A+V)")


def values(report: dict, stem: str | None, column: str) -> list[float]:
    cells = report["untrained"]["r18"] if stem is None else report["trained"][stem]
    return [cells[column][s] for s in sorted(cells[column])]


def verdict(a: list[float], b: list[float], claim: str) -> str:
    test = paired_test(a, b)
    holds = test.mean_difference >= 0
    return (f"{claim}: {100 * test.mean_difference:+.1f} points, "
            f"{'holds' if holds else 'does not hold'} (p = {test.p_value:.3f}, "
            f"{'significant' if test.significant else 'not significant'})")


def main() -> None:
    report = json.loads(open(sys.argv[1]).read())
    print("| Method | " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * (len(COLUMNS) + 1))
    for name, stem in ROWS:
        cells = []
        for column in COLUMNS:
            s = summarize(values(report, stem, column))
            cells.append(f"{100 * s.mean:.1f} ± {100 * (s.high - s.mean):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n(mean over 3 seeds ± half-width of the 95% t interval, top-1 %)\n")
    t = report["trained"]
    f, v, a = "fssuavl-r18-simclr", "fvssl-r18-simclr", "fassl-r18-simclr"
    lines = []
    for col in ("KNN fmnist (V)", "KNN digits (V)"):
        lines.append(verdict(values(report, f, col), values(report, v, col),
                             f"(a) FSSUAVL >= FVSSL, {col}"))
    for col in ("KNN words (A)", "KNN spoken (A)"):
        lines.append(verdict(values(report, f, col), values(report, a, col),
                             f"(a) FSSUAVL >= FASSL, {col}"))
    for col in ("KNN fmnist (V)", "KNN digits (V)", "KNN words (A)", "KNN spoken (A)"):
        lines.append(verdict(values(report, "fssuavl-333-r18-simclr", col),
                             values(report, "model-comb-r18-simclr", col),
                             f"(b) FSSUAVL 33/33/33 >= Model-Comb, {col}"))
    for stem in (f, v, a):
        for proto in ("KNN", "L.P"):
            fused = values(report, stem, f"{proto} digits-av (A+V)")
            singles = {m: values(report, stem, f"{proto} digits-av ({m})") for m in ("V", "A")}
            best = max(singles, key=lambda m: sum(singles[m]))
            lines.append(verdict(fused, singles[best], f"(c) {stem}, {proto} digits-av: "
                                 f"A+V >= the better single modality ({best})"))
    for col in ("KNN words (A)", "KNN spoken (A)", "KNN fmnist (V)", "KNN digits (V)"):
        points = [(0, v), (30, "fig4a-r18-audio-on-030pct"), (100, f)]
        means = ", ".join(f"{pct}%: {100 * summarize(values(report, s, col)).mean:.1f}"
                          for pct, s in points if s in t)
        lines.append(f"(d) Figure 4a, {col} at audio on {means}")
    print("\n".join(f"- {line}" for line in lines))


if __name__ == "__main__":
    main()
