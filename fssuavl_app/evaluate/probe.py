"""Linear probe (L.P) and end-to-end fine-tuning (F.T) as small functions.

Paper protocol (R-18): the projection head is replaced by a task-specific
linear layer, trained for 60 epochs with SGD, lr 3e-2 multiplied by 0.1 after
60% and 80% of the epochs. Audio-visual tasks feed the image and its audio
through the same model and classify by the mean of the two logit vectors; here
every modality present in the inputs shares ONE linear layer and the logits are
averaged over modalities (one modality: plain logits).

Inputs of several modalities are dicts modality -> tensor whose rows are
aligned (row i of each is the same sample/pair). Feature extraction stays
outside this module: callers pass features (linear probe) or the compact eval
forms of `InputPipeline.eval_compact` (fine-tuning).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..core.inputs import InputPipeline
from ..core.models import SSLModel
from ..core.speed import sgd
from .knn import topk_accuracy

Progress = Callable[[int, float], None]


@dataclass(frozen=True)
class ProbeSettings:
    """Optimisation of L.P and F.T (defaults: the paper's 60 epochs, lr 3e-2, x0.1 at 60%/80%)."""

    epochs: int = 60
    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 256
    milestones: tuple[float, float] = (0.6, 0.8)  # fractions of epochs where lr is multiplied by gamma
    gamma: float = 0.1
    seed: int = 0


def lr_at(epoch: int, s: ProbeSettings) -> float:
    """Learning rate of 0-based `epoch`: lr * gamma^(#milestones m with epoch >= round(m * epochs))."""
    passed = sum(epoch >= round(m * s.epochs) for m in s.milestones)
    return s.lr * s.gamma ** passed


def mean_logits(head: nn.Module, feats: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over modalities of head(feats[m]): each (N, D) -> (N, C)."""
    if not feats:
        raise ValueError("no modality given")
    logits = [head(f) for f in feats.values()]
    total = logits[0]
    for extra in logits[1:]:
        total = total + extra
    return total / len(logits)


def _num_rows(inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> int:
    """Checks that all modalities and the labels (N,) have the same N; returns N."""
    if not inputs:
        raise ValueError("no modality given")
    sizes = {m: len(t) for m, t in inputs.items()}
    if set(sizes.values()) != {len(labels)}:
        raise ValueError(f"rows are not aligned: {sizes}, labels {len(labels)}")
    return len(labels)


def _new_head(dim: int, num_classes: int, s: ProbeSettings, device) -> nn.Linear:
    """Linear D -> C with PyTorch's default init range, drawn from a generator seeded by s.seed."""
    head = nn.Linear(dim, num_classes)
    g = torch.Generator().manual_seed(s.seed)
    bound = 1.0 / math.sqrt(dim)
    with torch.no_grad():
        head.weight.copy_(torch.empty(num_classes, dim).uniform_(-bound, bound, generator=g))
        head.bias.copy_(torch.empty(num_classes).uniform_(-bound, bound, generator=g))
    return head.to(device)


def _minibatches(n: int, batch_size: int, g: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches (CPU int64) covering range(n) once.

    A trailing batch of a single row is merged into the previous one, so that
    BatchNorm in train mode never sees a batch of one.
    """
    batches = list(torch.split(torch.randperm(n, generator=g), batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def _sgd(params, s: ProbeSettings) -> torch.optim.SGD:
    return sgd(params, s.lr, s.momentum, s.weight_decay)


def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def train_linear_probe(train_feats: dict[str, torch.Tensor], train_labels: torch.Tensor,
                       num_classes: int, s: ProbeSettings, device,
                       progress: Progress | None = None) -> nn.Linear:
    """One shared linear layer D -> C trained on frozen (N, D) features per modality.

    SGD with momentum and the step schedule of `lr_at`; loss is cross-entropy
    on `mean_logits`; minibatches are shuffled by a generator seeded from
    s.seed (deterministic). progress(epoch, mean_loss) runs after each epoch.
    """
    n = _num_rows(train_feats, train_labels)
    feats = {m: f.detach().to(device, torch.float32) for m, f in train_feats.items()}
    labels = train_labels.to(device)
    head = _new_head(next(iter(feats.values())).shape[1], num_classes, s, device)
    _fit(list(head.parameters()),
         lambda idx: mean_logits(head, {m: f[idx.to(device)] for m, f in feats.items()}),
         labels, n, s, progress)
    return head


def _fit(params: list, logits_of: Callable[[torch.Tensor], torch.Tensor], labels: torch.Tensor,
         n: int, s: ProbeSettings, progress: Progress | None) -> None:
    """The schedule both protocols share: SGD with step decay over seeded minibatches;
    `logits_of(idx)` gives (B, C) logits of the rows `idx` (CPU int64)."""
    opt = _sgd(params, s)
    g = torch.Generator().manual_seed(s.seed)
    for epoch in range(s.epochs):
        _set_lr(opt, lr_at(epoch, s))
        total = 0.0
        for idx in _minibatches(n, s.batch_size, g):
            loss = F.cross_entropy(logits_of(idx), labels[idx.to(labels.device)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if progress is not None:
            progress(epoch, total / max(n, 1))


def linear_probe(train_feats: dict[str, torch.Tensor], train_labels: torch.Tensor,
                 test_feats: dict[str, torch.Tensor], test_labels: torch.Tensor,
                 num_classes: int, s: ProbeSettings, device,
                 progress: Progress | None = None) -> dict[int, float]:
    """Trains a probe on (N, D) train features, then top-1 (top-5 when C > 5) test accuracy."""
    head = train_linear_probe(train_feats, train_labels, num_classes, s, device, progress)
    _num_rows(test_feats, test_labels)
    with torch.inference_mode():
        logits = mean_logits(head, {m: f.to(device, torch.float32) for m, f in test_feats.items()})
    return topk_accuracy(logits, test_labels.to(device))


def _copy_models(models: dict[str, SSLModel], device) -> dict[str, SSLModel]:
    """Deep copies on `device`; a model given for several modalities is copied once and shared."""
    copies: dict[int, SSLModel] = {}
    for model in models.values():
        if id(model) not in copies:
            copies[id(model)] = copy.deepcopy(model).to(device)
    return {m: copies[id(model)] for m, model in models.items()}


def _encoder_inputs(pipeline: InputPipeline, inputs: dict[str, torch.Tensor], idx: torch.Tensor,
                    device) -> dict[str, torch.Tensor]:
    """Rows `idx` of every modality's compact eval form -> (B, 3, S, S) on `device`."""
    return {m: pipeline.eval_from_compact(m, c[idx]).to(device) for m, c in inputs.items()}


def _view_inputs(pipeline: InputPipeline, views: dict, idx: torch.Tensor,
                 generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Rows `idx` of every modality's fine-tuning form -> one random view (B, 3, S, S) each."""
    return {m: pipeline.transforms[m].finetune_view(v[idx], generator) for m, v in views.items()}


def _fused_logits(encoders: dict[str, SSLModel], head: nn.Module,
                  x: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over modalities of head(encoders[m].features(x[m])) -> (B, C)."""
    return mean_logits(head, {m: encoders[m].features(xm) for m, xm in x.items()})


def finetune(models: dict[str, SSLModel], pipeline: InputPipeline,
             train_inputs: dict[str, torch.Tensor], train_labels: torch.Tensor,
             test_inputs: dict[str, torch.Tensor], test_labels: torch.Tensor,
             num_classes: int, s: ProbeSettings, device,
             progress: Progress | None = None, train_views: dict | None = None
             ) -> dict[int, float]:
    """End-to-end fine-tuning; returns top-1 (top-5 when C > 5) test accuracy.

    Each modality m uses the encoder of a deep copy of models[m] (the caller's
    models, weights and BatchNorm buffers, are never changed; one model given
    for both modalities is copied once and shared) and all modalities share
    ONE new linear layer D -> C in place of the projection head. Inputs are
    the compact eval forms (`InputPipeline.eval_compact`), rows aligned across
    modalities, turned into encoder inputs with `eval_from_compact`; with
    `train_views` (each modality's fine-tuning form, rows aligned with
    `train_inputs`) training batches are random views instead, new per sample
    and epoch (images: random resized crop and flip; audio: a random 2 s crop),
    drawn from a generator seeded by s.seed. Testing always uses the
    deterministic eval inputs. Train mode while training, eval mode for testing; SGD over
    all encoder and head parameters with the `lr_at` schedule; loss is
    cross-entropy on the mean over modalities of head(encoder_m.features(x_m)).
    """
    n = _num_rows(train_inputs, train_labels)
    _num_rows(test_inputs, test_labels)
    used = list(dict.fromkeys([*train_inputs, *test_inputs]))
    if missing := [m for m in used if m not in models]:
        raise ValueError(f"no model for {missing}")
    encoders = _copy_models({m: models[m] for m in used}, device)
    unique = list({id(e): e for e in encoders.values()}.values())
    dim = unique[0].args.feature_dim
    head = _new_head(dim, num_classes, s, device)
    params = [p for e in unique for p in e.encoder.parameters()] + list(head.parameters())
    for e in unique:
        e.train()
    if train_views is None:
        inputs_of = lambda idx: _encoder_inputs(pipeline, train_inputs, idx, device)  # noqa: E731
    else:
        _num_rows(train_views, train_labels)
        views_gen = torch.Generator(device=device).manual_seed(s.seed + 1)
        inputs_of = lambda idx: _view_inputs(pipeline, train_views, idx, views_gen)  # noqa: E731
    _fit(params, lambda idx: _fused_logits(encoders, head, inputs_of(idx)),
         train_labels.to(device), n, s, progress)
    for e in unique:
        e.eval()
    with torch.inference_mode():
        logits = [_fused_logits(encoders, head, _encoder_inputs(pipeline, test_inputs, idx, device))
                  for idx in torch.split(torch.arange(len(test_labels)), s.batch_size)]
    logits = torch.cat(logits) if logits else torch.zeros(0, num_classes, device=device)
    return topk_accuracy(logits, test_labels.to(device))
