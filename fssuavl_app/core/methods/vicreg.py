"""VICReg (Bardes, Ponce, LeCun, ICLR 2022): variance, invariance and covariance terms.

The expander is the paper's three-layer MLP (Linear-BN-ReLU, Linear-BN-ReLU,
Linear), every layer `expander-dim` wide. The paper uses 8192 on
ResNet-50's 2048-d features (4x); here the default is 2048 = 4x ResNet-18's
512-d features (and 8x the ViT's 256), the width solo-learn's CIFAR recipe
uses for ResNet-18. It keeps the paper's width-to-feature ratio while the
head stays below the encoder's size (9.4M parameters next to ResNet-18's
11.2M, against 138M for 8192): the whole model travels to and from every
client each round, so the head's size is communication cost.

A client's last batch smaller than 8 joins the one before (`min_batch`): the
variance and covariance terms estimated on 3 samples of 2048 dimensions gave
gradients that blew the weights up within one round (quick preset, a client
with 19 items in batches of 16 + 3, lr 0.03; batches of 10 + 9 trained).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Option, Options, SSLMethod


def vicreg(z1: torch.Tensor, z2: torch.Tensor, invariance: float = 25.0,
           variance: float = 25.0, covariance: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """VICReg loss as the official code computes it; scalar, fp32.

    z1, z2: (N, D) embeddings of two views of the same N samples, N >= 2.
    invariance term: mean squared error between z1 and z2;
    variance term: per branch, the mean over dimensions of relu(1 - sqrt(var + eps))
    (unbiased variance over the batch), averaged over the two branches;
    covariance term: per branch, the sum of squared off-diagonal entries of the
    (D, D) covariance (divided by N - 1) over D, summed over the two branches.
    """
    if z1.ndim != 2 or z1.shape != z2.shape or z1.shape[0] < 2:
        raise ValueError(f"vicreg needs two (N, D) views of the same shape with N >= 2, "
                         f"got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n, d = z1.shape
    z1, z2 = z1.float(), z2.float()
    repr_loss = F.mse_loss(z1, z2)
    z1, z2 = z1 - z1.mean(dim=0), z2 - z2.mean(dim=0)
    std1, std2 = torch.sqrt(z1.var(dim=0) + eps), torch.sqrt(z2.var(dim=0) + eps)
    std_loss = F.relu(1 - std1).mean() / 2 + F.relu(1 - std2).mean() / 2
    off = ~torch.eye(d, dtype=torch.bool, device=z1.device)
    cov_loss = sum(((z.T @ z) / (n - 1))[off].pow(2).sum() / d for z in (z1, z2))
    return invariance * repr_loss + variance * std_loss + covariance * cov_loss


def expander(in_dim: int, width: int) -> nn.Module:
    """Linear-BN-ReLU, Linear-BN-ReLU, Linear: in_dim -> width -> width -> width."""
    return nn.Sequential(nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
                         nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
                         nn.Linear(width, width))


def _loss(z1: torch.Tensor, z2: torch.Tensor, options: Options) -> torch.Tensor:
    return vicreg(z1, z2, options["invariance"], options["variance"], options["covariance"])


def _head(arch, proj_dim: int, proj_hidden_dim: int, options: Options) -> nn.Module:
    return expander(arch.feature_dim, options["expander-dim"])


VICREG = SSLMethod(
    name="vicreg", label="VICReg", summary="VICReg, variance-invariance-covariance with a 3-layer expander "
    "(ignores proj-dim and proj-hidden-dim)", loss=_loss, head=_head,
    options=(Option("invariance", 25.0, "weight of the invariance (MSE) term", lo=0.0),
             Option("variance", 25.0, "weight of the variance (std hinge) term", lo=0.0),
             Option("covariance", 1.0, "weight of the covariance term", lo=0.0),
             Option("expander-dim", 2048, "width of each expander layer (paper: 8192 on "
                    "ResNet-50)", lo=1, shapes_head=True)),
    min_batch=8)
