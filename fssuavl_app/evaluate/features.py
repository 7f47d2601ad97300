"""Feature extraction: the one place that says which features evaluation uses.

ResNet-18: the 512-d pooled encoder output; ViT: the 256-d mean of its output
tokens after the final LayerNorm (`SSLModel.features`), in eval mode
(BatchNorm running statistics are read, never updated).
"""

from __future__ import annotations

import torch

from ..inputs import InputPipeline
from ..models import SSLModel


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
