import math

import pytest
import torch
import torch.nn.functional as F

from fssuavl_app.evaluate.knn import knn_accuracy, knn_scores, topk_accuracy

pytestmark = pytest.mark.unit


def brute_force_scores(q, bank, labels, c, k, t):
    q, bank = F.normalize(q.double(), dim=1), F.normalize(bank.double(), dim=1)
    out = torch.zeros(len(q), c, dtype=torch.float64)
    for i in range(len(q)):
        sims = [(float(q[i] @ bank[j]), j) for j in range(len(bank))]
        for s, j in sorted(sims, reverse=True)[:k]:
            out[i, labels[j]] += math.exp(s / t)
    return out


@pytest.mark.parametrize("k", [1, 5, 50])
def test_matches_brute_force(k):
    g = torch.Generator().manual_seed(k)
    bank, q = torch.randn(40, 6, generator=g), torch.randn(9, 6, generator=g)
    labels = torch.randint(0, 4, (40,), generator=g)
    got = knn_scores(q, bank, labels, 4, k=k, t=0.1, chunk=4)
    want = brute_force_scores(q, bank, labels, 4, min(k, 40), 0.1)
    torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-6)


def test_separable_clusters_are_perfect_and_top5_needs_more_than_5_classes():
    centres = torch.eye(8) * 10
    labels = torch.arange(8).repeat_interleave(5)
    bank = centres[labels] + torch.randn(40, 8) * 0.1
    acc = knn_accuracy(bank, labels, centres, torch.arange(8), 8, k=5, t=0.1)
    assert acc == {1: 1.0, 5: 1.0}
    scores = torch.tensor([[0.1, 0.9, 0.0, 0.0, 0.0]])
    assert topk_accuracy(scores, torch.tensor([0])) == {1: 0.0}  # 5 classes: no top-5


def test_handles_fp16_features_without_overflow():
    bank = torch.randn(300, 4).half()
    scores = knn_scores(bank[:3], bank, torch.zeros(300, dtype=torch.long), 2, k=200, t=0.1)
    assert torch.isfinite(scores).all() and scores.dtype == torch.float32
