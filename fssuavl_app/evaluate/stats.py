"""Statistics over seeds: mean, standard deviation and a t-based 95% confidence interval per
cell, and a paired t-test for differences (same seed, same partition, two methods)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats as scipy_stats

LEVEL = 0.95


@dataclass(frozen=True)
class Summary:
    """n values: mean, sample std (ddof 1) and the two-sided 95% t interval of the mean."""

    n: int
    mean: float
    std: float  # nan for n == 1
    low: float  # nan for n == 1
    high: float

    def cell(self, scale: float = 100.0) -> str:
        """'62.1 ± 1.3 [58.9, 65.3]' (n = 1: '62.1')."""
        if self.n < 2:
            return f"{scale * self.mean:.1f}"
        return (f"{scale * self.mean:.1f} ± {scale * self.std:.1f} "
                f"[{scale * self.low:.1f}, {scale * self.high:.1f}]")


def summarize(values: Sequence[float]) -> Summary:
    """Mean ± std and the 95% confidence interval mean ± t(0.975, n-1) * std / sqrt(n)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values to summarize")
    mean = sum(values) / n
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(scipy_stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


@dataclass(frozen=True)
class PairedTest:
    """Paired t-test of a - b over seeds (two-sided)."""

    n: int
    mean_difference: float
    p_value: float  # nan when n < 2

    @property
    def significant(self) -> bool:
        return self.n >= 2 and self.p_value < 1 - LEVEL


def paired_test(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired t-test of a against b (values paired by seed)."""
    if len(a) != len(b):
        raise ValueError(f"paired test needs as many values on each side ({len(a)} vs {len(b)})")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n if n else math.nan
    if n < 2:
        return PairedTest(n, mean, math.nan)
    if all(d == diffs[0] for d in diffs):  # zero spread: the t statistic is undefined
        return PairedTest(n, mean, 1.0 if diffs[0] == 0 else 0.0)
    return PairedTest(n, mean, float(scipy_stats.ttest_rel(a, b).pvalue))
