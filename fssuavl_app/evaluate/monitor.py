"""Central kNN monitor run by the ServerApp: image and audio scored separately."""

from __future__ import annotations

import torch

from ..data import Source, load_images, load_waveforms
from ..inputs import InputPipeline
from ..models import SSLModel
from .features import extract_features
from .knn import knn_accuracy

_LOAD_CHUNK = 256


def _compact_split(source: Source, split: str, pipeline: InputPipeline) -> torch.Tensor:
    """All eval inputs of one split, in their stored form, built chunk by chunk."""
    n = len(source.labels(split))
    parts = []
    for lo in range(0, n, _LOAD_CHUNK):
        idx = range(lo, min(n, lo + _LOAD_CHUNK))
        raw = (load_images if source.modality == "image" else load_waveforms)(source, split, idx)
        parts.append(pipeline.eval_compact(source.modality, raw).cpu())
    return torch.cat(parts)


class KnnMonitor:
    """Weighted kNN (train split as bank, test split as queries) per modality.

    Eval inputs are decoded once at construction and reused every call.
    """

    def __init__(self, sources: dict[str, Source], pipeline: InputPipeline, k: int, t: float):
        self.sources, self.pipeline, self.k, self.t = sources, pipeline, k, t
        self.inputs = {(m, split): _compact_split(src, split, pipeline)
                       for m, src in sources.items() for split in ("train", "test")}
        self.labels = {(m, split): torch.from_numpy(src.labels(split))
                       for m, src in sources.items() for split in ("train", "test")}

    def __call__(self, model: SSLModel) -> dict[str, float]:
        """{"knn-image-top1": ..., "knn-image-top5": ..., "knn-audio-top1": ...}."""
        out = {}
        for m, src in self.sources.items():
            feats = {split: extract_features(model, self.pipeline, m, self.inputs[(m, split)])
                     for split in ("train", "test")}
            acc = knn_accuracy(feats["train"], self.labels[(m, "train")], feats["test"],
                               self.labels[(m, "test")], len(src.classes), self.k, self.t)
            out.update({f"knn-{m}-top{k}": v for k, v in acc.items()})
        return out
