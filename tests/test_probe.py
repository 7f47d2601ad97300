import copy

import pytest
import torch
from torch import nn

from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.modalities import Waves
from fssuavl_app.core.models import ModelArgs, build_model
from fssuavl_app.evaluate.features import extract_features
from fssuavl_app.evaluate.probe import (
    ProbeSettings,
    finetune,
    linear_probe,
    lr_at,
    mean_logits,
    train_linear_probe,
)

pytestmark = pytest.mark.unit

CPU = torch.device("cpu")


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(ModelArgs(input_size=32))


def assert_state_equal(a: nn.Module, b: nn.Module):
    """Every parameter and buffer (incl. BatchNorm running stats and counters) bitwise equal."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def separable(n_per_class: int, num_classes: int, dim: int, seed: int, noise: float = 0.1):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(n_per_class)
    centres = torch.eye(num_classes, dim) * 5
    return centres[labels] + noise * torch.randn(len(labels), dim, generator=g), labels


def two_class_images(n_per_class: int, seed: int = 0):
    """Dark vs bright uint8 32x32 images, with a little noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(2).repeat_interleave(n_per_class)
    base = torch.where(labels == 0, 30, 220).to(torch.int16)[:, None, None, None]
    noise = torch.randint(-20, 21, (len(labels), 3, 32, 32), generator=g, dtype=torch.int16)
    return (base + noise).clamp(0, 255).to(torch.uint8), labels


def audio_compact(pipe: InputPipeline, n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    waves = torch.randn(n, 32000, generator=g) * 0.1
    lengths = torch.full((n,), 32000, dtype=torch.int64)
    return pipe.eval_compact("audio", Waves(waves, lengths))


def test_lr_schedule_steps_at_60_and_80_percent():
    s = ProbeSettings()
    assert [lr_at(e, s) for e in range(36)] == [0.03] * 36
    assert all(lr_at(e, s) == pytest.approx(0.003) for e in range(36, 48))
    assert all(lr_at(e, s) == pytest.approx(0.0003) for e in range(48, 60))
    s10 = ProbeSettings(epochs=10, lr=1.0)
    assert [lr_at(e, s10) for e in range(10)] == pytest.approx([1.0] * 6 + [0.1] * 2 + [0.01] * 2)


def test_linear_probe_separable_is_perfect_and_deterministic():
    x, y = separable(10, 4, 16, seed=0)
    xt, yt = separable(5, 4, 16, seed=1)
    s = ProbeSettings(epochs=10, batch_size=8)
    losses = []
    acc = linear_probe({"image": x}, y, {"image": xt}, yt, 4, s, CPU,
                       progress=lambda e, loss: losses.append((e, loss)))
    assert acc == {1: 1.0}
    assert [e for e, _ in losses] == list(range(10)) and losses[-1][1] < losses[0][1]
    h1 = train_linear_probe({"image": x}, y, 4, s, CPU)
    h2 = train_linear_probe({"image": x}, y, 4, s, CPU)
    assert torch.equal(h1.weight, h2.weight) and torch.equal(h1.bias, h2.bias)
    h3 = train_linear_probe({"image": x}, y, 4, ProbeSettings(epochs=10, batch_size=8, seed=1), CPU)
    assert not torch.equal(h1.weight, h3.weight)


def test_top5_reported_with_more_than_5_classes():
    x, y = separable(4, 7, 8, seed=0)
    acc = linear_probe({"audio": x}, y, {"audio": x}, y, 7, ProbeSettings(epochs=10, batch_size=4), CPU)
    assert set(acc) == {1, 5} and acc[1] == 1.0


def test_linear_probe_never_touches_the_encoder():
    model = tiny_model()
    model.train()  # even a model left in train mode keeps its BatchNorm statistics
    before = copy.deepcopy(model)
    pipe = InputPipeline(InputSpec(32))
    images, labels = two_class_images(4)
    feats = {"image": extract_features(model, pipe, "image", pipe.eval_compact("image", images)),
             "audio": extract_features(model, pipe, "audio", audio_compact(pipe, len(labels)))}
    assert feats["image"].shape == (8, 512)
    acc = linear_probe(feats, labels, feats, labels, 2, ProbeSettings(epochs=3, batch_size=4), CPU)
    assert set(acc) == {1} and 0.0 <= acc[1] <= 1.0
    assert_state_equal(model, before)
    assert model.training


def test_mean_logits_is_exact_mean_of_head_outputs():
    head = nn.Linear(3, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]]))
        head.bias.copy_(torch.tensor([0.1, -0.3]))
    a = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    b = torch.tensor([[0.0, -1.0, 2.0], [3.0, 3.0, -3.0]])
    with torch.no_grad():
        assert torch.equal(mean_logits(head, {"image": a, "audio": b}), (head(a) + head(b)) / 2)
        assert torch.equal(mean_logits(head, {"image": a}), head(a))


def test_paired_probe_uses_both_modalities_through_one_head():
    audio, y = separable(20, 3, 12, seed=0)
    audio_t, yt = separable(10, 3, 12, seed=1)
    g = torch.Generator().manual_seed(2)
    image, image_t = torch.randn(60, 12, generator=g), torch.randn(30, 12, generator=g)
    s = ProbeSettings(epochs=20, batch_size=16)
    acc = linear_probe({"image": image, "audio": audio}, y, {"image": image_t, "audio": audio_t}, yt,
                       3, s, CPU)
    assert acc[1] >= 0.9
    head = train_linear_probe({"image": image, "audio": audio}, y, 3, s, CPU)
    assert isinstance(head, nn.Linear) and head.weight.shape == (3, 12)


def test_rows_must_be_aligned():
    x, y = separable(4, 2, 4, seed=0)
    with pytest.raises(ValueError):
        train_linear_probe({"image": x, "audio": x[:-1]}, y, 2, ProbeSettings(epochs=1), CPU)


def test_finetune_trains_a_copy_and_leaves_the_model_unchanged():
    model = tiny_model()
    for bn in model.modules():  # running stats = last (full) batch: eval mode matches after a few steps
        if isinstance(bn, nn.BatchNorm2d):
            bn.momentum = 1.0
    before = copy.deepcopy(model)
    pipe = InputPipeline(InputSpec(32))
    images, labels = two_class_images(4)
    compact = {"image": pipe.eval_compact("image", images)}
    losses = []
    s = ProbeSettings(epochs=4, batch_size=8, lr=0.01)
    acc = finetune({"image": model}, pipe, compact, labels, compact, labels, 2, s, CPU,
                   progress=lambda e, loss: losses.append(loss))
    assert set(acc) == {1} and acc[1] >= 0.75
    assert len(losses) == 4 and losses[-1] < losses[0] / 2
    assert_state_equal(model, before)


def test_finetune_shared_checkpoint_for_image_and_audio():
    model = tiny_model()
    before = copy.deepcopy(model)
    pipe = InputPipeline(InputSpec(32))
    images, labels = two_class_images(3)
    compact = {"image": pipe.eval_compact("image", images), "audio": audio_compact(pipe, 6)}
    acc = finetune({"image": model, "audio": model}, pipe, compact, labels, compact, labels, 2,
                   ProbeSettings(epochs=2, batch_size=4), CPU)
    assert set(acc) == {1} and 0.0 <= acc[1] <= 1.0
    assert_state_equal(model, before)


def test_finetune_two_checkpoints():
    m1, m2 = tiny_model(0), tiny_model(1)
    b1, b2 = copy.deepcopy(m1), copy.deepcopy(m2)
    pipe = InputPipeline(InputSpec(32))
    images, labels = two_class_images(3)
    images, labels = images[:5], labels[:5]  # batches 4 + 1: the single row joins the previous batch
    compact = {"image": pipe.eval_compact("image", images), "audio": audio_compact(pipe, 5)}
    acc = finetune({"image": m1, "audio": m2}, pipe, compact, labels, compact, labels, 2,
                   ProbeSettings(epochs=2, batch_size=4), CPU)
    assert set(acc) == {1} and 0.0 <= acc[1] <= 1.0
    assert_state_equal(m1, b1)
    assert_state_equal(m2, b2)


def test_finetune_on_training_views_draws_new_views_per_sample_and_epoch():
    pipe = InputPipeline(InputSpec(32))
    images, labels = two_class_images(4)
    g = torch.Generator().manual_seed(0)
    waves = Waves(torch.randn(8, 48000, generator=g) * 0.1, torch.full((8,), 48000))
    forms = {"image": pipe.transforms["image"].finetune_form(images),
             "audio": pipe.transforms["audio"].finetune_form(waves)}
    assert forms["audio"].samples.dtype == torch.int16  # clips kept at half the memory
    seen = {m: [] for m in forms}
    real = {m: pipe.transforms[m].finetune_view for m in forms}
    for m in forms:
        def record(stored, generator, m=m):
            x = real[m](stored, generator)
            seen[m].append(x.clone())
            return x
        pipe.transforms[m].finetune_view = record
    compact = {m: pipe.eval_compact(m, b) for m, b in (("image", images), ("audio", waves))}
    model = tiny_model()
    s = ProbeSettings(epochs=2, batch_size=8, lr=0.01)
    acc = finetune({"image": model, "audio": model}, pipe, compact, labels, compact, labels, 2,
                   s, CPU, train_views=forms)
    assert set(acc) == {1}
    for m, views in seen.items():
        assert len(views) == 2 and views[0].shape == (8, 3, 32, 32)  # one batch per epoch
        assert not torch.allclose(views[0], views[1])  # new views every epoch
        flat = views[0].flatten(1)
        assert all(not torch.allclose(flat[0], flat[i]) for i in range(1, 8))  # per sample
    # views of an image stay within its pixel range; a clip's 2 s crop is one of its windows
    assert seen["image"][0].min() >= (0 - 0.485) / 0.229 - 1e-4
    assert torch.isfinite(seen["audio"][0]).all()
    again = finetune({"image": model, "audio": model}, pipe, compact, labels, compact, labels,
                     2, s, CPU, train_views=forms)
    assert again == acc  # seeded: the same views, the same result
