"""Audio: mono float32 waveforms at `SAMPLE_RATE` Hz, stacked into zero-padded `Waves`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..audio_frontend import SAMPLE_RATE, AudioFrontend, to_encoder_input
from ..views.audio import AUDIO_RECIPES, crop_clips, spectrogram_views
from .base import Modality


@dataclass(frozen=True)
class Waves:
    """A batch of clips: zero-padded float32 samples (N, L) and true lengths (N,) int64."""

    samples: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, idx) -> "Waves":
        return Waves(self.samples[idx], self.lengths[idx])

    def to(self, device, non_blocking: bool = False) -> "Waves":
        return Waves(self.samples.to(device, non_blocking=non_blocking),
                     self.lengths.to(device, non_blocking=non_blocking))

    @staticmethod
    def cat(parts: Sequence["Waves"]) -> "Waves":
        """One batch of several, zero-padded to the longest."""
        width = max(p.samples.shape[1] for p in parts)
        samples = torch.cat([torch.nn.functional.pad(p.samples, (0, width - p.samples.shape[1]))
                             for p in parts])
        return Waves(samples, torch.cat([p.lengths for p in parts]))

    def floats(self) -> torch.Tensor:
        """The samples as float32 in [-1, 1] (int16 storage is scaled back)."""
        if self.samples.dtype == torch.int16:
            return self.samples.float() / 32767.0
        return self.samples.float()


class AudioTransform:
    """Spectrogram views and eval inputs (log-mels of 2 s clips) at `size` on `device`."""

    def __init__(self, size: int, spec, recipe: str, device: torch.device):
        if recipe not in AUDIO_RECIPES:
            raise ValueError(f"unknown audio views {recipe!r}; known: {', '.join(AUDIO_RECIPES)}")
        self.size, self.spec, self.device = size, spec, device
        self.recipe = AUDIO_RECIPES[recipe]
        self.frontend = AudioFrontend(spec).to(device)

    def train_views(self, batch: Waves, generator):
        w = batch.to(self.device, non_blocking=True)
        # Each view gets its own crop position, then its own masks and noise.
        clips = torch.cat([crop_clips(w.samples, w.lengths, self.spec.clip_samples, random=True,
                                      generator=generator) for _ in range(2)])
        x = to_encoder_input(spectrogram_views(self.frontend(clips), generator, **self.recipe),
                             self.size)
        return x[: len(w)], x[len(w):]

    def eval_compact(self, batch: Waves) -> torch.Tensor:
        """fp16 log-mels (N, 1, F, T) of the centre 2 s."""
        w = batch.to(self.device, non_blocking=True)
        return self.frontend(crop_clips(w.samples, w.lengths, self.spec.clip_samples,
                                        random=False)).half()

    def eval_input(self, compact: torch.Tensor) -> torch.Tensor:
        return to_encoder_input(compact.to(self.device, non_blocking=True).float(), self.size)

    def finetune_form(self, batch: Waves) -> Waves:
        """The clips as int16 (half of float32; random crops are drawn from them each epoch)."""
        samples = torch.round(batch.samples.clamp(-1, 1) * 32767.0).to(torch.int16)
        return Waves(samples, batch.lengths)

    def finetune_view(self, stored: Waves, generator) -> torch.Tensor:
        """A random 2 s crop's log-mel, no spectrogram augmentation."""
        w = stored.to(self.device, non_blocking=True)
        clips = crop_clips(w.floats(), w.lengths, self.spec.clip_samples, random=True,
                           generator=generator)
        return to_encoder_input(self.frontend(clips), self.size)


class AudioModality(Modality):
    name = "audio"
    letter = "A"
    short = "aud"

    def too_long(self, item: np.ndarray, max_seconds: float | None) -> bool:
        return max_seconds is not None and len(item) > round(max_seconds * SAMPLE_RATE)

    def cut(self, item: np.ndarray, max_seconds: float | None) -> np.ndarray:
        """The centre `max_seconds` of a longer waveform (a copy: the whole clip can be freed)."""
        if not self.too_long(item, max_seconds):
            return item
        keep = round(max_seconds * SAMPLE_RATE)
        start = (len(item) - keep) // 2
        return item[start: start + keep].copy()

    def stack(self, items: Sequence[np.ndarray], max_seconds: float | None = None) -> Waves:
        items = [self.cut(w, max_seconds) for w in items]
        lengths = torch.tensor([len(w) for w in items], dtype=torch.int64)
        out = torch.zeros(len(items), int(lengths.max()) if len(items) else 1,
                          dtype=torch.float32)
        for row, w in enumerate(items):
            out[row, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
        return Waves(out, lengths)

    def to_storage(self, item: np.ndarray) -> np.ndarray:
        """int16: half the disk of float32, lossless for the 16-bit sources datasets ship."""
        return np.round(np.clip(item, -1.0, 1.0) * 32767.0).astype(np.int16)

    def from_storage(self, stored: np.ndarray) -> np.ndarray:
        return stored.astype(np.float32) / 32767.0

    def concat(self, batches) -> Waves:
        return Waves.cat(list(batches))

    def describe(self, item: np.ndarray) -> dict:
        return {"seconds": len(item) / SAMPLE_RATE}

    def summarize(self, described) -> dict:
        secs = np.array([d["seconds"] for d in described])
        if not len(secs):
            return {"seconds": {}}
        return {"seconds": {"min": float(secs.min()), "mean": float(secs.mean()),
                            "max": float(secs.max()), "total-hours": float(secs.sum() / 3600)}}

    def summary_lines(self, split: str, summary: dict) -> list[str]:
        d = summary["seconds"]
        if not d:
            return []
        return [f"  {split} audio: {d['min']:.2f} / {d['mean']:.2f} / {d['max']:.2f} s "
                f"min / mean / max, {d['total-hours']:.2f} h"]

    def transform(self, spec, device) -> AudioTransform:
        return AudioTransform(spec.input_size, spec.audio, spec.audio_views, torch.device(device))


AUDIO = AudioModality()
