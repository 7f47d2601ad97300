"""Run one slow, independent preparation step in a thread while the caller waits on others."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class InBackground(Generic[T]):
    """`build()` started at once in a daemon thread; `result()` waits for it and returns its
    value, or raises the exception it raised (in the caller's thread, with its traceback).

    Daemon: if the caller fails before asking for the result, the process is not held up.
    """

    def __init__(self, build: Callable[[], T], name: str = "background"):
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(build,), name=name, daemon=True)
        self._thread.start()

    def _run(self, build: Callable[[], T]) -> None:
        try:
            self._value = build()
        except BaseException as exc:  # handed to the caller in result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
