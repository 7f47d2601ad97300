"""What a modality is to the app: one object that owns everything that differs per modality.

A `Modality` says how decoded items are stacked into a batch (its compact
raw storage: uint8 images, padded waveforms), how an item is stored on disk
by the decode cache, what a one-line description of an item is, and which
metric names it reports; `transform(spec, device)` binds it to the input
settings and a device, giving the training views and the evaluation input.
Every batch type supports `len(b)`, `b[idx]` and `b.to(device, non_blocking=...)`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np
import torch

if TYPE_CHECKING:
    from ..inputs import InputSpec

Batch = Any  # a modality's raw batch: torch.Tensor (images) or audio.Waves


class Transform(Protocol):
    """A modality bound to input settings and a device: raw batch -> encoder inputs."""

    def train_views(self, batch: Batch, generator: torch.Generator | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independent random views (N, 3, S, S) of every sample."""

    def eval_compact(self, batch: Batch) -> torch.Tensor:
        """A small stored form of the deterministic eval input (kept across rounds)."""

    def eval_input(self, compact: torch.Tensor) -> torch.Tensor:
        """Compact eval form -> (N, 3, S, S) encoder input on the device."""

    def finetune_form(self, batch: Batch) -> Batch:
        """What fine-tuning keeps of a train batch to draw its views from (on the CPU)."""

    def finetune_view(self, stored: Batch, generator: torch.Generator | None) -> torch.Tensor:
        """One random fine-tuning view (N, 3, S, S) of every stored sample, on the device."""


class Modality(ABC):
    """One modality. Subclasses set `name` (run-config prefix, metric suffix), `letter`, `short`."""

    name: str = ""
    letter: str = ""  # V / A, as in the paper's A+V / V / A columns
    short: str = ""  # img / aud, in log lines

    def metric(self, what: str) -> str:
        """The metric key of `what` for this modality, e.g. metric("loss") = "loss-image"."""
        return f"{what}-{self.name}"

    def knn_metric(self, k: int) -> str:
        """kNN monitor top-k key, e.g. "knn-audio-top1"."""
        return f"knn-{self.name}-top{k}"

    def knn_metric_at(self, neighbours: int) -> str:
        """kNN monitor top-1 key when scored with another number of neighbours, e.g.
        "knn-audio-top1-k20"."""
        return f"knn-{self.name}-top1-k{neighbours}"

    @abstractmethod
    def stack(self, items: Sequence[np.ndarray], max_seconds: float | None = None) -> Batch:
        """Decoded items -> one batch (CPU); an empty list gives an empty batch.

        Time-based items longer than `max_seconds` keep their centre that long
        (memory stays bounded when one item is far longer than the rest).
        """

    def too_long(self, item: np.ndarray, max_seconds: float | None) -> bool:
        """Whether `stack` cuts this item (never, for items without a duration)."""
        return False

    def cut(self, item: np.ndarray, max_seconds: float | None) -> np.ndarray:
        """The item as `stack` keeps it (unchanged, for items without a duration)."""
        return item

    def to_storage(self, item: np.ndarray) -> np.ndarray:
        """How the decode cache stores an item (default: as it is)."""
        return item

    def from_storage(self, stored: np.ndarray) -> np.ndarray:
        """The item back from its stored form."""
        return stored

    @abstractmethod
    def concat(self, batches: Sequence[Batch]) -> Batch:
        """Batches of this modality (and of one form) -> one batch."""

    @abstractmethod
    def describe(self, item: np.ndarray) -> dict[str, Any]:
        """One decoded item in a few figures (for `fssuavl-data check`)."""

    @abstractmethod
    def summarize(self, described: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The `describe` figures of a split's items, summed up (JSON-ready)."""

    @abstractmethod
    def summary_lines(self, split: str, summary: dict[str, Any]) -> list[str]:
        """`summarize`'s result as report lines; native sample rates are added by the caller."""

    @abstractmethod
    def transform(self, spec: "InputSpec", device: torch.device) -> Transform:
        """This modality's views and eval inputs for `spec`, running on `device`."""

    def __repr__(self) -> str:
        return f"<modality {self.name}>"
