"""The decode-once cache: hits, rebuild on change, bad items remembered, concurrent builders."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from fssuavl_app.data import BadItem, CachedSource
from fssuavl_app.data.index import AudioFiles, ImageFiles, SplitIndex

pytestmark = pytest.mark.integration


class _EveryFile:
    """A minimal reader: every file of `root` is a train and a test item of class 0."""

    def __init__(self, root):
        names = sorted(p.name for p in root.iterdir())
        split = SplitIndex(ids=names, labels=[0] * len(names))
        super().__init__(root, ["only"], {"train": split, "test": split})


class WavFiles(_EveryFile, AudioFiles):
    name = "wav-files"


class JpegFiles(_EveryFile, ImageFiles):
    name, image_side = "jpeg-files", 16


def _tone(path, hz, rate=44_100, seconds=0.5):
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.4 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate, subtype="PCM_16")


@pytest.fixture
def wavs(tmp_path):
    root = tmp_path / "wavs"
    root.mkdir()
    for k in range(4):
        _tone(root / f"a{k}.wav", 220 * (k + 1))
    (root / "broken.wav").write_bytes(b"RIFF....not really")
    return root


def test_cached_items_equal_decoded_ones_and_are_hits(wavs, tmp_path):
    reader = WavFiles(wavs)
    cached = CachedSource(reader, tmp_path / "cache")
    first = [cached.load("train", i) for i in range(4)]
    assert cached.misses == 4 and cached.hits == 0
    again = [cached.load("train", i) for i in range(4)]
    assert cached.hits == 4
    for a, b, i in zip(first, again, range(4)):
        direct = reader.load("train", i)
        assert a.dtype == np.float32 and np.array_equal(a, b)
        assert np.abs(a - direct).max() <= 1.0 / 32767 + 1e-7
    # a new process (a later run) reads the same entries
    assert CachedSource(WavFiles(wavs), tmp_path / "cache").load("train", 1) is not None
    assert cached.name == "wav-files" and cached.labels("train").tolist() == [0] * 5


def test_changed_source_file_is_decoded_again(wavs, tmp_path):
    cached = CachedSource(WavFiles(wavs), tmp_path / "cache")
    before = cached.load("train", 0)
    _tone(wavs / "a0.wav", 1000, seconds=0.25)
    os.utime(wavs / "a0.wav", ns=(time.time_ns(), time.time_ns() + 10**9))
    after = CachedSource(WavFiles(wavs), tmp_path / "cache").load("train", 0)
    assert len(after) == 4000 and len(before) == 8000


def test_bad_item_is_remembered_with_its_reason(wavs, tmp_path):
    cached = CachedSource(WavFiles(wavs), tmp_path / "cache")
    bad = WavFiles(wavs).item_ids("train").index("broken.wav")
    with pytest.raises(BadItem, match="broken.wav"):
        cached.load("train", bad)
    hits = cached.hits
    with pytest.raises(BadItem, match="broken.wav: not readable"):
        cached.load("train", bad)
    assert cached.hits == hits + 1


def test_damaged_entry_is_rebuilt(wavs, tmp_path):
    cached = CachedSource(WavFiles(wavs), tmp_path / "cache")
    good = cached.load("train", 2)
    entry = cached.entry(cached.source.fingerprint("train", 2))
    entry.write_bytes(entry.read_bytes()[:40])
    assert np.array_equal(cached.load("train", 2), good)


def test_images_are_cached_as_uint8_exactly(tmp_path):
    root = tmp_path / "jpgs"
    root.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 30, 3), np.uint8)).save(
        root / "x.jpg")
    cached = CachedSource(JpegFiles(root), tmp_path / "cache")
    a, b = cached.load("train", 0), cached.load("test", 0)
    assert a.shape == (16, 16, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert np.array_equal(a, JpegFiles(root).load("train", 0))


def _build_all(args):
    root, cache = args
    cached = CachedSource(WavFiles(root), cache)
    return [float(cached.load("train", i).sum()) for i in range(4)]


def test_two_processes_and_many_threads_build_the_same_cache_safely(wavs, tmp_path):
    cache = tmp_path / "cache"
    with mp.get_context("spawn").Pool(2) as pool:
        sums = pool.map(_build_all, [(wavs, cache)] * 4)
    with ThreadPoolExecutor(8) as pool:
        sums += list(pool.map(_build_all, [(wavs, cache)] * 8))
    assert all(s == sums[0] for s in sums)
    leftovers = [p for p in cache.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert leftovers == []
    entries = [p for p in cache.rglob("*.npy")]
    assert len(entries) == 4 and all(np.load(p).dtype == np.int16 for p in entries)
