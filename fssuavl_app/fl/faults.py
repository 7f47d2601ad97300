"""Client faults on purpose, for the fault-tolerance tests (run-config `fault-injection`).

Spec: comma-separated `KIND:PARTITION[@ROUND]`, e.g. `raise:3,nan:5@2`. Kinds:
raise (an exception), oom (torch.OutOfMemoryError), hang (sleep past the
round timeout), nan (NaN weights), shape (a weight of the wrong shape),
zero-examples (num-examples = 0). Empty = no fault; users never set it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..runs.config import ConfigError, RunConfig

KINDS = ("raise", "oom", "hang", "nan", "shape", "zero-examples")


@dataclass(frozen=True)
class Fault:
    kind: str
    partition: int
    round: int | None = None  # None = every round


def parse_faults(spec: str) -> list[Fault]:
    """The faults of a spec; ValueError naming the bad part."""
    faults = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        try:
            kind, _, target = part.partition(":")
            pid, _, rnd = target.partition("@")
            fault = Fault(kind, int(pid), int(rnd) if rnd else None)
        except ValueError:
            fault = None
        if fault is None or fault.kind not in KINDS:
            raise ValueError(f"fault-injection part {part!r}: expected KIND:PARTITION[@ROUND] "
                             f"with KIND one of {', '.join(KINDS)}")
        faults.append(fault)
    return faults


def checked(cfg: RunConfig) -> RunConfig:
    """`cfg`, once its `fault-injection` spec parses (ConfigError naming the bad part)."""
    try:
        parse_faults(cfg.fault_injection)
    except ValueError as exc:
        raise ConfigError(f"run-config key 'fault-injection': {exc}") from exc
    return cfg


def fault_for(faults: list[Fault], partition: int, global_round: int) -> str | None:
    """The kind of fault this client injects in this round, if any (`faults` parsed once)."""
    for f in faults:
        if f.partition == partition and f.round in (None, global_round):
            return f.kind
    return None


def fail_before_training(kind: str | None, round_timeout: float) -> None:
    """raise / oom / hang happen instead of training."""
    if kind == "raise":
        raise RuntimeError("injected fault: the client raised")
    if kind == "oom":
        raise torch.OutOfMemoryError("injected fault: CUDA out of memory")
    if kind == "hang":
        time.sleep(round_timeout + 10)


def corrupt_reply(kind: str | None, state: dict[str, torch.Tensor], num_examples: int
                  ) -> tuple[dict[str, torch.Tensor], int]:
    """nan / shape / zero-examples break the reply after training."""
    if kind == "nan":
        state = {k: v.float().fill_(float("nan")) if v.is_floating_point() else v
                 for k, v in state.items()}
    elif kind == "shape":
        key = next(k for k, v in state.items() if v.ndim >= 1)
        state = {**state, key: torch.zeros(*state[key].shape[:-1], state[key].shape[-1] + 1)}
    elif kind == "zero-examples":
        num_examples = 0
    return state, num_examples
