"""Shared fixtures: tiny built-in data and a tiny run config."""

from __future__ import annotations

import pytest
import torch

from fssuavl_app.config import RunConfig

from .tiny import TINY


@pytest.fixture
def tiny_cfg() -> RunConfig:
    return RunConfig.from_run_config(TINY)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)
