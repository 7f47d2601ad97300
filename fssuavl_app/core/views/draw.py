"""Per-sample random draws from an explicit generator (CPU or the batch's device)."""

from __future__ import annotations

import torch


def uniform(n: int, lo: float, hi: float, device, generator: torch.Generator | None
            ) -> torch.Tensor:
    """(n,) floats uniform in [lo, hi)."""
    return lo + (hi - lo) * torch.rand(n, device=device, generator=generator)


def bernoulli(n: int, p: float, device, generator: torch.Generator | None) -> torch.Tensor:
    """(n,) bools, each True with probability p."""
    return torch.rand(n, device=device, generator=generator) < p
