"""Self-describing checkpoints: safetensors weights + JSON metadata, written atomically and
flushed to disk (`files.write_atomic`).

A run directory holds `round-XXXX.safetensors` + `round-XXXX.json` per round.
The JSON has the round, the full run config, the model arguments, the audio
front-end settings, the round's metrics and the SHA-256 of the weights file:
enough to rebuild the model and its inputs without anything else
(`load_checkpoint`). Loading never unpickles anything (safetensors + JSON), and
a weights file whose checksum differs (tampered, truncated, swapped) is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from safetensors.torch import load, save

from ..core.audio_frontend import AudioSpec
from ..core.inputs import InputSpec
from ..core.models import ModelArgs, SSLModel, build_model
from .files import write_atomic, write_json_atomic

FORMAT = "fssuavl-checkpoint/1"
_NAME = re.compile(r"^round-(\d{4,})\.json$")


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or not one of ours."""


# the checkpoint JSON's fields, and their types (the weights checksum covers the weights only)
META_FIELDS = MappingProxyType({"round": int, "weights": str, "model_args": dict,
                                "audio_spec": dict, "run_config": dict, "metrics": dict})


@dataclass
class Checkpoint:
    round: int
    state_dict: dict[str, torch.Tensor]
    model_args: ModelArgs
    audio_spec: AudioSpec
    run_config: dict[str, Any]
    metrics: dict[str, Any]
    path: Path

    def build_model(self) -> SSLModel:
        model = build_model(self.model_args)
        model.load_state_dict(self.state_dict)
        return model

    @property
    def input_spec(self) -> InputSpec:
        """The encoder inputs the model was trained on (input side, audio front-end, views;
        checkpoints from before the views were settable used simclr and extended)."""
        return InputSpec(input_size=self.model_args.input_size, audio=self.audio_spec,
                         image_views=self.run_config.get("image-views", "simclr"),
                         audio_views=self.run_config.get("audio-views", "extended"))


def checkpoint_paths(run_dir: Path, round_: int) -> tuple[Path, Path]:
    stem = Path(run_dir) / f"round-{round_:04d}"
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_checkpoint(run_dir: Path, round_: int, state_dict: dict[str, torch.Tensor],
                    model_args: ModelArgs, audio_spec: AudioSpec, run_config: dict[str, Any],
                    metrics: dict[str, Any]) -> Path:
    """Weights first, then the JSON that names them: a JSON present means a whole checkpoint."""
    weights_path, meta_path = checkpoint_paths(run_dir, round_)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    blob = save(tensors)  # serialise once: hash these bytes, write these bytes

    write_atomic(weights_path, blob)
    meta = {"format": FORMAT, "round": round_, "weights": weights_path.name,
            "weights_sha256": hashlib.sha256(blob).hexdigest(),
            "model_args": model_args.to_dict(), "audio_spec": audio_spec.to_dict(),
            "run_config": run_config, "metrics": metrics}

    write_json_atomic(meta_path, meta, indent=2)
    return meta_path


def load_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON half of a checkpoint (round, run config, model args, metrics); no weights read."""
    meta_path = Path(path).with_suffix(".json")
    if not meta_path.is_file():
        raise CheckpointError(f"no checkpoint metadata at {meta_path}")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{meta_path} is not readable JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path} is not an FSSUAVL checkpoint "
                              f"(format {meta.get('format') if isinstance(meta, dict) else None!r}"
                              f", expected {FORMAT!r})")
    wrong = [f"{key!r} ({want.__name__})" for key, want in META_FIELDS.items()
             if not isinstance(meta.get(key), want) or isinstance(meta.get(key), bool)]
    if wrong:
        raise CheckpointError(f"{meta_path} lacks or mangles {', '.join(wrong)}: it was edited "
                              "or not written by this version")
    return meta


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load from a checkpoint's .json or .safetensors path (weights checked against their checksum)."""
    meta_path = Path(path).with_suffix(".json")
    meta = load_metadata(meta_path)
    weights = meta_path.parent / meta["weights"]
    if not weights.is_file():
        raise CheckpointError(f"{meta_path}: its weights file {weights} is missing")
    expected = meta.get("weights_sha256")
    if expected is None:
        raise CheckpointError(f"{meta_path} has no weights checksum; it was not written by this "
                              "version and is refused")
    blob = weights.read_bytes()  # read once: hash these bytes, parse these bytes
    if hashlib.sha256(blob).hexdigest() != expected:
        raise CheckpointError(f"{weights} does not match the checksum in {meta_path.name}: the "
                              "file was changed, truncated or replaced after it was written; "
                              "refusing to load it")
    try:
        state = load(blob)
    except Exception as exc:  # safetensors raises several types for bad files
        raise CheckpointError(f"cannot read weights {weights}: {exc}") from exc
    try:
        model_args = ModelArgs.from_dict(meta["model_args"])
        audio_spec = AudioSpec(**meta["audio_spec"])
    except (TypeError, ValueError) as exc:  # an unknown field, a value out of range
        raise CheckpointError(f"{meta_path}: its model_args / audio_spec do not describe a "
                              f"model this version can rebuild ({exc})") from exc
    return Checkpoint(round=meta["round"], state_dict=state, model_args=model_args,
                      audio_spec=audio_spec, run_config=meta["run_config"],
                      metrics=meta["metrics"], path=meta_path)


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(round, json path) of every complete checkpoint in `run_dir`, by round."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Checkpoint | None:
    found = list_checkpoints(run_dir)
    return load_checkpoint(found[-1][1]) if found else None
