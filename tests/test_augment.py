import pytest
import torch

from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.modalities import Waves
from fssuavl_app.core.views.audio import spectrogram_views
from fssuavl_app.core.views.image import eval_images
from fssuavl_app.core.views.image import simclr_views as image_views

pytestmark = pytest.mark.unit


def test_image_views_are_per_sample_and_fresh():
    images = torch.randint(0, 256, (1, 3, 40, 40), dtype=torch.uint8).repeat(6, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    v1 = image_views(images, 32, g)
    assert v1.shape == (6, 3, 32, 32) and torch.isfinite(v1).all()
    # same input image, different view per sample (one parameter set per batch would make them equal)
    assert all(not torch.allclose(v1[0], v1[i]) for i in range(1, 6))
    v2 = image_views(images, 32, g)
    assert not torch.allclose(v1, v2)
    # same seed, same views
    assert torch.equal(image_views(images, 32, torch.Generator().manual_seed(0)), v1)


def test_spectrogram_views_mask_and_noise_per_sample():
    spec = torch.ones(5, 1, 32, 32) * 3
    g = torch.Generator().manual_seed(1)
    out = spectrogram_views(spec, g, noise_std=0.0)
    masked = (out == 0).float().mean(dim=(1, 2, 3))
    assert (masked < 0.5).all() and len(set(masked.tolist())) > 1
    noisy = spectrogram_views(spec, g, noise_std=0.25)
    assert noisy.std() > 0


def test_pipeline_train_views_and_eval_inputs():
    pipe = InputPipeline(InputSpec(32))
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8)
    a, b = pipe.train_views("image", images, g)
    assert a.shape == b.shape == (4, 3, 32, 32) and not torch.allclose(a, b)
    waves, lengths = torch.randn(3, 40000) * 0.1, torch.tensor([40000, 20000, 8000])
    a, b = pipe.train_views("audio", Waves(waves, lengths), g)
    assert a.shape == b.shape == (3, 3, 32, 32) and not torch.allclose(a, b)
    e1, e2 = (pipe.eval_inputs("audio", Waves(waves, lengths)) for _ in range(2))
    assert torch.equal(e1, e2)  # evaluation is deterministic
    assert torch.equal(pipe.eval_inputs("image", images), eval_images(images, 32))


def test_frequency_shift_moves_rows_per_sample_and_repeats_edges():
    from fssuavl_app.core.views.audio import frequency_shift
    x = torch.arange(10.0).view(1, 1, 10, 1).expand(8, 1, 10, 3).contiguous()
    out = frequency_shift(x, torch.Generator().manual_seed(0), max_frac=0.3)
    shifts = set()
    for row in out[:, 0, :, 0]:
        diffs = row[1:] - row[:-1]
        assert set(diffs.tolist()) <= {0.0, 1.0}  # order kept, edges repeated
        shifts.add(row[5].item() - 5)
    assert len(shifts) > 1 and max(abs(s) for s in shifts) <= 3


def _high_frequency_energy(x: torch.Tensor) -> float:
    """Mean squared difference of horizontally and vertically adjacent pixels."""
    return float((x[..., 1:, :] - x[..., :-1, :]).pow(2).mean()
                 + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean())


def test_blur_really_blurs_and_sigma_zero_keeps_the_image():
    from fssuavl_app.core.views.image import gaussian_blur

    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 32, 32, generator=g)
    out = gaussian_blur(x, torch.tensor([0.0, 1.0, 2.0]))
    assert out.shape == x.shape
    torch.testing.assert_close(out[0], x[0], rtol=0, atol=1e-6)
    energy = [_high_frequency_energy(out[i]) for i in range(3)]
    assert energy[0] > 3 * energy[1] > 3 * energy[2]
    # a blur keeps the mean (normalised kernel) and the value range
    assert abs(out[2].mean() - x[2].mean()) < 0.02 and out.min() >= 0 and out.max() <= 1


def test_viewmaker_views_per_sample_with_blur_on_about_half():
    from fssuavl_app.core.views.image import random_blur, viewmaker_views

    images = torch.randint(0, 256, (1, 3, 40, 40), dtype=torch.uint8).repeat(8, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    v = viewmaker_views(images, 32, g)
    assert v.shape == (8, 3, 32, 32) and torch.isfinite(v).all()
    assert all(not torch.allclose(v[0], v[i]) for i in range(1, 8))
    assert torch.equal(viewmaker_views(images, 32, torch.Generator().manual_seed(0)), v)
    x = torch.rand(1, 3, 32, 32).repeat(400, 1, 1, 1)
    blurred = random_blur(x, torch.Generator().manual_seed(1))
    changed = (blurred - x).abs().flatten(1).max(dim=1).values > 1e-4
    assert 0.4 < changed.float().mean() < 0.6  # p = 0.5, per sample


def test_recipes_are_chosen_by_name():
    spec = InputSpec(32, image_views="viewmaker", audio_views="paper")
    pipe = InputPipeline(spec)
    images = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8)
    from fssuavl_app.core.views.image import viewmaker_views

    a, _ = pipe.train_views("image", images, torch.Generator().manual_seed(3))
    assert torch.equal(a, viewmaker_views(images, 32, torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError, match="unknown image views"):
        InputPipeline(InputSpec(32, image_views="nope"))


def test_paper_audio_views_have_no_shift_and_no_loudness_offset():
    from fssuavl_app.core.views.audio import AUDIO_RECIPES

    spec = torch.arange(32.0).view(1, 1, 32, 1).expand(6, 1, 32, 32).contiguous() / 10
    paper = spectrogram_views(spec, torch.Generator().manual_seed(0), noise_std=0.0,
                              **AUDIO_RECIPES["paper"])
    kept = paper != 0  # masked cells are 0; every other cell is unchanged
    assert torch.equal(paper[kept], spec[kept])
    extended = spectrogram_views(spec, torch.Generator().manual_seed(0), noise_std=0.0,
                                 **AUDIO_RECIPES["extended"])
    assert not torch.equal(extended[extended != 0], spec[extended != 0])
