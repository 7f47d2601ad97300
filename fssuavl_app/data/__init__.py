"""Dataset readers. `open_sources(cfg)` gives the image and audio source of a run."""

from __future__ import annotations

from ..config import RunConfig
from .base import SAMPLE_RATE, SPLITS, Source, load_images, load_waveforms
from .synthetic import SyntheticShapes, SyntheticSounds, builtin_sources

__all__ = ["SAMPLE_RATE", "SPLITS", "Source", "load_images", "load_waveforms",
           "SyntheticShapes", "SyntheticSounds", "open_sources"]


def open_sources(cfg: RunConfig) -> dict[str, Source]:
    """The run's sources by modality: {"image": ..., "audio": ...}."""
    factories = builtin_sources(cfg.seed, cfg.synthetic_train_per_class,
                                cfg.synthetic_test_per_class)
    return {"image": factories[cfg.image_dataset](), "audio": factories[cfg.audio_dataset]()}
