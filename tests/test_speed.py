"""The GPU speed path (bf16 autocast, channels_last, torch.compile, model reuse) runs on CPU too."""

from __future__ import annotations

import math

import pytest
import torch

from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.models import build_model
from fssuavl_app.core.speed import Speed, resolve_speed, reusable_model, sgd
from fssuavl_app.core.train import TrainSettings, client_generator, train_locally
from fssuavl_app.data import load_shard
from fssuavl_app.fl.runtime import WorkerRuntime
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.sources import open_run_sources, partition_for

from .tiny import TINY

pytestmark = pytest.mark.integration

SETTINGS = TrainSettings(epochs=1, batch_size=8, lr=0.03, momentum=0.9, weight_decay=1e-4)


def _client_data(cfg):
    sources = open_run_sources(cfg)
    data, _ = load_shard(sources, partition_for(cfg, sources, 2)[0])
    return data


def speed_for(cfg: RunConfig, device: torch.device) -> Speed:
    return resolve_speed(cfg.precision, cfg.channels_last, cfg.compile, cfg.arch, device)


def test_auto_settings_resolve_per_device():
    cfg = RunConfig.from_run_config(TINY)
    assert speed_for(cfg, torch.device("cpu")) == Speed()
    assert speed_for(cfg, torch.device("cuda")) == Speed(bf16=True, channels_last=True)
    vit = RunConfig.from_run_config({**TINY, "arch": "vit"})
    assert speed_for(vit, torch.device("cuda")) == Speed(bf16=True, channels_last=False)
    forced = RunConfig.from_run_config({**TINY, "precision": "bf16", "channels-last": "on",
                                        "compile": True})
    assert speed_for(forced, torch.device("cpu")) == Speed(True, True, True)


def test_fused_sgd_trains_like_the_per_tensor_loop():
    """The fused step is the same update: a client's local epoch ends at the same weights."""
    cfg = RunConfig.from_run_config(TINY)
    data, args = _client_data(cfg), cfg.model_args()
    torch.manual_seed(0)
    start = build_model(args).state_dict()
    ends = []
    for fused in (True, False):
        model = build_model(args)
        model.load_state_dict(start)
        train_locally(model, data, InputPipeline(InputSpec(32)), SETTINGS,
                      client_generator(0, 1, 0), speed=Speed(fused_sgd=fused))
        ends.append(model.state_dict())
    for key, value in ends[0].items():
        assert torch.allclose(value.float(), ends[1][key].float(), rtol=1e-5, atol=1e-6), key
    assert not torch.equal(ends[0]["encoder.conv1.weight"], start["encoder.conv1.weight"])


def test_sgd_is_fused_where_the_device_has_the_kernel():
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert sgd(params, 0.1, 0.9, 1e-4).defaults["fused"] is True  # CPU has one
    assert not sgd(params, 0.1, 0.9, 1e-4, fused=False).defaults["fused"]
    ints = [torch.zeros(3, dtype=torch.int64)]  # no fused kernel for integers: the loop
    assert not sgd(ints, 0.1, 0.9, 0.0).defaults["fused"]


def test_reused_model_trains_exactly_like_a_fresh_one():
    cfg = RunConfig.from_run_config(TINY)
    data, args = _client_data(cfg), cfg.model_args()
    torch.manual_seed(0)
    start = build_model(args).state_dict()
    fresh = build_model(args)  # a fresh model, then the runtime's reusable one, used twice
    fresh.load_state_dict(start)
    train_locally(fresh, data, InputPipeline(InputSpec(32)), SETTINGS, client_generator(0, 1, 0))
    results = [fresh.state_dict()]
    runtime = WorkerRuntime(cfg)
    reusable = runtime.model(args)
    assert reusable is runtime.model(args)  # built once per worker process, then reused
    for _ in range(2):
        reusable.model.load_state_dict(start)
        train_locally(reusable.model, data, InputPipeline(InputSpec(32)), SETTINGS,
                      client_generator(0, 1, 0), forward=reusable.forward)
        results.append({k: v.clone() for k, v in reusable.model.state_dict().items()})
    for other in results[1:]:
        for key, value in results[0].items():
            assert torch.equal(other[key], value), key


def test_bf16_channels_last_and_compile_run_on_cpu():
    cfg = RunConfig.from_run_config({**TINY, "arch": "vit"})
    data = _client_data(cfg)
    speed = Speed(bf16=True, channels_last=True, compile=True)
    reusable = reusable_model(cfg.model_args(), "cpu", speed)
    before = reusable.model.encoder.patch_embed.weight.clone()
    result = train_locally(reusable.model, data, InputPipeline(InputSpec(32)), SETTINGS,
                           client_generator(0, 1, 0), speed=speed, forward=reusable.forward)
    assert result.steps > 0 and all(math.isfinite(v) for v in result.mean_loss.values())
    assert not torch.equal(before, reusable.model.encoder.patch_embed.weight)
    assert all(p.dtype == torch.float32 for p in reusable.model.parameters())  # master weights
