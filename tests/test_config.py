import tomllib
from pathlib import Path

import pytest

from fssuavl_app.runs.config import ConfigError, RunConfig

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_defaults_match_the_dataclass():
    defaults = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["flwr"]["app"]["config"]
    assert RunConfig.from_run_config(defaults) == RunConfig()
    assert set(defaults) == set(RunConfig().to_run_config())


@pytest.mark.parametrize("preset", sorted((ROOT / "conf").rglob("*.toml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_presets_parse(preset):
    RunConfig.from_run_config(tomllib.loads(preset.read_text()))


def test_unknown_key_names_the_key_and_the_allowed_keys():
    with pytest.raises(ConfigError, match="unknown run-config key 'learning-rate'.*lr"):
        RunConfig.from_run_config({"learning-rate": 0.1})


def test_bad_values_name_key_and_allowed_values():
    with pytest.raises(ConfigError, match="'arch' is 'resnet50'; allowed values: 'resnet18'"):
        RunConfig.from_run_config({"arch": "resnet50"})
    with pytest.raises(ConfigError, match="'batch-size' must be int"):
        RunConfig.from_run_config({"batch-size": "big"})
    with pytest.raises(ConfigError, match="'fraction-train' is 1.5; it must be <= 1.0"):
        RunConfig.from_run_config({"fraction-train": 1.5})
    with pytest.raises(ConfigError, match="frac-image-only \\+ frac-audio-only"):
        RunConfig.from_run_config({"frac-image-only": 0.7, "frac-audio-only": 0.7})
    with pytest.raises(ConfigError, match="'local-epochs' must be int"):
        RunConfig.from_run_config({"local-epochs": True})


def test_ints_are_accepted_for_floats_and_round_trip():
    cfg = RunConfig.from_run_config({"lr": 1, "seed": 3})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert RunConfig.from_run_config(cfg.to_run_config()) == cfg


FLOAT_KEYS = sorted(k for k, v in RunConfig().to_run_config().items() if isinstance(v, float))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")],
                         ids=["nan", "inf", "-inf"])
def test_every_float_key_refuses_non_finite_values(value):
    assert {"lr", "dirichlet-alpha", "knn-t", "fraction-train", "weight-decay"} <= set(FLOAT_KEYS)
    for key in FLOAT_KEYS:  # nan passes every bound check; inf passes any open bound
        with pytest.raises(ConfigError, match=f"'{key}' is .*; it must be a finite number"):
            RunConfig.from_run_config({key: value})
    for text in ("temperature=nan", "temperature=inf"):
        with pytest.raises(ConfigError, match="'temperature' is .*; it must be a finite number"):
            RunConfig.from_run_config({"loss-options": text})
