"""Seeded subsets of a split (monitor and evaluation caps)."""

from __future__ import annotations

import numpy as np


def seeded_subset(n: int, max_samples: int, seed: int) -> np.ndarray:
    """Sorted positions of at most `max_samples` of `n` items (all when 0 or n <= max)."""
    if max_samples == 0 or n <= max_samples:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng([seed, 404, n]).choice(n, max_samples, replace=False))
