"""Decoding real and broken files: speech from espeak-ng, images in every mode."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from fssuavl_app.data.decode import BadItem, decode_audio, decode_image

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """A real utterance from espeak-ng (22.05 kHz mono wav)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is required (apt-get install espeak-ng; .ci/run installs it)")
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "federated learning on the edge"], check=True)
    return path


def test_speech_is_resampled_to_16k_mono(speech):
    raw, rate = sf.read(speech, dtype="float32")
    wave = decode_audio(speech)
    assert rate != 16_000 and wave.dtype == np.float32 and wave.ndim == 1
    assert abs(len(wave) - len(raw) * 16_000 / rate) <= 2
    assert np.abs(wave).max() > 0.05


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"),
                                         ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_formats_and_channel_counts(tmp_path, speech, fmt, subtype):
    wave, rate = sf.read(speech, dtype="float32")
    stereo = np.stack([wave, wave * 0.5], axis=1)
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, stereo, rate, format=fmt, subtype=subtype)
    out = decode_audio(path)
    assert out.ndim == 1 and abs(len(out) - len(wave) * 16_000 / rate) < 0.02 * len(out) + 2000


def test_bad_audio_files_raise_bad_item_with_reason(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), 16_000)
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(1600, np.nan, np.float32), 16_000, subtype="FLOAT")
    good = tmp_path / "good.wav"
    sf.write(good, np.random.default_rng(0).normal(0, 0.1, 16_000), 16_000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    one_hz = tmp_path / "rate1.wav"  # resampled, its 200 samples became 200 s of audio
    sf.write(one_hz, np.full(200, 0.1, np.float32), 1)
    expected = {empty: "empty", zero_bytes: "not readable", text: "not readable",
                nan: "NaN", truncated: "not readable|empty",
                one_hz: "sample rate, 1 Hz, is not an audio rate"}
    for path, reason in expected.items():
        with pytest.raises(BadItem, match=reason) as info:
            decode_audio(path)
        assert str(path) in str(info.value)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16", "I", "RGB"])
def test_every_image_mode_becomes_uint8_rgb(tmp_path, mode):
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 10, 3), dtype=np.uint8))
    if mode == "I;16":
        img = Image.fromarray((np.arange(120, dtype=np.uint16).reshape(12, 10) * 500))
    elif mode == "I":
        img = rgb.convert("L").convert("I")
    else:
        img = rgb.convert(mode)
    path = tmp_path / ("img.tiff" if mode in ("CMYK", "I;16", "I") else "img.png")
    img.save(path)
    out = decode_image(path)
    assert out.shape == (12, 10, 3) and out.dtype == np.uint8
    if mode == "I;16":
        assert out.max() > 200  # 16-bit range scaled, not clipped to 255 raw values


def test_bad_images_raise_bad_item(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(good, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG not really")
    for path in (truncated, garbage, tmp_path / "missing.png"):
        with pytest.raises(BadItem, match="not a readable image"):
            decode_image(path)


def test_long_clips_are_cut_as_each_is_decoded_not_after_all_are(tmp_path):
    """load_items held every clip of a shard whole and cut them when stacking: 20 one-minute
    clips took 20 minutes of audio in memory at once."""
    import tracemalloc

    from fssuavl_app.data import load_items

    class LongClips:
        name, modality = "long-clips", "audio"

        def item_id(self, split, index):
            return f"clip-{index}.wav"

        def load(self, split, index):
            return np.full(60 * 16_000, 0.01 * (index + 1), np.float32)  # 3.8 MB

    tracemalloc.start()
    try:
        loaded = load_items(LongClips(), "train", range(20), max_seconds=1.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded.data.lengths.tolist() == [16_000] * 20
    assert loaded.data.samples[3, 0].item() == pytest.approx(0.04)
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # one whole clip, not twenty
