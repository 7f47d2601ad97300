"""Runs the protocols (knn, linear, finetune) on tasks for one set of encoders.

Inputs of a task are decoded once per audio front-end and kept in their
compact eval form (uint8 images, fp16 log-mels), so a sweep over the rounds
of a run decodes each dataset once. Features are extracted once per
(encoders, task, split, modality) and shared by kNN and the linear probe.

Modes of a paired task: "av" (image and its audio), "v", "a". kNN in A+V
mode uses the concatenation of the L2-normalised image and audio features
(equal weight); linear and finetune use one shared linear layer and the mean
of the logits of the image and of its audio (the paper's Table 4).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F

from ..core.inputs import InputPipeline
from ..core.modalities import MODALITIES, NAMES, modality
from ..core.models import SSLModel
from ..core.progress import Progress
from .features import compact_inputs, extract_features, has_batchnorm, with_bn_stats_from
from .knn import knn_accuracy
from .probe import ProbeSettings, finetune, linear_probe
from .tasks import Task

logger = logging.getLogger("fssuavl.evaluate")
PROTOCOLS = ("knn", "linear", "finetune")
# modes of paired tasks: every modality together ("av"), or one ("v", "a"), as the paper's columns
MODES = MappingProxyType({"av": NAMES, **{m.letter.lower(): (m.name,) for m in MODALITIES}})
BN_STATS = ("checkpoint", "task")  # see EvalSettings.bn_stats
MODE_NAMES = MappingProxyType({"av": "+".join(sorted(m.letter for m in MODALITIES)),
                               **{m.letter.lower(): m.letter for m in MODALITIES}})


@dataclass(frozen=True)
class EvalSettings:
    protocols: tuple[str, ...] = ("knn",)
    modes: tuple[str, ...] = ("av", "v", "a")
    knn_k: int = 200
    knn_t: float = 0.1
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    max_samples: int = 0  # rows per split, seeded subset; 0 = all
    seed: int = 0
    finetune_views: str = "train"  # train: random crops (and flips) per epoch; none: eval inputs
    # kNN / linear features with BatchNorm statistics of the checkpoint (default) or
    # re-estimated on each task's training inputs, per modality ("task"; ours)
    bn_stats: str = "checkpoint"

    def __post_init__(self) -> None:
        if self.bn_stats not in BN_STATS:
            raise ValueError(f"bn_stats must be one of {BN_STATS}, got {self.bn_stats!r}")


@dataclass
class Encoders:
    """The model(s) under evaluation: one checkpoint, or an image and an audio checkpoint."""

    models: dict[str, SSLModel]  # modality -> model (the same object for one checkpoint)
    label: str  # method name in tables
    round: int | None
    checkpoints: dict[str, str]  # modality -> checkpoint path
    arch: str


@dataclass
class SplitInputs:
    compact: dict[str, torch.Tensor]  # modality -> (N, ...) compact eval inputs, rows aligned
    labels: torch.Tensor  # (N,) int64
    finetune: dict[str, Any] | None = None  # modality -> what fine-tuning draws views from
    # modality -> rows of `compact` that hold each distinct item once (a paired-by-label
    # task repeats an image for every clip it is paired with); absent = every row
    distinct: dict[str, torch.Tensor] = field(default_factory=dict)

    def distinct_compact(self, m: str) -> torch.Tensor:
        """(M, ...) compact inputs of modality `m`, each distinct item once."""
        return self.compact[m][self.distinct[m]] if m in self.distinct else self.compact[m]


def modes_for(task: Task, settings: EvalSettings) -> list[str]:
    """A unimodal task has its own mode; a paired task the requested ones."""
    if not task.paired:
        return [modality(task.modalities[0]).letter.lower()]
    return list(settings.modes)


def load_split(task: Task, split: str, pipeline: InputPipeline,
               max_seconds: float | None = None, finetune_forms: bool = False) -> SplitInputs:
    """Decode a split's rows once (each distinct item once); rows with a bad item are dropped,
    audio longer than `max_seconds` keeps its centre. With `finetune_forms`, also what
    fine-tuning draws its training views from (raw images, int16 clips)."""
    rows, keep, compact = task.rows[split], np.ones(len(task.labels[split]), bool), {}
    forms = {}
    for m, positions in rows.items():
        unique, inverse = np.unique(positions, return_inverse=True)
        bar = Progress(f"{task.name}/{split} {m}: decoding", len(unique))
        items, kept_pos, forms[m] = compact_inputs(task.sources[m], split, unique, pipeline,
                                                   bar.update, max_seconds, finetune_forms)
        if items is None:
            raise ValueError(f"{task.name}/{split}: no {m} item could be decoded")
        where = np.full(len(unique), -1)
        where[np.searchsorted(unique, kept_pos)] = np.arange(len(kept_pos))
        row_item = where[inverse]
        keep &= row_item >= 0
        compact[m] = (items, row_item)
    if (~keep).any():
        logger.warning("%s/%s: %d of %d rows dropped (an item could not be decoded)",
                       task.name, split, int((~keep).sum()), len(keep))
    rows_kept = {m: torch.from_numpy(r[keep]) for m, (_, r) in compact.items()}
    out = {m: t[rows_kept[m]] for m, (t, _) in compact.items()}
    views = {m: forms[m][rows_kept[m]] for m in compact} if finetune_forms else None
    distinct = {m: torch.from_numpy(np.sort(np.unique(r.numpy(), return_index=True)[1]))
                for m, r in rows_kept.items()}
    return SplitInputs(out, torch.from_numpy(task.labels[split][keep]).long(), views, distinct)


def features_of(model: SSLModel, pipeline: InputPipeline, modality: str, compact: torch.Tensor,
                label: str, chunk: int = 1024) -> torch.Tensor:
    """(N, D) features, with a progress bar."""
    bar, parts = Progress(f"{label}: features", len(compact)), []
    for lo in range(0, len(compact), chunk):
        parts.append(extract_features(model, pipeline, modality, compact[lo: lo + chunk]).cpu())
        bar.update(min(len(compact), lo + chunk))
    return torch.cat(parts)


def knn_fused(train: dict[str, torch.Tensor], train_labels: torch.Tensor,
              test: dict[str, torch.Tensor], test_labels: torch.Tensor, num_classes: int,
              k: int, t: float) -> dict[int, float]:
    """kNN on the concatenation of per-modality L2-normalised features."""
    def fuse(feats: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([F.normalize(feats[m].float(), dim=1) for m in sorted(feats)], dim=1)
    return knn_accuracy(fuse(train), train_labels, fuse(test), test_labels, num_classes, k, t)


def feature_models(enc: Encoders, data: dict[str, SplitInputs], pipeline: InputPipeline,
                   needed: list[str], bn_stats: str, seed: int = 0) -> dict[str, SSLModel]:
    """The model each modality's kNN / linear features come from: the checkpoint's, or with
    `bn_stats="task"` a copy whose BatchNorm statistics are re-estimated on the task's
    training inputs of that modality, each distinct item once (no labels; test inputs never
    seen)."""
    if bn_stats == "checkpoint":
        return {m: enc.models[m] for m in needed}
    return {m: with_bn_stats_from(enc.models[m], pipeline, m,
                                  data["train"].distinct_compact(m), seed=seed) for m in needed}


def evaluate_task(enc: Encoders, task: Task, data: dict[str, SplitInputs],
                  pipeline: InputPipeline, settings: EvalSettings, device: torch.device
                  ) -> list[dict]:
    """Every (protocol, mode) result of one task for one set of encoders."""
    modes = modes_for(task, settings)
    needed = sorted({m for mode in modes for m in MODES[mode]})
    feats, started = {}, time.perf_counter()
    if {"knn", "linear"} & set(settings.protocols):
        models = feature_models(enc, data, pipeline, needed, settings.bn_stats, settings.seed)
        feats = {(split, m): features_of(models[m], pipeline, m, data[split].compact[m],
                                         f"{enc.label} {task.name}/{split} {m}")
                 for split in ("train", "test") for m in needed}
    features_seconds = round(time.perf_counter() - started, 3)
    # what the kNN / linear features used ("task" changes nothing in a model without BatchNorm)
    bn_used = settings.bn_stats if any(has_batchnorm(enc.models[m]) for m in needed) \
        else "checkpoint"
    bank_k = min(settings.knn_k, len(data["train"].labels))  # knn_scores clamps k to the bank
    if "knn" in settings.protocols and bank_k < settings.knn_k:
        logger.warning("%s: the kNN bank holds %d training items, fewer than --knn-k %d: every "
                       "item votes (k=%d, recorded as knn-k)", task.name, bank_k,
                       settings.knn_k, bank_k)
    roots = {m: str(src.root) if getattr(src, "root", None) else "built-in"
             for m, src in task.sources.items()}
    results = []
    for protocol in settings.protocols:
        for mode in modes:
            mods = MODES[mode]
            started = time.perf_counter()
            train, test = data["train"], data["test"]
            n_cls = len(task.classes)
            if protocol == "knn":
                acc = knn_fused({m: feats[("train", m)] for m in mods}, train.labels,
                                {m: feats[("test", m)] for m in mods}, test.labels, n_cls,
                                settings.knn_k, settings.knn_t)
            elif protocol == "linear":
                acc = linear_probe({m: feats[("train", m)] for m in mods}, train.labels,
                                   {m: feats[("test", m)] for m in mods}, test.labels, n_cls,
                                   settings.probe, device,
                                   progress=_epoch_bar(f"{enc.label} {task.name} linear "
                                                       f"{MODE_NAMES[mode]}", settings.probe))
            else:
                views = ({m: train.finetune[m] for m in mods}
                         if settings.finetune_views == "train" else None)
                acc = finetune({m: enc.models[m] for m in mods}, pipeline,
                               {m: train.compact[m] for m in mods}, train.labels,
                               {m: test.compact[m] for m in mods}, test.labels, n_cls,
                               settings.probe, device, train_views=views,
                               progress=_epoch_bar(f"{enc.label} {task.name} finetune "
                                                   f"{MODE_NAMES[mode]}", settings.probe))
            results.append({
                "task": task.name, "paired": task.paired, "protocol": protocol,
                "roots": roots,
                "mode": MODE_NAMES[mode],
                "method": enc.label, "arch": enc.arch, "round": enc.round,
                "checkpoint": enc.checkpoints if len(set(enc.checkpoints.values())) > 1
                else next(iter(enc.checkpoints.values())),
                "top1": acc.get(1), "top5": acc.get(5), "classes": n_cls,
                "bn-stats": bn_used if protocol != "finetune" else "checkpoint",
                **({"knn-k": bank_k, "knn-t": settings.knn_t} if protocol == "knn" else {}),
                "train-size": len(train.labels), "test-size": len(test.labels),
                "seconds": round(time.perf_counter() - started, 3),
                "features-seconds": features_seconds if protocol != "finetune" else 0.0})
            logger.info("%s round %s %s %s %s: top-1 %.4f", enc.label, enc.round, task.name,
                        protocol, MODE_NAMES[mode], acc[1])
    return results


def _epoch_bar(label: str, probe: ProbeSettings):
    bar = Progress(label, probe.epochs)
    return lambda epoch, loss: bar.update(epoch + 1, f", loss {loss:.3f}")


def test_features(enc: Encoders, task: Task, data: dict[str, SplitInputs],
                  pipeline: InputPipeline, max_points: int, seed: int
                  ) -> dict[str, torch.Tensor]:
    """Test-split features per modality of a task, at most `max_points` each (for t-SNE),
    with the checkpoint's BatchNorm statistics whatever `bn_stats` says."""
    split = data["test"]
    keep = np.sort(np.random.default_rng([seed, 606]).permutation(len(split.labels))[:max_points])
    out = {}
    for m in task.modalities:
        name = task.name if not task.paired else f"{task.name} ({modality(m).letter})"
        out[name] = features_of(enc.models[m], pipeline, m, split.compact[m][keep],
                                f"{enc.label} {name} t-SNE")
    return out

