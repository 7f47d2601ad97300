"""Dataset readers. `open_sources(cfg)` gives the image and audio source of a run."""

from __future__ import annotations

from ..config import RunConfig
from .base import SAMPLE_RATE, SPLITS, Source
from .cache import CachedSource, default_cache_dir
from .decode import BadItem
from .index import VARIABLE_IMAGE_SIDE, DatasetLayoutError
from .loading import Loaded, load_images, load_items, load_waveforms
from .registry import DATASETS, dataset_names, open_dataset
from .synthetic import SyntheticShapes, SyntheticSounds, builtin_sources

__all__ = ["BadItem", "CachedSource", "DATASETS", "DatasetLayoutError", "Loaded", "SAMPLE_RATE",
           "SPLITS", "Source", "SyntheticShapes", "SyntheticSounds", "dataset_names",
           "load_images", "load_items", "load_waveforms", "open_dataset", "open_source",
           "open_sources"]


def open_source(cfg: RunConfig, modality: str, root: str | None = None) -> Source:
    """The run's reader of one modality, behind the decode cache when enabled.

    `root` overrides the run config's root (a SuperNode's own copy of the data).
    """
    name = cfg.image_dataset if modality == "image" else cfg.audio_dataset
    if name.startswith("synthetic-"):
        return builtin_sources(cfg.seed, cfg.synthetic_train_per_class,
                               cfg.synthetic_test_per_class)[name]()
    root = root or (cfg.image_root if modality == "image" else cfg.audio_root)
    source = open_dataset(name, root, max(VARIABLE_IMAGE_SIDE, cfg.input_size))
    if cfg.data_cache:
        source = CachedSource(source, cfg.cache_dir or default_cache_dir())
    return source


def open_sources(cfg: RunConfig, roots: dict[str, str] | None = None) -> dict[str, Source]:
    """The run's sources by modality: {"image": ..., "audio": ...}."""
    roots = roots or {}
    return {m: open_source(cfg, m, roots.get(m)) for m in ("image", "audio")}
