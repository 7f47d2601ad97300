"""SimCLR (Chen et al. 2020): the NT-Xent loss over two views; the paper's method."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Option, Options, SSLMethod


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


def _loss(z1: torch.Tensor, z2: torch.Tensor, options: Options) -> torch.Tensor:
    return nt_xent(z1, z2, options["temperature"])


SIMCLR = SSLMethod(
    name="simclr", label="SimCLR", summary="SimCLR, symmetric NT-Xent over 2N anchors (the paper's loss)",
    loss=_loss, options=(Option("temperature", 0.5, "NT-Xent temperature tau", lo=1e-6),))
