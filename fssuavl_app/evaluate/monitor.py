"""Central kNN monitor run by the ServerApp: image and audio scored separately."""

from __future__ import annotations

import time

import torch

from ..core.inputs import InputPipeline
from ..core.modalities import modality
from ..core.models import SSLModel
from ..data import Source, seeded_subset
from .features import compact_inputs, extract_features
from .knn import knn_accuracy


def _compact_split(source: Source, split: str, pipeline: InputPipeline, max_samples: int,
                   seed: int, max_seconds: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval inputs of (a subset of) one split in their stored form, and their labels;
    items that cannot be decoded are skipped (and logged)."""
    chosen = seeded_subset(len(source.labels(split)), max_samples, seed)
    compact, kept, _ = compact_inputs(source, split, chosen, pipeline, max_seconds=max_seconds)
    if compact is None:
        raise ValueError(f"{source.name}/{split}: no item could be decoded for the kNN monitor")
    return compact, torch.from_numpy(source.labels(split)[kept])


class KnnMonitor:
    """Weighted kNN (train split as bank, test split as queries) per modality.

    Eval inputs are decoded once at construction and reused every call. Large
    splits are capped at `max_samples` items (a seeded subset; 0 = all). With
    `small_k` > 0 (and not k) each call also scores the same features with
    `small_k` neighbours: at k=200 over a 100-item-per-class bank the score
    rises when features merely spread out, a small k shows whether neighbours
    improved.
    """

    def __init__(self, sources: dict[str, Source], pipeline: InputPipeline, k: int, t: float,
                 max_samples: int = 0, seed: int = 0, max_seconds: float | None = None,
                 small_k: int = 0):
        self.sources, self.pipeline, self.k, self.t = sources, pipeline, k, t
        self.small_k = small_k if small_k != k else 0
        self.inputs, self.labels = {}, {}
        started = time.perf_counter()
        for m, src in sources.items():
            for split in ("train", "test"):
                self.inputs[(m, split)], self.labels[(m, split)] = _compact_split(
                    src, split, pipeline, max_samples, seed, max_seconds)
        self.prepare_seconds = time.perf_counter() - started

    def describe(self) -> str:
        """E.g. "image 1000 bank / 500 queries, audio 1000 / 500 (decoded in 8.1 s)"."""
        sizes = [f"{m} {len(self.labels[(m, 'train')])} bank / {len(self.labels[(m, 'test')])} "
                 "queries" for m in self.sources]
        small = [m for m in self.sources if len(self.labels[(m, "train")]) < self.k]
        which = " and ".join(small) + (" banks hold" if len(small) > 1 else " bank holds")
        clamped = (f"; the {which} fewer than knn-k {self.k} items: every item votes"
                   if small else "")
        return f"{', '.join(sizes)} (decoded in {self.prepare_seconds:.1f} s){clamped}"

    def features(self, model: SSLModel) -> dict[tuple[str, str], torch.Tensor]:
        """Encoder features (N, D) of every (modality, split) the monitor holds."""
        return {(m, split): extract_features(model, self.pipeline, m, self.inputs[(m, split)])
                for m in self.sources for split in ("train", "test")}

    def score(self, feats: dict[tuple[str, str], torch.Tensor], k: int | None = None
              ) -> dict[str, float]:
        """kNN top-1 (and top-5) per modality from `features`, with k (default: the monitor's)."""
        out = {}
        for m, src in self.sources.items():
            acc = knn_accuracy(feats[(m, "train")], self.labels[(m, "train")],
                               feats[(m, "test")], self.labels[(m, "test")], len(src.classes),
                               self.k if k is None else k, self.t)
            out.update({modality(m).knn_metric(j): v for j, v in acc.items()})
        return out

    def __call__(self, model: SSLModel) -> dict[str, float]:
        """{"knn-image-top1": ..., "knn-image-top5": ..., "knn-audio-top1": ..., ...}, and
        with `small_k` also {"knn-image-top1-k20": ..., "knn-audio-top1-k20": ...}."""
        feats = self.features(model)
        report = self.score(feats)
        if self.small_k:
            small = self.score(feats, self.small_k)
            for m in map(modality, self.sources):
                report[m.knn_metric_at(self.small_k)] = small[m.knn_metric(1)]
        return report
