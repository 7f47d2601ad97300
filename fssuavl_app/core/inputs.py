"""Raw batches -> encoder inputs, for training (two random views) and evaluation.

`InputSpec` is everything that shapes an encoder input (input side, audio
front-end); the server sends it to clients every round and checkpoints store
it. `InputPipeline(spec, device)` binds every modality to it: batches move to
the device, and everything after that runs there, batched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .audio_frontend import AudioSpec
from .modalities import MODALITIES, Batch, Transform


@dataclass(frozen=True)
class InputSpec:
    """Settings of the encoder inputs of every modality."""

    input_size: int = 32  # encoder input side in pixels (images and spectrograms)
    audio: AudioSpec = field(default_factory=AudioSpec)
    image_views: str = "simclr"  # a recipe of views.image.IMAGE_RECIPES
    audio_views: str = "extended"  # a recipe of views.audio.AUDIO_RECIPES


class InputPipeline:
    """Turns raw batches of any modality into (N, 3, S, S) float encoder inputs."""

    def __init__(self, spec: InputSpec = InputSpec(), device: torch.device | str = "cpu"):
        self.spec, self.device = spec, torch.device(device)
        self.transforms: dict[str, Transform] = {
            m.name: m.transform(spec, self.device) for m in MODALITIES}

    @property
    def size(self) -> int:
        return self.spec.input_size

    def train_views(self, modality: str, batch: Batch, generator: torch.Generator | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independent random views of every sample."""
        return self.transforms[modality].train_views(batch, generator)

    def eval_inputs(self, modality: str, batch: Batch) -> torch.Tensor:
        """The deterministic input: full image resized; centre 2 s audio crop."""
        return self.eval_from_compact(modality, self.eval_compact(modality, batch))

    def eval_compact(self, modality: str, batch: Batch) -> torch.Tensor:
        """A small stored form of the eval input, for monitors that reuse it every round
        (images stay uint8 (N, 3, H, W); audio becomes fp16 log-mels (N, 1, F, T))."""
        return self.transforms[modality].eval_compact(batch)

    def eval_from_compact(self, modality: str, compact: torch.Tensor) -> torch.Tensor:
        return self.transforms[modality].eval_input(compact)
