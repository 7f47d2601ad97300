"""VICReg: the loss against a naive float64 loop, known values, the expander, and training."""

from __future__ import annotations

import math

import pytest
import torch

from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.methods import METHODS
from fssuavl_app.core.methods.vicreg import expander, vicreg
from fssuavl_app.core.models import build_model
from fssuavl_app.core.modalities import Waves
from fssuavl_app.core.train import LocalData, train_locally
from fssuavl_app.runs.config import ConfigError, RunConfig

from .tiny import TINY

pytestmark = pytest.mark.unit


def naive_vicreg(z1, z2, inv=25.0, var=25.0, cov=1.0, eps=1e-4):
    """Textbook loops in float64, term by term as the VICReg paper defines them."""
    n, d = z1.shape
    a = [[float(z1[k, j]) for j in range(d)] for k in range(n)]
    b = [[float(z2[k, j]) for j in range(d)] for k in range(n)]
    invariance = sum((a[k][j] - b[k][j]) ** 2 for k in range(n) for j in range(d)) / (n * d)

    def variance_and_covariance(z):
        means = [sum(z[k][j] for k in range(n)) / n for j in range(d)]
        c = [[sum((z[k][i] - means[i]) * (z[k][j] - means[j]) for k in range(n)) / (n - 1)
              for j in range(d)] for i in range(d)]
        hinge = sum(max(0.0, 1 - math.sqrt(c[j][j] + eps)) for j in range(d)) / d
        off = sum(c[i][j] ** 2 for i in range(d) for j in range(d) if i != j) / d
        return hinge, off

    (h1, c1), (h2, c2) = variance_and_covariance(a), variance_and_covariance(b)
    return inv * invariance + var * (h1 + h2) / 2 + cov * (c1 + c2)


@pytest.mark.parametrize("n,d", [(2, 3), (5, 4), (16, 8), (7, 1)])
@pytest.mark.parametrize("weights", [(25.0, 25.0, 1.0), (1.0, 0.5, 3.0)])
def test_matches_naive_reference(n, d, weights):
    g = torch.Generator().manual_seed(10 * n + d)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g) * 0.3
    expected = naive_vicreg(z1, z2, *weights)
    assert vicreg(z1, z2, *weights).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_known_values():
    # identical, decorrelated, unit-variance views: every term is 0
    z = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]) * math.sqrt(3 / 4)
    assert vicreg(z, z.clone()).item() == pytest.approx(0.0, abs=1e-4)
    # collapsed views: only the variance hinge, 25 * (1 - sqrt(eps))
    flat = torch.zeros(8, 4)
    assert vicreg(flat, flat).item() == pytest.approx(25 * (1 - math.sqrt(1e-4)), rel=1e-6)


def test_fp32_from_bf16_and_rejects_bad_shapes():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    loss = vicreg(z1.bfloat16(), z2.bfloat16())
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(vicreg(z1, z2).item(), rel=0.02)
    with pytest.raises(ValueError, match="N >= 2"):
        vicreg(torch.randn(1, 3), torch.randn(1, 3))


def test_registered_with_the_paper_weights_and_an_expander_head():
    method = METHODS["vicreg"]
    assert method.resolve("") == {"invariance": 25.0, "variance": 25.0, "covariance": 1.0,
                                  "expander-dim": 2048}
    cfg = RunConfig.from_run_config({**TINY, "loss": "vicreg", "loss-options": "expander-dim=64"})
    model = build_model(cfg.model_args())
    assert dict(cfg.model_args().head_options) == {"expander-dim": 64}
    assert [type(m).__name__ for m in model.head] == ["Linear", "BatchNorm1d", "ReLU", "Linear",
                                                      "BatchNorm1d", "ReLU", "Linear"]
    assert model(torch.randn(4, 3, 32, 32)).shape == (4, 64)
    assert expander(256, 32)(torch.randn(3, 256)).shape == (3, 32)
    with pytest.raises(ConfigError, match="no option 'lambda'"):
        RunConfig.from_run_config({"loss": "vicreg", "loss-options": "lambda=0.1"})


def test_trains_one_local_round():
    cfg = RunConfig.from_run_config({**TINY, "loss": "vicreg", "loss-options": "expander-dim=64"})
    torch.manual_seed(0)
    model = build_model(cfg.model_args())
    g = torch.Generator().manual_seed(0)
    data = LocalData({"image": torch.randint(0, 256, (6, 3, 24, 24), dtype=torch.uint8,
                                             generator=g),
                      "audio": Waves(torch.randn(6, 36000, generator=g) * 0.1,
                                     torch.full((6,), 36000))})
    before = model.head[0].weight.clone()
    result = train_locally(model, data, InputPipeline(InputSpec(32)), cfg.train_settings(1), g)
    assert result.steps == 2 and all(math.isfinite(v) for v in result.mean_loss.values())
    assert not torch.equal(before, model.head[0].weight)
