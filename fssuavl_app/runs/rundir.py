"""The run directory: checkpoints, `metrics.jsonl`, TensorBoard events.

Layout of `<output-dir>/<run-name>/`:
  round-0000.safetensors / round-0000.json   initial weights (round 0), then one per round
  metrics.jsonl                              one JSON object per round
  tb/                                        TensorBoard scalars
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from .checkpoint import Checkpoint, latest_checkpoint, list_checkpoints
from .config import RunConfig
from .files import make_folder, write_atomic

logger = logging.getLogger("fssuavl.runs")


class RunDirError(ValueError):
    """The run directory cannot be created or resumed as asked."""


def resolve_run_dir(cfg: RunConfig) -> tuple[Path, Checkpoint | None]:
    """The run directory to write to and, when resuming, its last checkpoint.

    The folder is not created here: the server creates it once every check at
    start has passed, so a run refused at start leaves no empty folder behind.
    """
    if cfg.resume:
        run_dir = _resumable_dir(cfg.resume)
        last = latest_checkpoint(run_dir)
        if last is None:
            raise RunDirError(f"resume={cfg.resume!r}: no checkpoint (round-NNNN.json) in "
                              f"{run_dir}")
        return run_dir, last
    name = cfg.run_name or time.strftime("%Y%m%d-%H%M%S")
    run_dir = (Path(cfg.output_dir).expanduser() / name).resolve()
    if list_checkpoints(run_dir):
        raise RunDirError(f"{run_dir} already holds a run; set resume=\"{run_dir}\" to "
                          "continue it, or choose another run-name")
    if (run_dir / "metrics.jsonl").exists():  # a new run would append to another run's rounds
        raise RunDirError(f"{run_dir} holds the metrics.jsonl of an earlier run but no "
                          "checkpoint; move that file away or choose another run-name")
    _check_creatable(run_dir)
    return run_dir, None


def _check_creatable(run_dir: Path) -> None:
    """Refuse at start a run directory that cannot be made: its nearest existing folder
    is a file or not writable (a run would otherwise stop only when round 0 is saved)."""
    above = run_dir
    while not above.exists():
        above = above.parent
    if not above.is_dir():  # the run directory itself, or a folder above it
        raise RunDirError(f"cannot create the run directory {run_dir}: {above} is a file; "
                          "choose another run-name or output-dir")
    if not os.access(above, os.W_OK | os.X_OK):
        raise RunDirError(f"cannot create the run directory {run_dir}: {above} is not "
                          "writable; set output-dir to a folder you can write to")


def make_run_dir(run_dir: Path) -> None:
    """Create the run directory (and its parents), a failure as a RunDirError."""
    make_folder(run_dir, lambda why: RunDirError(f"{why}; set output-dir to a folder you "
                                                 "can write to"))


def _resumable_dir(resume: str) -> Path:
    """The run directory `resume` names; refuses a missing path or a file, naming the folder."""
    path = Path(resume).expanduser().resolve()
    if path.is_file():
        raise RunDirError(f"resume={resume!r} is a file; resume takes the run directory that "
                          f"holds the checkpoints: resume=\"{path.parent}\"")
    if not path.exists():
        raise RunDirError(f"resume={resume!r}: {path} does not exist; resume takes a run "
                          "directory, <output-dir>/<run-name>, e.g. runs/20261128-120000")
    return path


class MetricsLog:
    """Appends one JSON line per round to metrics.jsonl and mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: Path, resume_after: int | None):
        self.path = run_dir / "metrics.jsonl"
        if resume_after is not None:
            self._truncate_after(resume_after)
        from torch.utils.tensorboard import SummaryWriter  # heavy import, only here
        purge = None if resume_after is None else resume_after + 1
        self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=purge)

    def _truncate_after(self, last_round: int) -> None:
        """Drop lines of rounds after the last checkpoint (written before a crash), and a
        half-written last line (a kill or a full disk while appending)."""
        if not self.path.exists():
            return
        keep = [r for r in _parse_lines(self.path) if r["round"] <= last_round]
        write_atomic(self.path, "".join(json.dumps(r, sort_keys=True) + "\n"
                                        for r in keep).encode())

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
        step = record["round"]
        for key, value in record.items():
            if isinstance(value, (int, float)) and key != "round":
                self.writer.add_scalar(key.replace("-", "/", 1), value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _parse_lines(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl; a half-written LAST line is dropped with a warning,
    a broken line before it is an error naming the line."""
    lines = [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]
    records = []
    for k, (n, line) in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("round"), int):
                raise ValueError("not a round's record")
        except ValueError as exc:
            if k == len(lines) - 1:
                logger.warning("%s: line %d is cut off (%s); dropped", path, n, exc)
                break
            raise RunDirError(f"{path}: line {n} is not a round's record ({exc}); only the last "
                              "line may be cut off by a crash") from exc
        records.append(record)
    return records


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return _parse_lines(path)
