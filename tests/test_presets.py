"""Every paper experiment is a preset: in sync with conf/presets.py, parses, and starts."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from fssuavl_app.cli.compare import method_name
from fssuavl_app.core.inputs import InputPipeline, InputSpec
from fssuavl_app.core.models import build_model
from fssuavl_app.core.train import client_generator, train_locally
from fssuavl_app.data import load_shard
from fssuavl_app.runs import presets
from fssuavl_app.runs.config import RunConfig
from fssuavl_app.runs.sources import open_run_sources, partition_for

from .tiny import TINY

pytestmark = pytest.mark.integration

CONF = Path(__file__).resolve().parents[1] / "conf"
STEMS = sorted(presets.experiments())


def load(kind: str, stem: str) -> dict:
    return tomllib.loads((CONF / kind / f"{stem}.toml").read_text())


def test_files_are_what_the_generator_writes():
    expected = presets.expected_files(CONF)
    on_disk = set((CONF / "paper").glob("*.toml")) | set((CONF / "quick").glob("*.toml"))
    assert on_disk == set(expected), "run `python conf/presets.py`"
    for path, text in expected.items():
        assert path.read_text() == text, f"{path} is stale: run `python conf/presets.py`"


@pytest.mark.parametrize("value", [True, False, 10, 0.03, 1e-05, "simclr", "/data/it's \"q\" \\ é"])
def test_toml_value_reads_back_as_the_same_value(value):
    # was: a bool written as Python's `True`, which TOML (and flwr run) refuse
    assert tomllib.loads(f"key = {presets.toml_value(value)}")["key"] == value


@pytest.mark.parametrize("stem", STEMS)
def test_preset_parses_and_roles_match_the_method(stem):
    paper, quick = load("paper", stem), load("quick", stem)
    cfg = RunConfig.from_run_config(paper)
    assert (cfg.num_server_rounds, cfg.local_epochs in (1, 5), cfg.batch_size, cfg.input_size) \
        == (100, True, 256, 128)
    method_keys = {k: v for k, v in paper.items() if k not in presets.PAPER_SCALE}
    assert {k: quick[k] for k in method_keys} == method_keys  # the quick twin is the same method
    quick_cfg = RunConfig.from_run_config({**quick, **TINY})
    sources = open_run_sources(quick_cfg)
    roles = [s.role for s in partition_for(quick_cfg, sources, 10)]
    name = method_name(paper)
    if name == "FVSSL":
        assert set(roles) == {"image"}
    elif name == "FASSL":
        assert set(roles) == {"audio"}
    elif name == "Model-Comb":
        assert "both" not in roles and roles.count("image") == roles.count("audio") == 5
    elif name == "FSSUAVL":
        assert set(roles) == {"both"}


def test_expert_clients_never_see_the_other_modality():
    for stem, other in (("fvssl-r18-simclr", "audio"), ("fassl-r18-simclr", "image")):
        cfg = RunConfig.from_run_config({**load("quick", stem), **TINY})
        sources = open_run_sources(cfg)
        for shard in partition_for(cfg, sources, 4):
            data, _ = load_shard(sources, shard)
            assert len(shard.indices(other)) == 0 and data.count(other) == 0


@pytest.mark.parametrize("arch,loss", [("resnet18", "simclr"), ("resnet18", "barlow-twins"),
                                       ("vit", "simclr"), ("vit", "barlow-twins")])
def test_each_model_and_loss_of_the_presets_trains_one_local_round(arch, loss):
    stem = next(s for s in STEMS if load("paper", s)["arch"] == arch
                and load("paper", s)["loss"] == loss)
    cfg = RunConfig.from_run_config({**load("quick", stem), **TINY, "batch-size": 4})
    sources = open_run_sources(cfg)
    shard = partition_for(cfg, sources, 4)[0]
    data, _ = load_shard(sources, shard)
    torch.manual_seed(0)
    model = build_model(cfg.model_args())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings = dataclasses.replace(cfg.train_settings(1), epochs=1, batch_size=4)
    result = train_locally(model, data, InputPipeline(InputSpec(cfg.input_size)), settings,
                           client_generator(cfg.seed, 1, 0))
    assert result.steps > 0
    assert all(np.isfinite(v) for v in result.mean_loss.values())
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
