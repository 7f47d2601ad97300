"""Raw batches -> encoder inputs, for training (two random views) and evaluation.

An image batch is uint8 (N, 3, H, W). An audio batch is a pair: zero-padded
float32 waveforms (N, L) and their lengths (N,). Both are moved to the
pipeline's device; everything after that runs there, batched.
"""

from __future__ import annotations

import torch

from .audio import AudioFrontend, AudioSpec, crop_clips, to_encoder_input
from .augment import eval_images, image_views, spectrogram_views

ImageBatch = torch.Tensor
AudioBatch = tuple[torch.Tensor, torch.Tensor]


class InputPipeline:
    """Turns raw batches of either modality into (N, 3, S, S) float encoder inputs."""

    def __init__(self, input_size: int, audio_spec: AudioSpec = AudioSpec(),
                 device: torch.device | str = "cpu"):
        self.size, self.device = input_size, torch.device(device)
        self.audio_spec = audio_spec
        self.frontend = AudioFrontend(audio_spec).to(self.device)

    def train_views(self, modality: str, batch, generator: torch.Generator | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independent random views of every sample."""
        if modality == "image":
            images = batch.to(self.device, non_blocking=True)
            return (image_views(images, self.size, generator),
                    image_views(images, self.size, generator))
        waves, lengths = (t.to(self.device, non_blocking=True) for t in batch)
        # Each view gets its own crop position, then its own masks and noise.
        clips = torch.cat([crop_clips(waves, lengths, self.audio_spec.clip_samples, random=True,
                                      generator=generator) for _ in range(2)])
        spec = spectrogram_views(self.frontend(clips), generator)
        x = to_encoder_input(spec, self.size)
        return x[: len(waves)], x[len(waves):]

    def eval_inputs(self, modality: str, batch) -> torch.Tensor:
        """The deterministic input: full image resized; centre 2 s audio crop."""
        return self.eval_from_compact(modality, self.eval_compact(modality, batch))

    def eval_compact(self, modality: str, batch) -> torch.Tensor:
        """A small stored form of the eval input, for monitors that reuse it every round.

        Images stay uint8 (N, 3, H, W); audio becomes fp16 log-mels (N, 1, F, T).
        """
        if modality == "image":
            return batch
        waves, lengths = (t.to(self.device, non_blocking=True) for t in batch)
        clips = crop_clips(waves, lengths, self.audio_spec.clip_samples, random=False)
        return self.frontend(clips).half()

    def eval_from_compact(self, modality: str, compact: torch.Tensor) -> torch.Tensor:
        compact = compact.to(self.device, non_blocking=True)
        if modality == "image":
            return eval_images(compact, self.size)
        return to_encoder_input(compact.float(), self.size)
