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


@pytest.fixture
def task_identity():
    """Flower's task identity, which building a Message outside a running app needs."""
    from flwr.supercore.task_identity import TaskIdentity

    saved = (TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    yield
    TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = saved


@pytest.fixture(scope="session")
def straight_run(tmp_path_factory):
    """A 3-round tiny run from scratch through Flower (4 clients), made once per session and
    read (never written) by the tests that compare against it: (run dir, ServerApp log)."""
    from pathlib import Path

    from .flower_harness import LocalSuperLink

    app, runs = Path(__file__).resolve().parents[1], tmp_path_factory.mktemp("straight")
    with LocalSuperLink(tmp_path_factory.mktemp("straight-link")) as link:
        status, logs = link.run(app, {**TINY, "output-dir": str(runs), "run-name": "straight",
                                      "num-server-rounds": 3}, 4)
    assert status == "finished:completed", logs[-3000:]
    return runs / "straight", logs


LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config, items):
    """Every test says what it needs: exactly one of the markers unit, integration, e2e."""
    wrong = [item.nodeid for item in items
             if sum(item.get_closest_marker(level) is not None for level in LEVELS) != 1]
    if wrong:
        raise pytest.UsageError(f"tests without exactly one of the markers {LEVELS}: "
                                + ", ".join(wrong[:10]))
