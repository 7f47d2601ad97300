"""One typed, validated view of the Flower run config.

`RunConfig.from_run_config(context.run_config)` is the only way the apps read
their settings. Keys are the dashed names used in `pyproject.toml` and
`conf/*.toml`; unknown keys, wrong types and out-of-range values raise
`ConfigError` with a message naming the key and what is allowed. Choices of
`arch`, `loss` and the datasets come from their registries, and `loss-options`
is checked against the chosen method's own options.

`fssuavl-config` lists every key with its default (and each method's options).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..core.archs import ARCHS
from ..core.audio_frontend import AudioSpec
from ..core.inputs import InputSpec
from ..core.methods import METHODS, OptionError
from ..core.modalities import MODALITIES
from ..core.views.audio import AUDIO_RECIPES
from ..core.views.image import IMAGE_RECIPES
from ..core.models import ModelArgs
from ..core.train import TrainSettings, lr_for_round
from ..data.partition import MODES as PARTITION_MODES
from ..data.registry import dataset_info, dataset_names
from .presets import preset_values

LR_SCHEDULES = ("constant", "cosine")
AGGREGATIONS = ("fedavg", "median", "trimmed-mean", "krum")
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

    num_server_rounds: int = _opt(20, "FL rounds to run (total, counting resumed ones)", lo=1)
    fraction_train: float = _opt(0.1, "share of clients sampled per round", lo=0.0, hi=1.0)
    local_epochs: int = _opt(2, "local epochs E per selected client", lo=1)
    batch_size: int = _opt(16, "samples per single-modality batch", lo=2)
    lr: float = _opt(0.03, "SGD learning rate", lo=0.0)
    momentum: float = _opt(0.9, "SGD momentum", lo=0.0, hi=1.0)
    weight_decay: float = _opt(1e-4, "SGD weight decay", lo=0.0)
    lr_schedule: str = _opt("constant", "learning rate over rounds: constant (the paper keeps "
                            "it unchanged through FL pretraining) or cosine from lr to 0",
                            choices=LR_SCHEDULES)
    loss: str = _opt("simclr", "SSL method (loss + projection head); see the methods below",
                     choices=tuple(METHODS))
    loss_options: str = _opt("", "options of the chosen loss as 'name=value ...'; empty = its "
                             "defaults (listed below per method)")
    arch: str = _opt("resnet18-half", "encoder; resnet18 is the paper's (every preset), "
                     "resnet18-half the same at half the channels (the quick default)",
                     choices=tuple(ARCHS))
    proj_dim: int = _opt(128, "projection output dimension", lo=1)
    proj_hidden_dim: int = _opt(0, "projection MLP hidden width; 0 = the architecture's "
                                "default (ResNet-18: one linear layer; ViT: width 256)", lo=0)
    input_size: int = _opt(32, "encoder input side in pixels (images and spectrograms)", lo=16)
    image_views: str = _opt("simclr", "image views: viewmaker (the paper's: Viewmaker's expert "
                            "recipe with blur) or simclr (SimCLR's stronger jitter, no blur)",
                            choices=tuple(IMAGE_RECIPES))
    audio_views: str = _opt("extended", "audio views: paper (2 s crop, time and frequency "
                            "masks, noise) or extended (also a frequency shift and a "
                            "loudness offset)", choices=tuple(AUDIO_RECIPES))
    seed: int = _opt(0, "seed for data, partitions, client sampling and views", lo=0)
    image_dataset: str = _opt("synthetic-shapes", "image dataset",
                              choices=tuple(dataset_names("image")))
    image_root: str = _opt("", "folder of the image dataset in its published layout "
                               "(not needed for synthetic-shapes)")
    audio_dataset: str = _opt("synthetic-sounds", "audio dataset",
                              choices=tuple(dataset_names("audio")))
    audio_root: str = _opt("", "folder of the audio dataset (not needed for synthetic-sounds)")
    max_clip_seconds: float = _opt(10.0, "audio clips longer than this are cut to their centre "
                                   "this long when loaded, so memory stays bounded", lo=2.0)
    data_cache: bool = _opt(True, "keep decoded audio and images in an on-disk cache that later "
                                  "epochs, rounds and runs reuse")
    cache_dir: str = _opt("", "cache folder; empty = $FSSUAVL_CACHE or ~/.cache/fssuavl")
    synthetic_train_per_class: int = _opt(300, "built-in data: train samples per class", lo=1)
    synthetic_test_per_class: int = _opt(50, "built-in data: test samples per class", lo=1)
    dirichlet_alpha: float = _opt(0.5, "Dirichlet concentration over labels (lower = more skew)",
                                  lo=1e-6)
    min_partition_size: int = _opt(2, "fewest samples a client may hold of each modality it uses",
                                   lo=1)
    partition_mode: str = _opt("paper", "paper: each modality cut into one Dirichlet shard per "
                               "client, a unimodal client keeps only its own modality's shard "
                               "(the rest is unused, as in the paper); redistribute: each "
                               "modality cut among the clients that use it (all data used)",
                               choices=PARTITION_MODES)
    frac_image_only: float = _opt(0.0, "share of clients that train on images only", lo=0.0, hi=1.0)
    frac_audio_only: float = _opt(0.0, "share of clients that train on audio only", lo=0.0, hi=1.0)
    min_train_replies: int = _opt(1, "fewest valid client replies that make a round; with fewer "
                                  "the global model is kept and the round is recorded as skipped",
                                  lo=1)
    max_skipped_rounds: int = _opt(3, "a run in which more rounds than this in a row keep the "
                                   "model (too few valid replies) ends as failed; 0 = never",
                                   lo=0)
    aggregation: str = _opt("fedavg", "how valid replies are combined: fedavg (weighted by "
                            "num-examples, the paper's), median, trimmed-mean or krum (Flower's "
                            "FedMedian, FedTrimmedAvg, Krum)", choices=AGGREGATIONS)
    trim_beta: float = _opt(0.2, "trimmed-mean: share of replies cut at each end, per weight",
                            lo=0.0, hi=0.49)
    byzantine_clients: int = _opt(1, "krum: lying clients per round it must tolerate", lo=0)
    max_client_examples: int = _opt(0, "reject a reply claiming more examples than this; 0 = "
                                    "no cap beyond what the partition gives each client", lo=0)
    partition_summary: str = _opt("", "deployment: the summary.json of fssuavl-partition; "
                                  "replies are checked against the counts it lists per client")
    round_timeout: float = _opt(3600.0, "seconds the server waits for a round's replies; clients "
                                "that have not answered by then count as failed", lo=1.0)
    fault_injection: str = _opt("", "tests only: make clients fail on purpose, e.g. "
                                "'raise:3,nan:5@2' (kinds raise, oom, hang, nan, shape, "
                                "zero-examples; partition id; optional @round)")
    eval_every: int = _opt(5, "central kNN monitor every N rounds (and on round 0 and the last)",
                           lo=1)
    knn_k: int = _opt(200, "kNN monitor neighbours", lo=1)
    knn_t: float = _opt(0.1, "kNN monitor temperature", lo=1e-6)
    knn_small_k: int = _opt(20, "the monitor also scores its features at this k and logs "
                            "top-1 as knn-<modality>-top1-k<K>: at k=200 the score also rises "
                            "when features merely spread out (docs/default-run-sizing.md); "
                            "0 = off", lo=0)
    knn_max_samples: int = _opt(1000, "kNN monitor: at most this many items per split and "
                                "modality (a seeded subset; small so the quick default stays "
                                "quick on a slow CPU); 0 = all (the paper presets)", lo=0)
    output_dir: str = _opt("runs", "folder that holds run directories")
    run_name: str = _opt("", "run directory name; empty = timestamp")
    resume: str = _opt("", "run directory to continue from its last checkpoint, with its "
                       "settings; keys you set that change training are refused")
    preset: str = _opt("", "an experiment of the paper, e.g. paper/fssuavl-r18-simclr or "
                       "quick/model-comb-r18-simclr (fssuavl-config --presets): its keys replace "
                       "the defaults, keys you set replace its")
    device: str = _opt("auto", "training device; auto = cuda when available", choices=DEVICES)
    precision: str = _opt("auto", "encoder precision: auto = bf16 autocast on CUDA, fp32 on CPU "
                          "(the loss is always fp32)", choices=PRECISIONS)
    channels_last: str = _opt("auto", "channels_last memory format: auto = on for ResNet-18 "
                              "(either width) on CUDA", choices=AUTO_ON_OFF)
    compile: bool = _opt(False, "torch.compile the model once per worker process and reuse it "
                         "across clients and rounds")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_value(f, getattr(self, f.name))
        for m in MODALITIES:
            dataset = self.dataset_of(m.name)
            if dataset_info(dataset).needs_root and not self.root_of(m.name):
                raise ConfigError(f"{m.name}-dataset {dataset!r} needs {m.name}-root: the "
                                  "folder that holds it in its published layout")
        try:
            METHODS[self.loss].resolve(self.loss_options)
        except OptionError as exc:
            raise ConfigError(f"run-config key 'loss-options': {exc}") from exc
        try:
            ARCHS[self.arch].check_input_size(self.input_size)
        except ValueError as exc:
            raise ConfigError(f"run-config key 'input-size' is {self.input_size}: {exc}") from exc
        only = sum(self.only_fractions().values())
        if only > 1.0 + 1e-9:
            terms = " + ".join(f"frac-{m}-only" for m in self.only_fractions())
            values = " + ".join(str(v) for v in self.only_fractions().values())
            raise ConfigError(f"{terms} must be <= 1 (got {values}); the rest of the clients "
                              "hold every modality")

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any], *, expand_preset: bool = True
                        ) -> "RunConfig":
        """Build from Flower's flat, dashed run config; reject unknown keys.

        With `expand_preset`, a `preset` key brings its keys in first (see
        `with_preset`); a config that is already expanded (a checkpoint's,
        or the one the server sends) is read as it is.
        """
        by_key = {key_of(f.name): f for f in dataclasses.fields(cls)}
        if expand_preset:
            run_config = with_preset(run_config)
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

    # ---- per-modality keys (`<modality>-dataset`, `<modality>-root`, `frac-<modality>-only`)

    def dataset_of(self, modality: str) -> str:
        return getattr(self, f"{modality}_dataset")

    def root_of(self, modality: str) -> str:
        return getattr(self, f"{modality}_root")

    def only_fractions(self) -> dict[str, float]:
        """Share of clients that hold one modality only, per modality."""
        return {m.name: getattr(self, f"frac_{m.name}_only") for m in MODALITIES}

    # ---- what the config means for the model, its inputs and local training

    def loss_option_values(self) -> dict[str, Any]:
        """Every option of the chosen loss, defaults filled in."""
        return METHODS[self.loss].resolve(self.loss_options)

    def model_args(self) -> ModelArgs:
        return ModelArgs(arch=self.arch, proj_dim=self.proj_dim,
                         proj_hidden_dim=self.proj_hidden_dim, input_size=self.input_size,
                         loss=self.loss,
                         head_options=METHODS[self.loss].head_options(self.loss_option_values()))

    def input_spec(self, audio: AudioSpec | None = None) -> InputSpec:
        """The encoder inputs of this config; `audio` (a stored run's) replaces the default
        front-end."""
        return InputSpec(input_size=self.input_size, audio=audio or AudioSpec(),
                         image_views=self.image_views, audio_views=self.audio_views)

    def train_settings(self, global_round: int) -> TrainSettings:
        """Local training settings of one round (the lr follows `lr-schedule` over rounds)."""
        return TrainSettings(
            epochs=self.local_epochs, batch_size=self.batch_size,
            lr=lr_for_round(self.lr, self.lr_schedule, global_round, self.num_server_rounds),
            momentum=self.momentum, weight_decay=self.weight_decay, loss=self.loss,
            loss_options=tuple(sorted(self.loss_option_values().items())))

    def cache_root(self) -> Path:
        """The decode cache folder: `cache-dir`, else $FSSUAVL_CACHE, else
        $XDG_CACHE_HOME/fssuavl, else ~/.cache/fssuavl (the environment is read here only)."""
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        if os.environ.get("FSSUAVL_CACHE"):
            return Path(os.environ["FSSUAVL_CACHE"])
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "fssuavl"


def key_of(field_name: str) -> str:
    return field_name.replace("_", "-")


def defaults() -> dict[str, Any]:
    """Every key's default (the same as pyproject.toml's [tool.flwr.app.config]; a test checks)."""
    return RunConfig().to_run_config()


def set_keys(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The keys whose value differs from the default: what the user chose.

    Flower hands the app the pyproject defaults merged with the overrides, so
    a key set on the command line to its default value cannot be told apart
    from one left alone; both count as left alone.
    """
    base = defaults()
    return {k: v for k, v in run_config.items() if k not in base or base[k] != v}


def with_preset(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config with its `preset` expanded: defaults, then the preset's keys, then the
    keys set away from their defaults (so one command can combine a preset with data roots,
    a seed or a run name)."""
    name = run_config.get("preset", "")
    if not name:
        return dict(run_config)
    try:
        values = preset_values(str(name))
    except ValueError as exc:
        raise ConfigError(f"run-config key 'preset': {exc}") from exc
    return {**run_config, **values, **set_keys(run_config)}


# Keys that may change when a run is resumed: they do not change what is learned (rounds to
# run, the monitor, devices and speed, timeouts, where data and outputs are).
RESUMABLE_KEYS = frozenset({
    "num-server-rounds", "eval-every", "knn-k", "knn-t", "knn-small-k", "knn-max-samples",
    "device", "precision", "channels-last", "compile", "round-timeout", "min-train-replies",
    "max-skipped-rounds", "max-client-examples", "partition-summary", "fault-injection",
    "data-cache", "cache-dir", "image-root", "audio-root", "output-dir", "run-name", "resume",
    "preset"})


def resumed_config(given: Mapping[str, Any], stored: Mapping[str, Any]
                   ) -> tuple[RunConfig, list[str]]:
    """The config of a resumed run: the stored run's, plus the keys `given` sets that may
    change (they are returned as 'key: old -> new' lines for the log).

    A key set away from its default (or by a preset) that would change what is
    learned, with a value other than the stored one, raises ConfigError naming
    the key and both values.
    """
    RunConfig.from_run_config(given)  # unknown keys and bad values: the usual errors
    base, current = defaults(), with_preset(given)
    chosen = set(set_keys(given))
    if given.get("preset"):
        chosen |= set(preset_values(str(given["preset"])))
    merged = {k: stored.get(k, v) for k, v in base.items()}  # keys older runs lack: defaults
    changes, refused = [], []
    for key in sorted(chosen - {"resume", "preset"}):
        old, new = merged[key], current[key]
        if old == new:
            continue
        # a schedule over rounds spans num-server-rounds: more rounds would change every lr
        schedule_spans_rounds = key == "num-server-rounds" and merged["lr-schedule"] != "constant"
        if key in RESUMABLE_KEYS and not schedule_spans_rounds:
            merged[key] = new
            changes.append(f"{key}: {old!r} -> {new!r}")
        else:
            refused.append(f"{key!r} is {old!r} in the stored run and {new!r} now"
                           + (f" (lr-schedule={merged['lr-schedule']!r} spans the rounds)"
                              if schedule_spans_rounds else ""))
    if refused:
        raise ConfigError(f"resume={given.get('resume')!r}: " + "; ".join(refused) + ". These "
                          "change what is learned or the model's shape: resume without them, "
                          "or start a new run (another run-name)")
    merged["resume"] = given.get("resume", "")
    return RunConfig.from_run_config(merged, expand_preset=False), changes


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
    if isinstance(value, float) and not math.isfinite(value):
        # nan passes every comparison below, and inf any open bound
        raise ConfigError(f"run-config key {key!r} is {value!r}; it must be a finite number")
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ConfigError(f"run-config key {key!r} is {value!r}; allowed values: "
                          f"{', '.join(map(repr, meta['choices']))}")
    if meta["lo"] is not None and value < meta["lo"]:
        raise ConfigError(f"run-config key {key!r} is {value!r}; it must be >= {meta['lo']}")
    if meta["hi"] is not None and value > meta["hi"]:
        raise ConfigError(f"run-config key {key!r} is {value!r}; it must be <= {meta['hi']}")


def describe_keys() -> str:
    """One line per key: name, default, allowed values, help; then each method's options."""
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
    lines.append("\nloss-options of each loss (name = default: meaning):")
    lines += [method.describe() for method in METHODS.values()]
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
