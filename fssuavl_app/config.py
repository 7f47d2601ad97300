"""One typed, validated view of the Flower run config.

`RunConfig.from_run_config(context.run_config)` is the only way the apps read
their settings. Keys are the dashed names used in `pyproject.toml` and
`conf/*.toml`; unknown keys, wrong types and out-of-range values raise
`ConfigError` with a message naming the key and what is allowed.

`python -m fssuavl_app.config --help` lists every key with its default.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ARCHS = ("resnet18", "vit")
LOSSES = ("simclr", "barlow-twins")
LR_SCHEDULES = ("constant", "cosine")
# Readers live in data/registry.py; names are listed here so that validating a
# config does not import them (a test checks both lists agree).
IMAGE_DATASETS = ("synthetic-shapes", "mnist", "fashion-mnist", "cifar10", "tiny-imagenet",
                  "image-folder", "advance-images")
AUDIO_DATASETS = ("synthetic-sounds", "vggsound", "speech-commands", "epic-sounds", "esc50",
                  "fsdd", "audio-folder", "advance-sounds")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
AUTO_ON_OFF = ("auto", "on", "off")


class ConfigError(ValueError):
    """A run-config key is unknown or has a bad value."""


def _opt(default: Any, help: str, *, choices: tuple | None = None,
         lo: float | None = None, hi: float | None = None) -> Any:
    return field(default=default,
                 metadata={"help": help, "choices": choices, "lo": lo, "hi": hi})


@dataclass(frozen=True)
class RunConfig:
    """All settings of one federated pretraining run (see field help)."""

    num_server_rounds: int = _opt(30, "FL rounds to run (total, counting resumed ones)", lo=1)
    fraction_train: float = _opt(0.1, "share of clients sampled per round", lo=0.0, hi=1.0)
    local_epochs: int = _opt(2, "local epochs E per selected client", lo=1)
    batch_size: int = _opt(16, "samples per single-modality batch", lo=2)
    lr: float = _opt(0.03, "SGD learning rate", lo=0.0)
    momentum: float = _opt(0.9, "SGD momentum", lo=0.0, hi=1.0)
    weight_decay: float = _opt(1e-4, "SGD weight decay", lo=0.0)
    lr_schedule: str = _opt("constant", "learning rate over rounds: constant (the paper keeps "
                            "it unchanged through FL pretraining) or cosine from lr to 0",
                            choices=LR_SCHEDULES)
    loss: str = _opt("simclr", "SSL loss: simclr (NT-Xent) or barlow-twins", choices=LOSSES)
    temperature: float = _opt(0.5, "NT-Xent temperature tau", lo=1e-6)
    bt_lambda: float = _opt(0.005, "Barlow Twins off-diagonal weight lambda (0.005 as in "
                            "L-DAWA, the authors' FSSL code)", lo=0.0)
    arch: str = _opt("resnet18", "encoder architecture", choices=ARCHS)
    proj_dim: int = _opt(128, "projection output dimension", lo=1)
    proj_hidden_dim: int = _opt(0, "projection MLP hidden width; 0 = one linear layer", lo=0)
    input_size: int = _opt(32, "encoder input side in pixels (images and spectrograms)", lo=16)
    seed: int = _opt(0, "seed for data, partitions, client sampling and views", lo=0)
    image_dataset: str = _opt("synthetic-shapes", "image dataset", choices=IMAGE_DATASETS)
    image_root: str = _opt("", "folder of the image dataset in its published layout "
                               "(not needed for synthetic-shapes)")
    audio_dataset: str = _opt("synthetic-sounds", "audio dataset", choices=AUDIO_DATASETS)
    audio_root: str = _opt("", "folder of the audio dataset (not needed for synthetic-sounds)")
    data_cache: bool = _opt(True, "keep decoded audio and images in an on-disk cache that later "
                                  "epochs, rounds and runs reuse")
    cache_dir: str = _opt("", "cache folder; empty = $FSSUAVL_CACHE or ~/.cache/fssuavl")
    synthetic_train_per_class: int = _opt(300, "built-in data: train samples per class", lo=1)
    synthetic_test_per_class: int = _opt(50, "built-in data: test samples per class", lo=1)
    dirichlet_alpha: float = _opt(0.5, "Dirichlet concentration over labels (lower = more skew)",
                                  lo=1e-6)
    min_partition_size: int = _opt(2, "fewest samples a client may hold of each modality it uses",
                                   lo=1)
    frac_image_only: float = _opt(0.0, "share of clients that train on images only", lo=0.0, hi=1.0)
    frac_audio_only: float = _opt(0.0, "share of clients that train on audio only", lo=0.0, hi=1.0)
    min_train_replies: int = _opt(1, "fewest valid client replies that make a round; with fewer "
                                  "the global model is kept and the round is recorded as skipped",
                                  lo=1)
    round_timeout: float = _opt(3600.0, "seconds the server waits for a round's replies; clients "
                                "that have not answered by then count as failed", lo=1.0)
    fault_injection: str = _opt("", "tests only: make clients fail on purpose, e.g. "
                                "'raise:3,nan:5@2' (kinds raise, oom, hang, nan, shape, "
                                "zero-examples; partition id; optional @round)")
    eval_every: int = _opt(5, "central kNN monitor every N rounds (and on round 0 and the last)",
                           lo=1)
    knn_k: int = _opt(200, "kNN monitor neighbours", lo=1)
    knn_t: float = _opt(0.1, "kNN monitor temperature", lo=1e-6)
    knn_max_samples: int = _opt(10000, "kNN monitor: at most this many items per split and "
                                "modality (a seeded subset); 0 = all", lo=0)
    output_dir: str = _opt("runs", "folder that holds run directories")
    run_name: str = _opt("", "run directory name; empty = timestamp")
    resume: str = _opt("", "run directory to continue from its last checkpoint")
    device: str = _opt("auto", "training device; auto = cuda when available", choices=DEVICES)
    precision: str = _opt("auto", "encoder precision: auto = bf16 autocast on CUDA, fp32 on CPU "
                          "(the loss is always fp32)", choices=PRECISIONS)
    channels_last: str = _opt("auto", "channels_last memory format: auto = on for ResNet-18 on "
                              "CUDA", choices=AUTO_ON_OFF)
    compile: bool = _opt(False, "torch.compile the model once per worker process and reuse it "
                         "across clients and rounds")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_value(f, getattr(self, f.name))
        for modality, dataset, root in (("image", self.image_dataset, self.image_root),
                                        ("audio", self.audio_dataset, self.audio_root)):
            if not dataset.startswith("synthetic-") and not root:
                raise ConfigError(f"{modality}-dataset {dataset!r} needs {modality}-root: the "
                                  "folder that holds it in its published layout")
        if self.fault_injection:
            from .faults import parse_faults

            try:
                parse_faults(self.fault_injection)
            except ValueError as exc:
                raise ConfigError(f"run-config key 'fault-injection': {exc}") from exc
        if self.arch == "vit" and self.input_size % 16:
            raise ConfigError(f"run-config key 'input-size' is {self.input_size}; the ViT needs a "
                              "multiple of 16 (16x16 patches)")
        if self.frac_image_only + self.frac_audio_only > 1.0 + 1e-9:
            raise ConfigError(
                "frac-image-only + frac-audio-only must be <= 1 "
                f"(got {self.frac_image_only} + {self.frac_audio_only}); "
                "the rest of the clients hold both modalities")

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any]) -> "RunConfig":
        """Build from Flower's flat, dashed run config; reject unknown keys."""
        by_key = {key_of(f.name): f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in run_config.items():
            if key not in by_key:
                raise ConfigError(
                    f"unknown run-config key {key!r}; allowed keys: {', '.join(sorted(by_key))}")
            kwargs[by_key[key].name] = _coerce(by_key[key], value)
        return cls(**kwargs)

    def to_run_config(self) -> dict[str, Any]:
        """The flat, dashed dict that `from_run_config` reads (stored in checkpoints)."""
        return {key_of(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}


def key_of(field_name: str) -> str:
    return field_name.replace("_", "-")


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """TOML gives `lr=1` as an int; accept ints for floats, nothing else loose."""
    want = {"int": int, "float": float, "str": str, "bool": bool}[str(f.type)]
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise ConfigError(f"run-config key {key_of(f.name)!r} must be {want.__name__}, "
                          f"got {value!r} ({type(value).__name__})")
    return value


def _check_value(f: dataclasses.Field, value: Any) -> None:
    meta, key = f.metadata, key_of(f.name)
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ConfigError(f"run-config key {key!r} is {value!r}; allowed values: "
                          f"{', '.join(map(repr, meta['choices']))}")
    if meta["lo"] is not None and value < meta["lo"]:
        raise ConfigError(f"run-config key {key!r} is {value!r}; it must be >= {meta['lo']}")
    if meta["hi"] is not None and value > meta["hi"]:
        raise ConfigError(f"run-config key {key!r} is {value!r}; it must be <= {meta['hi']}")


def describe_keys() -> str:
    """One line per key: name, default, allowed values, help."""
    lines = []
    for f in dataclasses.fields(RunConfig):
        m = f.metadata
        allowed = ""
        if m["choices"]:
            allowed = f" one of {', '.join(m['choices'])}."
        elif m["lo"] is not None or m["hi"] is not None:
            allowed = f" range [{m['lo'] if m['lo'] is not None else ''}, " \
                      f"{m['hi'] if m['hi'] is not None else ''}]."
        lines.append(f"  {key_of(f.name):28s} default {f.default!r:20s} {m['help']}.{allowed}")
    return "\n".join(lines)


def app_defaults(app_dir: str | Path) -> dict[str, Any]:
    """The run config of an app's pyproject.toml ([tool.flwr.app.config]), or {} if none."""
    import tomllib

    path = Path(app_dir) / "pyproject.toml"
    if not path.is_file():
        return {}
    with open(path, "rb") as fh:
        return dict(tomllib.load(fh).get("tool", {}).get("flwr", {}).get("app", {})
                    .get("config", {}))


def config_from_cli(overrides: list[str] | None, app_dir: str | Path = ".") -> RunConfig:
    """What `flwr run APP --run-config ...` would give: the app's pyproject run config
    (package defaults when APP has none), then each override in order: a TOML file
    or a 'key=value key2="text"' string."""
    from flwr.common.config import parse_config_args

    merged = app_defaults(app_dir)
    for item in overrides or []:
        try:
            merged.update(parse_config_args([item]))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read run-config override {item!r}: {exc}") from exc
        except Exception as exc:  # click.ClickException for a malformed 'k=v' string
            raise ConfigError(f"cannot parse run-config override {item!r}: {exc}") from exc
    return RunConfig.from_run_config(merged)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fssuavl_app.config",
        description="Run-config keys of the FSSUAVL Flower app. Override them with "
                    "`flwr run . --run-config 'key=value ...'` or a conf/*.toml file.",
        epilog=describe_keys(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="TOML", help="validate a run-config TOML file")
    args = parser.parse_args(argv)
    if args.check:
        import tomllib
        with open(args.check, "rb") as fh:
            cfg = RunConfig.from_run_config(tomllib.load(fh))
        print(f"{args.check}: OK ({len(cfg.to_run_config())} keys)")
    else:
        print(describe_keys())


if __name__ == "__main__":
    main()
