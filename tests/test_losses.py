import math

import pytest
import torch
import torch.nn.functional as F

from fssuavl_app.core.methods.simclr import nt_xent

pytestmark = pytest.mark.unit


def naive_nt_xent(z1, z2, t):
    """Textbook loop: every one of the 2N rows is an anchor."""
    z = F.normalize(torch.cat([z1, z2]).double(), dim=1)
    n2 = z.shape[0]
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        pos = (i + n) % n2
        denom = sum(math.exp(float(z[i] @ z[j]) / t) for j in range(n2) if j != i)
        total += -math.log(math.exp(float(z[i] @ z[pos]) / t) / denom)
    return total / n2


@pytest.mark.parametrize("n", [2, 3, 7, 16])
@pytest.mark.parametrize("t", [0.5, 0.1])
def test_matches_naive_reference(n, t):
    g = torch.Generator().manual_seed(n)
    z1, z2 = torch.randn(n, 5, generator=g), torch.randn(n, 5, generator=g)
    assert nt_xent(z1, z2, t).item() == pytest.approx(naive_nt_xent(z1, z2, t), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("n", [2, 10, 256])
def test_identical_embeddings_give_log_2n_minus_1(n):
    z = torch.ones(n, 8)
    assert nt_xent(z, z, 0.5).item() == pytest.approx(math.log(2 * n - 1), rel=1e-6)


def test_ideal_embeddings_known_value():
    n, t = 6, 0.5
    z = torch.eye(n)  # positives identical, every negative orthogonal
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / t))
    assert nt_xent(z, z.clone(), t).item() == pytest.approx(expected, rel=1e-6)


def test_computed_in_fp32_from_low_precision_inputs():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    loss = nt_xent(z1.bfloat16(), z2.bfloat16(), 0.5)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(nt_xent(z1, z2, 0.5).item(), abs=0.02)


def test_gradient_is_finite_and_rejects_single_sample():
    z1 = torch.randn(4, 3, requires_grad=True)
    nt_xent(z1, torch.randn(4, 3), 0.5).backward()
    assert torch.isfinite(z1.grad).all()
    with pytest.raises(ValueError, match="N >= 2"):
        nt_xent(torch.randn(1, 3), torch.randn(1, 3))
