"""Feature extraction: the one place that says which features evaluation uses.

ResNet-18: the 512-d pooled encoder output (256-d at half width); ViT: the 256-d mean of its output
tokens after the final LayerNorm (`SSLModel.features`), in eval mode
(BatchNorm running statistics are read, never updated). `with_bn_stats_from`
gives a copy whose BatchNorm statistics come from given inputs instead of the
checkpoint: the global model's are an average over image and audio batches,
which matches neither modality (an option, not the paper's protocol).
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch

from ..core.inputs import InputPipeline
from ..core.modalities import Batch, modality
from ..core.models import SSLModel
from ..data import Source, load_items

LOAD_CHUNK = 256


def compact_inputs(source: Source, split: str, positions: np.ndarray, pipeline: InputPipeline,
                   on_chunk: Callable[[int], None] | None = None,
                   max_seconds: float | None = None, finetune_forms: bool = False
                   ) -> tuple[torch.Tensor | None, np.ndarray, Batch | None]:
    """Stored eval inputs (CPU) of the items at `positions` that decode, those positions, and
    (with `finetune_forms`) what fine-tuning draws its training views from, rows aligned.

    Decodes `LOAD_CHUNK` items at a time; bad items are skipped (and logged by
    `load_items`), audio longer than `max_seconds` keeps its centre; `on_chunk(done)`
    reports progress. None when nothing decodes.
    """
    transform = pipeline.transforms[source.modality]
    parts, kept, forms = [], [], []
    for lo in range(0, len(positions), LOAD_CHUNK):
        loaded = load_items(source, split, positions[lo: lo + LOAD_CHUNK], max_seconds)
        if len(loaded):
            parts.append(transform.eval_compact(loaded.data).cpu())
            kept.append(loaded.kept)
            if finetune_forms:
                forms.append(transform.finetune_form(loaded.data))
        if on_chunk is not None:
            on_chunk(min(len(positions), lo + LOAD_CHUNK))
    if not parts:
        return None, np.zeros(0, np.int64), None
    kind = modality(source.modality)
    return torch.cat(parts), np.concatenate(kept), kind.concat(forms) if forms else None


@torch.inference_mode()
def extract_features(model: SSLModel, pipeline: InputPipeline, modality: str,
                     compact: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, D) fp32 features of stored eval inputs (see `InputPipeline.eval_compact`)."""
    was_training = model.training
    model.eval()
    try:
        feats = [model.features(pipeline.eval_from_compact(modality, chunk)).float()
                 for chunk in torch.split(compact, batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(feats) if feats else torch.zeros(0, 0)


def batchnorms(model: torch.nn.Module) -> list[torch.nn.modules.batchnorm._BatchNorm]:
    return [x for x in model.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)]


def has_batchnorm(model: torch.nn.Module) -> bool:
    return bool(batchnorms(model))


@torch.no_grad()
def with_bn_stats_from(model: SSLModel, pipeline: InputPipeline, modality: str,
                       compact: torch.Tensor, batch_size: int = 256, seed: int = 0
                       ) -> SSLModel:
    """A copy of `model` in eval mode whose BatchNorm running statistics are re-estimated
    on `compact` (stored eval inputs of one modality, as `extract_features` takes): the
    mean of each layer's batch mean and (unbiased) batch variance over near-equal batches
    of at most `batch_size` rows, drawn in a seeded random order (datasets list items by
    class; batches of one class would understate every variance). Weights unchanged,
    `model` untouched. A model without BatchNorm, or fewer than 2 rows (a batch of one
    has no variance), gives `model` back as is."""
    if not has_batchnorm(model) or len(compact) < 2:
        return model
    own = copy.deepcopy(model)
    for bn in batchnorms(own):
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    own.train()
    order = torch.randperm(len(compact), generator=torch.Generator().manual_seed(seed))
    for rows in torch.tensor_split(order, -(-len(compact) // batch_size)):
        own.features(pipeline.eval_from_compact(modality, compact[rows]))
    return own.eval()
