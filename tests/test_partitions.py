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
                             only={"image": 0.25, "audio": 0.25}, seed=0, mode="redistribute")
    roles = [s.role for s in shards]
    assert roles.count("image") == 3 and roles.count("audio") == 3 and roles.count("both") == 6
    for s in shards:
        assert (len(s.indices("audio")) == 0) == (s.role == "image")
        assert (len(s.indices("image")) == 0) == (s.role == "audio")
    # redistribute: each modality is split completely among the clients that use it
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
                             only={"image": 0.3, "audio": 0.3}, seed=0, mode="redistribute")
    text = summarize(shards, {"image": LABELS, "audio": LABELS}, 1.0)
    assert len(text.splitlines()) <= 10 and "30 image-only" in text


BIG = np.repeat(np.arange(10), 200)  # 2000 items of each modality


def _used(shards, modality):
    return sum(len(s.indices(modality)) for s in shards) / len(BIG)


def _partition(mode, img, aud, k=100, alpha=0.5):
    return build_partition({"image": BIG, "audio": BIG}, k, alpha=alpha, min_size=1,
                           only={"image": img, "audio": aud}, seed=3, mode=mode)


def test_paper_mode_model_comb_uses_half_of_each_set_and_only_own_shards():
    everyone = _partition("paper", 0.0, 0.0)  # client k's own shards when it holds both
    comb = _partition("paper", 0.5, 0.5)
    assert 0.4 < _used(comb, "image") < 0.6 and 0.4 < _used(comb, "audio") < 0.6
    for own, shard in zip(everyone, comb, strict=True):
        for m in ("image", "audio"):
            if shard.uses(m):
                assert np.array_equal(shard.indices(m), own.indices(m))
            else:
                assert len(shard.indices(m)) == 0
    redistributed = _partition("redistribute", 0.5, 0.5)
    assert _used(redistributed, "image") == _used(redistributed, "audio") == 1.0


@pytest.mark.parametrize("share", [0.1, 0.3, 0.7])
def test_paper_mode_figure4_uses_about_the_share_of_audio(share):
    shards = _partition("paper", round(1 - share, 2), 0.0, alpha=5.0)
    assert _used(shards, "image") == 1.0
    assert abs(_used(shards, "audio") - share) < 0.07
    assert sum(s.role == "both" for s in shards) == round(100 * share)


def test_the_modes_agree_when_every_client_holds_both():
    paper, redistributed = _partition("paper", 0.0, 0.0), _partition("redistribute", 0.0, 0.0)
    assert _used(paper, "image") == _used(paper, "audio") == 1.0
    for a, b in zip(paper, redistributed, strict=True):
        assert all(np.array_equal(a.indices(m), b.indices(m)) for m in ("image", "audio"))


def test_summary_says_how_much_of_each_set_is_used():
    text = summarize(_partition("paper", 0.5, 0.5, k=10), {"image": BIG, "audio": BIG}, 0.5)
    assert "used, 5" in text or "used, 4" in text or "used, 6" in text
