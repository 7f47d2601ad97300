"""Dataset names in the run config match the readers; roots are checked at start."""

from __future__ import annotations

import dataclasses

import pytest

from fssuavl_app.data import DatasetLayoutError, dataset_names, open_dataset
from fssuavl_app.runs.config import ConfigError, RunConfig
from fssuavl_app.runs.sources import open_run_sources

from .tiny import TINY

pytestmark = pytest.mark.integration


def test_config_names_are_the_registry_names():
    choices = {f.name: f.metadata["choices"] for f in dataclasses.fields(RunConfig)}
    assert sorted(choices["image_dataset"]) == sorted(["synthetic-shapes", *dataset_names(
        "image", on_disk=True)])
    assert sorted(choices["audio_dataset"]) == sorted(["synthetic-sounds", *dataset_names(
        "audio", on_disk=True)])


@pytest.mark.parametrize("name", dataset_names(on_disk=True))
def test_missing_root_names_the_path_and_the_layout(tmp_path, name):
    with pytest.raises(DatasetLayoutError) as err:
        open_dataset(name, tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value) and "should hold" in str(err.value)


@pytest.mark.parametrize("name", dataset_names(on_disk=True))
def test_empty_folder_is_a_layout_error_not_a_crash(tmp_path, name):
    with pytest.raises(DatasetLayoutError) as err:
        open_dataset(name, tmp_path)
    assert name in str(err.value) and "Expected under ROOT" in str(err.value)


def test_a_dataset_on_disk_needs_its_root():
    with pytest.raises(ConfigError, match="image-dataset 'cifar10' needs image-root"):
        RunConfig.from_run_config({"image-dataset": "cifar10"})
    with pytest.raises(ConfigError, match="allowed values"):
        RunConfig.from_run_config({"audio-dataset": "cifar10", "audio-root": "/x"})


def test_run_with_a_missing_root_stops_at_open(tmp_path):
    cfg = RunConfig.from_run_config({**TINY, "audio-dataset": "esc50",
                                     "audio-root": str(tmp_path / "ESC-50")})
    with pytest.raises(DatasetLayoutError, match="ESC-50"):
        open_run_sources(cfg)
