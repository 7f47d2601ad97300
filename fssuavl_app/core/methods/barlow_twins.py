"""Barlow Twins (Zbontar et al. 2021): cross-correlation to the identity; the paper's Table 7."""

from __future__ import annotations

import torch

from .base import Option, Options, SSLMethod

BARLOW_LAMBDA = 0.005


def barlow_twins(z1: torch.Tensor, z2: torch.Tensor, lambd: float = BARLOW_LAMBDA,
                 eps: float = 1e-5) -> torch.Tensor:
    """Barlow Twins loss; scalar.

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


def _loss(z1: torch.Tensor, z2: torch.Tensor, options: Options) -> torch.Tensor:
    return barlow_twins(z1, z2, options["lambda"])


BARLOW_TWINS = SSLMethod(
    name="barlow-twins", label="Barlow Twins", summary="Barlow Twins, batch-standardised cross-correlation",
    loss=_loss, options=(Option("lambda", BARLOW_LAMBDA, "off-diagonal weight (0.005 as in "
                                "L-DAWA, the authors' FSSL code)", lo=0.0),))
