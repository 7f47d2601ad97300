"""The bench scripts run as a user runs them, on tiny inputs (CPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_train_throughput_on_cpu_says_no_gpu_memory_was_measured():
    """It printed 'peak GPU memory (client):      0.0 MiB' after a CPU run."""
    out = subprocess.run([sys.executable, str(BENCH / "train_throughput.py"), "--device", "cpu",
                          "--batches", "1", "--batch-size", "4", "--repeats", "1"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert "ClientApp training path :" in out and "bare PyTorch loop       :" in out
    assert out.rstrip().splitlines()[-1] == "no GPU memory measured (trained on CPU)"
    assert "0.0 MiB" not in out
