"""SSL losses as pure functions of the two views' projections (fp32 inside)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Symmetric NT-Xent (SimCLR) loss; scalar.

    z1, z2: (N, D) projections of two views of the same N samples, N >= 2.
    All 2N rows are anchors; the positive of row i is its other view; the
    2N-2 other rows are negatives; self-similarity is removed. Computed in
    fp32 whatever the input dtype. Equals ln(2N-1) when all rows are equal.
    """
    n = z1.shape[0]
    if n < 2 or z2.shape[0] != n:
        raise ValueError(f"nt_xent needs two (N, D) views with N >= 2, got {tuple(z1.shape)} "
                         f"and {tuple(z2.shape)}")
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, positives)


BARLOW_LAMBDA = 0.005


def barlow_twins(z1: torch.Tensor, z2: torch.Tensor, lambd: float = BARLOW_LAMBDA,
                 eps: float = 1e-5) -> torch.Tensor:
    """Barlow Twins loss (Zbontar et al. 2021); scalar.

    z1, z2: (N, D) projections of two views of the same N samples, N >= 2.
    Each dimension is standardised over the batch as the official code's
    `BatchNorm1d(D, affine=False)` in train mode: (z - mean) / sqrt(var + eps)
    with the biased variance, so a constant dimension gives a zero column
    (finite loss) instead of NaN. C = z1n.T @ z2n / N (D x D), and
    loss = sum_i (1 - C_ii)^2 + lambd * sum_{i != j} C_ij^2.
    Computed in fp32 whatever the input dtype.

    Default lambd = 0.005: the value (`T`) in the FSSUAVL authors' own code
    base (L-DAWA, `inventory/src/objectives/Barlotwins.py`, which the paper
    follows) and the lightly/solo-learn default; the Barlow Twins paper says
    5e-3 and its official script uses 0.0051 (2% apart). The L-DAWA code's
    unbiased, eps-free std is NOT reproduced (it gives NaN for constant units).
    """
    if z1.ndim != 2 or z1.shape != z2.shape or z1.shape[0] < 2:
        raise ValueError(f"barlow_twins needs two (N, D) views of the same shape with N >= 2, "
                         f"got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n, d = z1.shape

    def standardise(z: torch.Tensor) -> torch.Tensor:
        z = z.float()
        return (z - z.mean(dim=0)) / torch.sqrt(z.var(dim=0, unbiased=False) + eps)

    c = standardise(z1).T @ standardise(z2) / n
    on_diag = torch.diagonal(c)
    off_diag = c.masked_fill(torch.eye(d, dtype=torch.bool, device=c.device), 0.0)
    return (1 - on_diag).pow(2).sum() + lambd * off_diag.pow(2).sum()
