"""A copy's counts against its dataset's official release (data/published.py)."""

from __future__ import annotations

import numpy as np
import pytest

from fssuavl_app.data import RELEASES, published_note, release_summary
from fssuavl_app.runs.sources import index_note_lines

pytestmark = pytest.mark.unit


class Copy:
    """The parts of a reader the comparison reads: name, classes, labels per split."""

    def __init__(self, name: str, train: int, test: int, classes: int, notes=()):
        self.name, self.classes, self.index_notes = name, [f"c{k}" for k in range(classes)], notes
        self._n = {"train": train, "test": test}

    def labels(self, split: str) -> np.ndarray:
        return np.arange(self._n[split]) % len(self.classes)


def test_a_complete_copy_gives_no_note_and_a_partial_one_says_how_it_differs():
    assert published_note(Copy("cifar10", 50000, 10000, 10)) is None
    note = published_note(Copy("cifar10", 49000, 10000, 10))
    assert note == ("this copy holds train 49,000 / test 10,000 in 10 classes, not the "
                    "official release's (CIFAR-10, python version: train 50,000 / test 10,000 "
                    "in 10 classes); figures from it are not comparable with the full set's")
    assert "in 9 classes" in published_note(Copy("cifar10", 50000, 10000, 9))
    # the split sizes count, not only the total: ESC-50 with two folds as test
    assert "train 1,200 / test 800" in published_note(Copy("esc50", 1200, 800, 50))


def test_a_release_without_an_official_split_is_compared_by_its_total():
    """ADVANCE's split is the app's own (grouped, seeded): only the 5,075 pairs count."""
    assert published_note(Copy("advance-images", 3550, 1525, 13)) is None
    note = published_note(Copy("advance-sounds", 3000, 1525, 13))
    assert "holds 4,525 items in 13 classes" in note and "5,075 items" in note


def test_sets_without_a_fixed_release_are_not_compared():
    for name in ("vggsound", "epic-sounds", "image-folder", "audio-folder", "synthetic-shapes"):
        assert name not in RELEASES and published_note(Copy(name, 3, 2, 2)) is None


def test_the_releases_hold_what_the_paper_and_the_dataset_cards_say():
    """Paper Table 1 (TINET 100K / 10K in 200, C-10 50K / 10K) and section 4.4 (FSDD
    2700 / 300, ADVANCE 5075 pairs in 13); Speech Commands v0.02's 105,829 clips less its
    9,981 validation clips; ESC-50's 2,000 clips in 5 folds."""
    assert release_summary(RELEASES["tiny-imagenet"]).endswith(
        "train 100,000 / test 10,000 in 200 classes")
    sc = dict(RELEASES["speech-commands"].splits)
    assert sum(sc.values()) + 9981 == 105829 and RELEASES["speech-commands"].classes == 35
    assert sum(dict(RELEASES["esc50"].splits).values()) == 2000
    assert dict(RELEASES["fsdd"].splits) == {"train": 2700, "test": 300}
    assert RELEASES["advance-images"].total == RELEASES["advance-sounds"].total == 5075


def test_the_run_start_notes_carry_the_difference_once_per_root():
    """The ServerApp, fssuavl-partition and fssuavl-evaluate log `index_note_lines`."""
    lines = list(index_note_lines({"image": Copy("mnist", 600, 100, 10, ("1 odd file",)),
                                   "audio": Copy("fsdd", 2700, 300, 10)}))
    assert lines[0] == "mnist: 1 odd file"
    assert lines[1].startswith("mnist: this copy holds train 600 / test 100 in 10 classes")
    assert len(lines) == 2  # the complete FSDD copy adds nothing
