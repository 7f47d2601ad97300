"""The run's elapsed time and ETA: mean round time plus the monitor passes still due."""

from __future__ import annotations

import re

import pytest

from fssuavl_app.runs.clock import RunClock, duration

pytestmark = pytest.mark.unit

LINE = re.compile(r"^elapsed (\d+s|\d+m\d\ds|\d+h\d\dm), ETA (\d+s|\d+m\d\ds|\d+h\d\dm|after "
                  r"round \d+)$")


def test_durations():
    assert [duration(s) for s in (0, 42.4, 60, 185, 3599, 3600, 3725)] == \
        ["0s", "42s", "1m00s", "3m05s", "59m59s", "1h00m", "1h02m"]


def test_eta_counts_rounds_and_the_monitor_passes_left():
    t = [100.0]
    clock = RunClock(10, 0, lambda r: r % 5 == 0 or r == 10, now=lambda: t[0])
    assert clock.eta(0) is None and clock.line(0) == "elapsed 0s, ETA after round 1"
    clock.record(0, 30.0, 30.0)  # round 0: the monitor only
    t[0] += 60
    clock.record(1, 10.0, None)
    clock.record(2, 14.0, None)
    # 8 rounds of 12 s, monitor at rounds 5 and 10: 2 passes of 30 s
    assert clock.eta(2) == pytest.approx(8 * 12 + 2 * 30)
    assert clock.line(2) == "elapsed 1m00s, ETA 2m36s"
    clock.record(5, 42.0, 30.0)  # a round with a monitor pass: 12 s of training
    assert clock.round_seconds[-1] == 12.0 and clock.eta(10) == 0.0
    assert LINE.match(clock.line(5)) and LINE.match(clock.line(3))


def test_a_resumed_run_times_only_its_own_rounds():
    clock = RunClock(6, 4, lambda r: False, now=lambda: 0.0)
    clock.record(4, 99.0, None)  # the resumed checkpoint's round is not a timed round
    assert clock.eta(4) is None
    clock.record(5, 8.0, None)
    assert clock.eta(5) == 8.0
