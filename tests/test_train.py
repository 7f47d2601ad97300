import pytest
import torch

from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.modalities import Waves
from fssuavl_app.core.models import ModelArgs, build_model
from fssuavl_app.core.train import (
    LocalData,
    TrainSettings,
    batch_indices,
    interleave,
    train_locally,
)

pytestmark = pytest.mark.unit

SETTINGS = TrainSettings(epochs=1, batch_size=8, lr=0.03, momentum=0.9, weight_decay=1e-4)


def test_batches_cover_all_and_never_hold_one_sample():
    g = torch.Generator().manual_seed(0)
    for n in (2, 3, 9, 17, 32):
        batches = batch_indices(n, 8, g)
        assert sorted(torch.cat(batches).tolist()) == list(range(n))
        assert all(len(b) >= 2 for b in batches)


def test_a_short_last_batch_joins_the_one_before():
    g = torch.Generator().manual_seed(0)
    assert [len(b) for b in batch_indices(19, 16, g)] == [16, 3]
    assert [len(b) for b in batch_indices(19, 16, g, min_batch=8)] == [19]
    assert [len(b) for b in batch_indices(24, 16, g, min_batch=8)] == [16, 8]
    assert [len(b) for b in batch_indices(5, 16, g, min_batch=8)] == [5]


def test_alternation_then_the_rest():
    order = [m for m, _ in interleave({"image": [1, 2, 3, 4], "audio": ["a"]})]
    assert order == ["image", "audio", "image", "image", "image"]
    three = [m for m, _ in interleave({"a": [1], "b": [1, 2], "c": [1, 2, 3]})]
    assert three == ["a", "b", "c", "b", "c", "c"]


def _data(n_img, n_aud):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_img, 3, 24, 24), dtype=torch.uint8, generator=g) if n_img else None
    audio = Waves(torch.randn(n_aud, 36000, generator=g) * 0.1, torch.full((n_aud,), 36000)) \
        if n_aud else None
    return LocalData({m: b for m, b in (("image", images), ("audio", audio)) if b is not None})


def test_client_smaller_than_a_batch_still_trains_and_reports():
    model = build_model(ModelArgs(input_size=32))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = train_locally(model, _data(5, 3), InputPipeline(InputSpec(32)), SETTINGS,
                           torch.Generator().manual_seed(0))
    assert result.num_examples == {"image": 5, "audio": 3}
    assert result.steps == 2 and all(v > 0 for v in result.mean_loss.values())
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "encoder.conv1.weight" in changed and "encoder.bn1.running_mean" in changed


def test_single_modality_client_reports_zero_for_the_other():
    model = build_model(ModelArgs(input_size=32))
    result = train_locally(model, _data(0, 4), InputPipeline(InputSpec(32)), SETTINGS,
                           torch.Generator().manual_seed(0))
    assert result.num_examples == {"image": 0, "audio": 4} and result.mean_loss["image"] == 0.0


def test_same_seed_same_result():
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_model(ModelArgs(input_size=32))
        train_locally(model, _data(6, 6), InputPipeline(InputSpec(32)), SETTINGS, torch.Generator().manual_seed(5))
        results.append(model.state_dict()["head.weight"])
    assert torch.equal(*results)


def test_lr_schedules_over_rounds():
    from fssuavl_app.core.train import lr_for_round

    assert [lr_for_round(0.03, "constant", r, 10) for r in (1, 5, 10)] == [0.03] * 3
    cos = [lr_for_round(0.03, "cosine", r, 10) for r in range(1, 11)]
    assert cos[0] == 0.03 and all(a > b > 0 for a, b in zip(cos, cos[1:]))
    assert abs(lr_for_round(0.03, "cosine", 6, 10) - 0.015) < 1e-12
