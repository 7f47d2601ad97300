"""Shared fixtures: tiny built-in data and a tiny run config."""

from __future__ import annotations

import pytest
import torch

from fssuavl_app.config import RunConfig

TINY = {"num-server-rounds": 2, "input-size": 32, "synthetic-train-per-class": 8,
        "synthetic-test-per-class": 4, "batch-size": 8, "local-epochs": 1, "knn-k": 10,
        "fraction-train": 0.5, "eval-every": 1}


@pytest.fixture
def tiny_cfg() -> RunConfig:
    return RunConfig.from_run_config(TINY)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)
