"""Elapsed time and an ETA for a run: the mean time of a round, plus the kNN monitor passes left.

The server logs `RunClock.line(round)` after round 0 and after every round.
Rounds and monitor passes are timed apart, because a monitor pass can cost
as much as several rounds and does not come every round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


def duration(seconds: float) -> str:
    """A short human duration: 42s, 3m05s, 1h02m."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class RunClock:
    """Timings of one server process: `record` each round, then `eta` and `line`.

    `monitor_due(r)` says whether round r runs the kNN monitor; rounds are
    global (a resumed run starts after `start_round`).
    """

    total_rounds: int
    start_round: int
    monitor_due: Callable[[int], bool]
    now: Callable[[], float] = time.monotonic
    started: float = field(init=False)
    round_seconds: list[float] = field(default_factory=list)  # training rounds, monitor excluded
    monitor_seconds: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.now()

    def record(self, global_round: int, seconds: float, monitor_seconds: float | None) -> None:
        """Round `global_round` took `seconds` in all, `monitor_seconds` of it in the monitor."""
        if monitor_seconds is not None:
            self.monitor_seconds.append(monitor_seconds)
        if global_round > self.start_round:
            self.round_seconds.append(seconds - (monitor_seconds or 0.0))

    def elapsed(self) -> float:
        return self.now() - self.started

    def eta(self, global_round: int) -> float | None:
        """Seconds left after `global_round`; None until one round has been timed."""
        left = range(global_round + 1, self.total_rounds + 1)
        if not left:
            return 0.0
        if not self.round_seconds:
            return None
        per_round = sum(self.round_seconds) / len(self.round_seconds)
        per_pass = (sum(self.monitor_seconds) / len(self.monitor_seconds)
                    if self.monitor_seconds else 0.0)
        return len(left) * per_round + sum(map(self.monitor_due, left)) * per_pass

    def line(self, global_round: int) -> str:
        """'elapsed 1m05s, ETA 4m10s' (or 'ETA after round N' before any round is timed)."""
        eta = self.eta(global_round)
        text = "after round %d" % (global_round + 1) if eta is None else duration(eta)
        return f"elapsed {duration(self.elapsed())}, ETA {text}"
