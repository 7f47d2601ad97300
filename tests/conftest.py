"""Shared fixtures (tiny built-in data, a tiny run config) and the marker rule."""

from __future__ import annotations

import pytest
import torch

from fssuavl_app.runs.config import RunConfig

from .tiny import TINY


@pytest.fixture
def tiny_cfg() -> RunConfig:
    return RunConfig.from_run_config(TINY)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)


LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config, items):
    """Every test says what it needs: exactly one of the markers unit, integration, e2e."""
    wrong = [item.nodeid for item in items
             if sum(item.get_closest_marker(level) is not None for level in LEVELS) != 1]
    if wrong:
        raise pytest.UsageError(f"tests without exactly one of the markers {LEVELS}: "
                                + ", ".join(wrong[:10]))
