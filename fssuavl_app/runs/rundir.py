"""The run directory: checkpoints, `metrics.jsonl`, TensorBoard events.

Layout of `<output-dir>/<run-name>/`:
  round-0000.safetensors / round-0000.json   initial weights (round 0), then one per round
  metrics.jsonl                              one JSON object per round
  tb/                                        TensorBoard scalars
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .checkpoint import Checkpoint, latest_checkpoint, list_checkpoints
from .config import RunConfig


class RunDirError(ValueError):
    """The run directory cannot be created or resumed as asked."""


def resolve_run_dir(cfg: RunConfig) -> tuple[Path, Checkpoint | None]:
    """The run directory to write to and, when resuming, its last checkpoint."""
    if cfg.resume:
        run_dir = Path(cfg.resume).expanduser().resolve()
        last = latest_checkpoint(run_dir)
        if last is None:
            raise RunDirError(f"resume={cfg.resume!r}: no checkpoint in {run_dir}")
        if last.run_config.get("arch") != cfg.arch:
            raise RunDirError(f"resume={cfg.resume!r}: checkpoint arch "
                              f"{last.run_config.get('arch')!r} differs from arch={cfg.arch!r}")
        return run_dir, last
    name = cfg.run_name or time.strftime("%Y%m%d-%H%M%S")
    run_dir = (Path(cfg.output_dir).expanduser() / name).resolve()
    if list_checkpoints(run_dir):
        raise RunDirError(f"{run_dir} already holds a run; set resume=\"{run_dir}\" to "
                          "continue it, or choose another run-name")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir, None


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
        """Drop lines of rounds after the last checkpoint (written before a crash)."""
        if not self.path.exists():
            return
        keep = [line for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line)["round"] <= last_round]
        self.path.write_text("".join(line + "\n" for line in keep))

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


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
