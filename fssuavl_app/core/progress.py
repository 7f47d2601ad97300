"""A small progress bar for long CLI work, printed to stderr (no extra dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    """`label [#####.....] done/total, elapsed s`: on one updating line on a terminal,
    otherwise one line at most every `every` seconds and at the end."""

    def __init__(self, label: str, total: int, every: float = 2.0, stream=None):
        self.label, self.total, self.every = label, max(0, int(total)), every
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.started = self.last = time.monotonic()

    def line(self, done: int, extra: str = "") -> str:
        frac = done / self.total if self.total else 1.0
        bar = "#" * int(frac * 20) + "." * (20 - int(frac * 20))
        return (f"  {self.label} [{bar}] {done}/{self.total}, "
                f"{time.monotonic() - self.started:.1f} s{extra}")

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        final = done >= self.total
        if not final and now - self.last < (0.2 if self.tty else self.every):
            return
        self.last = now
        end = "\n" if final or not self.tty else "\r"
        print(self.line(done, extra), file=self.stream, end=end, flush=True)
