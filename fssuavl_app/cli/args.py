"""argparse types that range-check numbers, so a bad value is a usage error naming the
argument, never a traceback or a silently wrong result."""

from __future__ import annotations

import argparse
import math


def _number(kind, text: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}")
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def at_least(lo: float, kind=int):
    """A type: a number of `kind` >= lo."""
    def check(text: str):
        value = _number(kind, text)
        if value < lo:
            raise argparse.ArgumentTypeError(f"{value} is below the smallest allowed, {lo}")
        return value
    check.__name__ = f"{kind.__name__} >= {lo}"
    return check


def above(lo: float, kind=float):
    """A type: a number of `kind` > lo."""
    def check(text: str):
        value = _number(kind, text)
        if value <= lo:
            raise argparse.ArgumentTypeError(f"{value} must be above {lo}")
        return value
    check.__name__ = f"{kind.__name__} > {lo}"
    return check
