"""Decode-once cache: items/s of decoding from the source files vs reading the cache.

Writes a class-per-folder audio set (44.1 kHz stereo FLAC clips, like ESC-50
after compression; resampled to 16 kHz mono on load) and an image set (large
JPEGs, like ADVANCE's 512x512, brought to 128x128 on load) into a temporary
folder, then times, for each: decoding every item from its file; the first
cached pass (decode + write the cache); and a later cached pass (what epochs,
rounds and runs after the first one do). Prints items/s and the speed-up.

    python bench/decode_cache.py [--clips 200] [--seconds 5] [--images 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from fssuavl_app.data import CachedSource, open_dataset


def write_audio_set(root: Path, clips: int, seconds: float, rate: int = 44_100) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    for i in range(clips):
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        tone = np.sin(2 * np.pi * (200 + 50 * (i % 10)) * t) * 0.3
        wave = np.stack([tone + rng.normal(0, 0.05, len(t)), tone], axis=1)
        sf.write(folder / f"clip{i:04d}.flac", wave.astype(np.float32), rate)


def write_image_set(root: Path, images: int, side: int = 512) -> None:
    rng = np.random.default_rng(0)
    for i in range(images):
        folder = root / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((side, side)).save(folder / f"img{i:04d}.jpg", quality=90)


def one_pass(source) -> float:
    started = time.perf_counter()
    for split in ("train", "test"):
        for i in range(len(source.labels(split))):
            source.load(split, i)
    return time.perf_counter() - started


def measure(name: str, dataset: str, root: Path, cache: Path) -> None:
    reader = open_dataset(dataset, root)
    n = sum(len(reader.labels(s)) for s in ("train", "test"))
    direct = min(one_pass(reader) for _ in range(2))
    cached = CachedSource(reader, cache)
    cold = one_pass(cached)
    warm = min(one_pass(cached) for _ in range(3))
    print(f"{name}: {n} items")
    print(f"  decode from files   : {n / direct:9.1f} items/s ({direct:.2f} s)")
    print(f"  first cached pass   : {n / cold:9.1f} items/s ({cold:.2f} s; decode + write)")
    print(f"  later cached passes : {n / warm:9.1f} items/s ({warm:.2f} s)")
    print(f"  speed-up later/files: {direct / warm:9.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_audio_set(tmp / "audio", args.clips, args.seconds)
        write_image_set(tmp / "images", args.images)
        measure(f"audio-folder, {args.seconds:g} s 44.1 kHz stereo FLAC -> 16 kHz mono",
                "audio-folder", tmp / "audio", tmp / "cache")
        measure("image-folder, 512x512 JPEG -> 128x128", "image-folder", tmp / "images",
                tmp / "cache")


if __name__ == "__main__":
    main()
