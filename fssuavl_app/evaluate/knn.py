"""Weighted kNN classifier (InstDisc / MoCo monitor) as pure functions.

Features are L2-normalised; similarity is cosine; each of the k nearest bank
items votes for its label with weight exp(sim / t). Scores are fp32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def knn_scores(queries: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor,
               num_classes: int, k: int = 200, t: float = 0.1, chunk: int = 1024
               ) -> torch.Tensor:
    """Class scores (Q, C) for queries (Q, D) against a bank (N, D) with labels (N,).

    k is clamped to the bank size; queries are processed `chunk` rows at a time.
    k < 1 or t <= 0 raise ValueError (they would give a wrong result, not an error).
    """
    if k < 1 or not t > 0:
        raise ValueError(f"kNN needs k >= 1 and t > 0, got k={k}, t={t}")
    bank = F.normalize(bank.float(), dim=1)
    k = min(k, bank.shape[0])
    out = []
    for q in torch.split(F.normalize(queries.float(), dim=1), chunk):
        sim, idx = (q @ bank.T).topk(k, dim=1)  # (B, k)
        weights = (sim / t).exp()
        scores = torch.zeros(q.shape[0], num_classes, device=q.device)
        out.append(scores.scatter_add_(1, bank_labels[idx], weights))
    return torch.cat(out) if out else torch.zeros(0, num_classes)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, ks: tuple[int, ...] = (1, 5)
                  ) -> dict[int, float]:
    """Fraction of rows whose label is among the k best scores (k > 1 only when C > k)."""
    result = {}
    for k in ks:
        if k == 1 or scores.shape[1] > k:
            best = scores.topk(k, dim=1).indices
            result[k] = (best == labels[:, None]).any(dim=1).float().mean().item()
    return result


def knn_accuracy(train_feats: torch.Tensor, train_labels: torch.Tensor,
                 test_feats: torch.Tensor, test_labels: torch.Tensor, num_classes: int,
                 k: int = 200, t: float = 0.1) -> dict[int, float]:
    """Top-1 (and top-5 when C > 5) accuracy: train split as bank, test split as queries."""
    scores = knn_scores(test_feats, train_feats, train_labels.to(train_feats.device),
                        num_classes, k, t)
    return topk_accuracy(scores, test_labels.to(scores.device))
