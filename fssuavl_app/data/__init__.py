"""Layer 1, data: readers of the published dataset layouts, the decode cache, the dataset
registry, and the partition of a training set into client shards.

Readers give labels without decoding and items on demand (`base.Source`);
`registry` opens any dataset by name (built-in ones included); `cache` keeps
decoded items on disk; `loading` decodes many items (bad ones skipped,
counted, named) into a modality's batch; `partition` splits labels into
client shards (pure numpy); `index` is the readers' common base, `walk` the
folder walk the file readers share, `published` the official releases' sizes. Imports only `core`; never the run config, never
Flower.
"""

from .base import SAMPLE_RATE, SPLITS, Source
from .cache import CachedSource
from .decode import BadItem
from .index import VARIABLE_IMAGE_SIDE, DatasetLayoutError
from .loading import Loaded, load_items, load_shard
from .partition import (
                        BOTH,
                        ROLES,
                        ClientShard,
                        PartitionError,
                        build_partition,
                        dirichlet_shards,
                        summarize,
)
from .registry import (
                        Builtin,
                        DatasetInfo,
                        advance_pair,
                        dataset_info,
                        dataset_infos,
                        dataset_names,
                        esc50_folds,
                        open_dataset,
)
from .published import RELEASES, Release, published_note, release_summary
from .subsets import seeded_subset

__all__ = ["BOTH", "BadItem", "Builtin", "CachedSource", "ClientShard", "DatasetInfo",
           "DatasetLayoutError", "Loaded", "PartitionError", "RELEASES", "ROLES", "Release",
           "SAMPLE_RATE", "SPLITS", "Source", "VARIABLE_IMAGE_SIDE", "advance_pair",
           "build_partition", "dataset_info", "dataset_infos", "dataset_names",
           "dirichlet_shards", "esc50_folds", "load_items", "load_shard", "open_dataset",
           "published_note", "release_summary", "seeded_subset", "summarize"]
