"""Small pure parts of the bench scripts (they are scripts, loaded from their files)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_round_overhead_says_a_cpu_run_measured_no_gpu_memory():
    """It printed 'peak GPU memory per client 0.0 MiB' for runs that trained on CPU."""
    peak_line = _script("round_overhead").peak_line
    assert peak_line(0.0) == "no GPU memory measured (clients trained on CPU)"
    assert peak_line(812.5) == "peak GPU memory per client 812.5 MiB"
