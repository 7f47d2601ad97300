import numpy as np
import pytest

from fssuavl_app.data import SAMPLE_RATE
from fssuavl_app.data.synthetic import SyntheticShapes, SyntheticSounds

pytestmark = pytest.mark.unit


def test_images_are_deterministic_per_item_and_varied():
    a, b = SyntheticShapes(seed=1, train_per_class=3, test_per_class=1), SyntheticShapes(seed=1, train_per_class=3, test_per_class=1)
    assert len(a.classes) >= 10 and len(a.labels("train")) == 3 * len(a.classes)
    assert np.bincount(a.labels("train")).tolist() == [3] * len(a.classes)
    x = a.load("train", 5)
    assert x.shape == (64, 64, 3) and x.dtype == np.uint8
    assert np.array_equal(x, b.load("train", 5))
    same_class = np.flatnonzero(a.labels("train") == a.labels("train")[5])
    assert not np.array_equal(a.load("train", int(same_class[0])), a.load("train", int(same_class[1])))
    assert not np.array_equal(a.load("train", 0), SyntheticShapes(seed=2).load("train", 0))


def test_sounds_are_16k_mono_bounded_and_deterministic():
    s = SyntheticSounds(seed=0, train_per_class=2, test_per_class=1)
    assert len(s.classes) >= 10
    w = s.load("test", 3)
    assert w.ndim == 1 and w.dtype == np.float32 and len(w) == 3 * SAMPLE_RATE
    assert np.abs(w).max() <= 1 and np.abs(w).max() > 0.05
    assert np.array_equal(w, SyntheticSounds(seed=0, train_per_class=2, test_per_class=1).load("test", 3))
