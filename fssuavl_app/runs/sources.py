"""A run's data: its sources (one per modality, opened as the run config says) and its
partition into client shards."""

from __future__ import annotations

from typing import Iterator, Mapping

from ..core.modalities import MODALITIES
from ..data import (
    VARIABLE_IMAGE_SIDE,
    Builtin,
    CachedSource,
    ClientShard,
    Source,
    build_partition,
    dataset_info,
    open_dataset,
    published_note,
)
from .config import RunConfig


def open_run_sources(cfg: RunConfig, roots: Mapping[str, str] | None = None
                     ) -> dict[str, Source]:
    """The run's source of every modality, behind the decode cache when enabled.

    `roots` overrides the run config's roots per modality (a SuperNode's own
    copy of the data). A missing root or a wrong layout raises
    `DatasetLayoutError` saying what was expected where.
    """
    roots = roots or {}
    builtin = Builtin(cfg.seed, cfg.synthetic_train_per_class, cfg.synthetic_test_per_class)
    side = max(VARIABLE_IMAGE_SIDE, cfg.input_size)
    sources = {}
    for m in MODALITIES:
        name = cfg.dataset_of(m.name)
        source = open_dataset(name, roots.get(m.name) or cfg.root_of(m.name), side, builtin)
        if cfg.data_cache and dataset_info(name).needs_root:
            source = CachedSource(source, cfg.cache_root())
        sources[m.name] = source
    return sources


def partition_for(cfg: RunConfig, sources: Mapping[str, Source], num_clients: int
                  ) -> list[ClientShard]:
    """All clients' shards of the train split, from labels only (no decoding)."""
    return build_partition({m: s.labels("train") for m, s in sources.items()}, num_clients,
                           alpha=cfg.dirichlet_alpha, min_size=cfg.min_partition_size,
                           only=cfg.only_fractions(), seed=cfg.seed, mode=cfg.partition_mode)


def index_note_lines(sources: Mapping[str, Source]) -> Iterator[str]:
    """'<dataset>: <note>' for what each reader left out or found odd while indexing, and
    for a copy whose counts differ from its official release; a note that two readers of
    one root share (the image and sound sides of a paired set, indexed together) is one
    line, 'advance-images, advance-sounds: <note>'."""
    names: dict[tuple[str, str], list[str]] = {}
    for src in sources.values():
        differs = published_note(src)
        for note in [*src.index_notes, *([differs] if differs else [])]:
            names.setdefault((str(getattr(src, "root", src.name)), note), []).append(src.name)
    for (_, note), readers in names.items():
        yield f"{', '.join(dict.fromkeys(readers))}: {note}"
