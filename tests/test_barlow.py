import math

import pytest
import torch

from fssuavl_app.core.methods.barlow_twins import BARLOW_LAMBDA, barlow_twins

pytestmark = pytest.mark.unit

EPS = 1e-5


def naive_barlow(z1, z2, lambd, eps=EPS):
    """Textbook double loop in float64: BatchNorm-style standardisation, then C."""
    n, d = z1.shape

    def standardise(z):
        cols = []
        for j in range(d):
            col = [float(z[k, j]) for k in range(n)]
            mean = sum(col) / n
            var = sum((v - mean) ** 2 for v in col) / n  # biased, as BatchNorm1d in train mode
            cols.append([(v - mean) / math.sqrt(var + eps) for v in col])
        return cols  # cols[j][k]

    a, b = standardise(z1), standardise(z2)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(a[i][k] * b[j][k] for k in range(n)) / n
            loss += (1 - c) ** 2 if i == j else lambd * c ** 2
    return loss


# Two columns that are zero-mean, unit (biased) variance and orthogonal.
DECORRELATED = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])


@pytest.mark.parametrize("n,d,lambd", [(2, 3, 0.005), (3, 5, 0.1), (7, 4, 1.0), (16, 8, 0.0051),
                                       (5, 1, 0.005)])
def test_matches_naive_reference(n, d, lambd):
    g = torch.Generator().manual_seed(100 * n + d)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    expected = naive_barlow(z1, z2, lambd)
    assert barlow_twins(z1, z2, lambd=lambd).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_default_lambda_is_the_authors_value():
    assert BARLOW_LAMBDA == 0.005
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    assert barlow_twins(z1, z2).item() == pytest.approx(naive_barlow(z1, z2, 0.005), rel=1e-5)


def test_perfectly_decorrelated_identical_views_give_zero():
    loss = barlow_twins(DECORRELATED, DECORRELATED.clone(), lambd=1.0)
    # C = I / (1 + eps): the on-diagonal term is D * (eps / (1 + eps))^2 ~ 2e-10.
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def test_identical_views_have_no_on_diagonal_term():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(32, 6, generator=g)
    assert barlow_twins(z, z.clone(), lambd=0.0).item() == pytest.approx(0.0, abs=1e-5)
    # Only the redundancy term is left: lambd * sum of squared off-diagonal correlations.
    corr = torch.corrcoef(z.double().T)
    off = (corr.pow(2).sum() - corr.diagonal().pow(2).sum()).item()
    assert barlow_twins(z, z.clone(), lambd=0.5).item() == pytest.approx(0.5 * off, rel=1e-4)


def test_negated_views_give_four_per_dimension():
    d = DECORRELATED.shape[1]
    assert barlow_twins(DECORRELATED, -DECORRELATED, lambd=1.0).item() == pytest.approx(4 * d, rel=1e-4)
    g = torch.Generator().manual_seed(3)
    z = torch.randn(20, 5, generator=g)
    lambd = 0.3
    corr = torch.corrcoef(z.double().T)
    off = (corr.pow(2).sum() - corr.diagonal().pow(2).sum()).item()
    expected = 4 * 5 + lambd * off
    assert barlow_twins(z, -z, lambd=lambd).item() == pytest.approx(expected, rel=1e-4)
    assert barlow_twins(z, -z, lambd=lambd).item() == pytest.approx(naive_barlow(z, -z, lambd), rel=1e-5)


def test_invariant_to_per_dimension_scale_and_shift():
    g = torch.Generator().manual_seed(4)
    z1, z2 = torch.randn(12, 4, generator=g), torch.randn(12, 4, generator=g)
    scale, shift = torch.tensor([0.5, 3.0, 10.0, 1.0]), torch.tensor([1.0, -2.0, 0.0, 100.0])
    assert barlow_twins(z1 * scale + shift, z2).item() == pytest.approx(barlow_twins(z1, z2).item(),
                                                                         rel=1e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs_are_computed_in_fp32(dtype):
    g = torch.Generator().manual_seed(5)
    z1, z2 = torch.randn(64, 32, generator=g), torch.randn(64, 32, generator=g)
    low = barlow_twins(z1.to(dtype), z2.to(dtype))
    assert low.dtype == torch.float32
    # Only the inputs' rounding differs (bf16: 8-bit mantissa); the loss is ~D = 32.
    assert low.item() == pytest.approx(barlow_twins(z1, z2).item(), rel=2e-3)


def test_two_samples_and_constant_dimension_are_finite():
    z1 = torch.randn(2, 3, requires_grad=True)
    loss = barlow_twins(z1, torch.randn(2, 3))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()
    # A dead (constant) unit standardises to zeros: C_ii = 0 adds exactly 1, no NaN.
    const = torch.cat([DECORRELATED, torch.full((4, 1), 7.0)], dim=1)
    assert barlow_twins(const, const.clone(), lambd=1.0).item() == pytest.approx(1.0, abs=1e-6)


def test_rejects_single_sample_and_bad_shapes():
    with pytest.raises(ValueError, match="N >= 2"):
        barlow_twins(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="same shape"):
        barlow_twins(torch.randn(4, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match="same shape"):
        barlow_twins(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError):
        barlow_twins(torch.randn(4), torch.randn(4))
