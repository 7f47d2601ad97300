"""Small pure parts of the bench scripts (they are scripts, loaded from their files)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fssuavl_app.core.speed import peak_memory_line

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benches_say_a_cpu_run_measured_no_gpu_memory():
    """round_overhead printed 'peak GPU memory per client 0.0 MiB' for runs that trained on
    CPU, train_throughput 'peak GPU memory (client): 0.0 MiB'."""
    assert peak_memory_line(0.0) == "no GPU memory measured (trained on CPU)"
    assert peak_memory_line(812.5) == "peak GPU memory per client 812.5 MiB"
    for name in ("round_overhead", "train_throughput"):
        assert _script(name).peak_memory_line is peak_memory_line
