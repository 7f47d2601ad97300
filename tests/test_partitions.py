import numpy as np
import pytest

from fssuavl_app.data.partition import (
    PartitionError,
    assign_roles,
    build_partition,
    dirichlet_shards,
    summarize,
)

pytestmark = pytest.mark.unit

LABELS = np.repeat(np.arange(10), 30)


def test_shards_are_disjoint_complete_and_deterministic():
    a = dirichlet_shards(LABELS, 7, alpha=0.5, min_size=2, seed=3)
    b = dirichlet_shards(LABELS, 7, alpha=0.5, min_size=2, seed=3)
    allidx = np.concatenate(a)
    assert sorted(allidx.tolist()) == list(range(len(LABELS)))
    assert all((x == y).all() for x, y in zip(a, b))
    assert min(len(s) for s in a) >= 2
    c = dirichlet_shards(LABELS, 7, alpha=0.5, min_size=2, seed=4)
    assert any(len(x) != len(y) or (x != y).any() for x, y in zip(a, c))


def test_small_alpha_skews_labels():
    skewed = dirichlet_shards(LABELS, 5, alpha=0.05, min_size=1, seed=0)
    even = dirichlet_shards(LABELS, 5, alpha=100.0, min_size=1, seed=0)
    classes = lambda shards: np.mean([len(np.unique(LABELS[s])) for s in shards])
    assert classes(skewed) < classes(even)


def test_roles_are_respected():
    shards = build_partition({"image": LABELS, "audio": LABELS}, 12, alpha=1.0, min_size=2,
                             only={"image": 0.25, "audio": 0.25}, seed=0)
    roles = [s.role for s in shards]
    assert roles.count("image") == 3 and roles.count("audio") == 3 and roles.count("both") == 6
    for s in shards:
        assert (len(s.indices("audio")) == 0) == (s.role == "image")
        assert (len(s.indices("image")) == 0) == (s.role == "audio")
    # each modality is split completely among the clients that use it
    assert sum(len(s.indices("image")) for s in shards) == len(LABELS)
    assert sum(len(s.indices("audio")) for s in shards) == len(LABELS)


def test_model_combination_has_no_client_with_both():
    roles = assign_roles(10, {"image": 0.5, "audio": 0.5}, seed=1)
    assert "both" not in roles and roles.count("image") == 5


def test_impossible_settings_are_rejected_with_advice():
    with pytest.raises(PartitionError, match="raise dirichlet-alpha"):
        dirichlet_shards(LABELS, 100, alpha=0.01, min_size=2, seed=0, max_retries=5)
    with pytest.raises(PartitionError, match="cannot give"):
        dirichlet_shards(LABELS, 200, alpha=1.0, min_size=2, seed=0)
    with pytest.raises(PartitionError, match="frac-image-only"):
        assign_roles(4, {"image": 0.1, "audio": 0.0}, seed=0)


def test_summary_fits_one_screen():
    shards = build_partition({"image": LABELS, "audio": LABELS}, 100, alpha=1.0, min_size=1,
                             only={"image": 0.3, "audio": 0.3}, seed=0)
    text = summarize(shards, {"image": LABELS, "audio": LABELS}, 1.0)
    assert len(text.splitlines()) <= 10 and "30 image-only" in text
