"""What the server tells a client each round: `RoundSettings`, carried in the train
message's ConfigRecord as flat keys ("train.lr", "model.arch", "inputs.audio.n_mels", ...).

The server is the one source of truth for training settings: clients train
with what they are sent, so a resumed run or a preset cannot drift between
the server and its clients.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any

from flwr.app import ConfigRecord

from ..core.inputs import InputSpec
from ..core.models import ModelArgs
from ..core.train import TrainSettings


@dataclass(frozen=True)
class RoundSettings:
    """Everything a client needs to train one round, besides the weights."""

    global_round: int  # 1-based, counting rounds of earlier (resumed) runs
    seed: int  # the run's seed: the client's generator is drawn from (seed, round, partition)
    model: ModelArgs
    train: TrainSettings
    inputs: InputSpec
    # The run's whole effective config (a resumed run's stored one, presets expanded): the
    # worker runtime opens the data and computes the partition from it.
    run_config: tuple[tuple[str, Any], ...] = ()

    def to_record(self) -> ConfigRecord:
        return ConfigRecord(flatten(self))

    @classmethod
    def from_record(cls, record) -> "RoundSettings":
        return unflatten(cls, dict(record))


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A (nested) frozen dataclass -> {"a.b": scalar}; option pairs become JSON text."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value, key = getattr(obj, f.name), prefix + f.name
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, key + "."))
        elif isinstance(value, tuple):
            out[key] = json.dumps(dict(value), sort_keys=True)
        else:
            out[key] = value
    return out


def unflatten(cls: type, record: dict[str, Any], prefix: str = "") -> Any:
    """The inverse of `flatten`; a missing key is a clear error (server and client differ)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        kind, key = hints[f.name], prefix + f.name
        if dataclasses.is_dataclass(kind):
            kwargs[f.name] = unflatten(kind, record, key + ".")
            continue
        if key not in record:
            raise ValueError(f"the train message lacks {key!r}: the ServerApp and this "
                             "ClientApp are different versions of the app")
        value = record[key]
        if typing.get_origin(kind) is tuple:
            value = tuple(sorted(json.loads(value).items()))
        elif kind is float:
            value = float(value)
        kwargs[f.name] = value
    return cls(**kwargs)
