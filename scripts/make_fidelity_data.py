"""Builds the real data of the README's fidelity report, offline, in the published layouts.

    python scripts/make_fidelity_data.py OUT [--voices N]

Writes, under OUT:
- `speech-words/train/<word>/*.wav` and `speech-words/test/<word>/*.wav`:
  ten command words (as Speech Commands' core words) spoken by espeak-ng in
  many voices (language voices x variants x speed x pitch), 16 kHz mono, 1 s;
  the test voices are not train voices. Audio pretraining set (`audio-folder`).
- `speech-digits/train|test/<0..9>/*.wav`: the digits zero..nine, same
  recipe with other voice seeds. Audio transfer set (not used in pretraining).
- `digit-images/train|test/<digit>/*.png`: scikit-learn's bundled 8x8
  handwritten digits (1797 real scans, UCI), upscaled to 28x28 grey PNGs,
  split 1497 / 300. Image transfer set; paired with `speech-digits` by label
  it is the A+V task (as the paper's MNIST + FSDD).
- `fashion/train|test/<class>/*.png`: the first `--fashion-train` and
  `--fashion-test` items per class of Debian's real Fashion-MNIST train and
  test splits (`/usr/share/datasets/fashion-mnist`, package
  dataset-fashion-mnist). Image pretraining set (`image-folder`), a subset
  sized for a CPU.
Needs espeak-ng (Debian package). Deterministic: the same OUT every time.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from PIL import Image

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
LANGUAGE_VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                   "en-gb-x-gbcwmd", "de", "fr", "es", "it", "nl", "pt", "sv")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4",
            "+f5", "+croak", "+klatt", "+klatt2", "+klatt3")
RATE = 16_000


def voices(count: int, seed: int) -> list[tuple[str, int, int]]:
    """`count` distinct (voice+variant, words per minute, pitch) speakers, seeded."""
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < count:
        voice = rng.choice(LANGUAGE_VOICES) + rng.choice(VARIANTS)
        speaker = (voice, int(rng.integers(120, 220)), int(rng.integers(20, 80)))
        if speaker[0] not in seen:
            seen.add(speaker[0])
            out.append(speaker)
    return out


def say(text: str, speaker: tuple[str, int, int], tmp: Path, k: int) -> np.ndarray:
    """1 s of `text` spoken by `speaker` at 16 kHz, peak 0.3-0.8, random offset and noise."""
    voice, speed, pitch = speaker
    path = tmp / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path),
                    text], check=True, capture_output=True)
    wave, rate = sf.read(path, dtype="float32")
    wave = soxr.resample(wave, rate, RATE) if rate != RATE else wave
    rng = np.random.default_rng(k)
    wave = wave[: RATE] / max(1e-6, float(np.abs(wave).max())) * rng.uniform(0.3, 0.8)
    out = np.zeros(RATE, np.float32)
    start = int(rng.integers(0, RATE - len(wave) + 1))
    out[start: start + len(wave)] = wave
    return out + rng.normal(0, rng.uniform(0.001, 0.01), RATE).astype(np.float32)


def write_speech(root: Path, texts: tuple[str, ...], train: int, test: int, seed: int,
                 folder_by_label: bool = False) -> None:
    """Class folders named by the text, or by its index (digits: 0..9, as the images')."""
    speakers = voices(train + test, seed)
    with tempfile.TemporaryDirectory() as tmp:
        for s, speaker in enumerate(speakers):
            split = "train" if s < train else "test"
            for label, text in enumerate(texts):
                folder = str(label) if folder_by_label else str(text)
                path = root / split / folder / f"{s:03d}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, say(text, speaker, Path(tmp), seed * 100_000 + s * 100 + label),
                         RATE, subtype="PCM_16")


def write_digit_images(root: Path, test: int = 300) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    for rank, i in enumerate(order):
        split = "test" if rank < test else "train"
        grey = (digits.images[i] / 16.0 * 255).astype(np.uint8)
        path = root / split / str(digits.target[i]) / f"{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grey, mode="L").resize((28, 28), Image.BILINEAR).save(path)


def write_fashion_subset(root: Path, source: Path, train: int, test: int) -> None:
    from fssuavl_app.data import open_dataset

    fashion = open_dataset("fashion-mnist", source)
    for split, per_class in (("train", train), ("test", test)):
        labels = fashion.labels(split)
        for label, name in enumerate(fashion.classes):
            folder = root / split / name.replace("/", "-")
            folder.mkdir(parents=True, exist_ok=True)
            for i in np.flatnonzero(labels == label)[:per_class]:
                Image.fromarray(fashion.load(split, int(i))[..., 0], mode="L").save(
                    folder / f"{int(i):05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--voices", type=int, default=60,
                        help="speakers per speech set (80%% train, 20%% test; default 60)")
    parser.add_argument("--fashion", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                        help="Fashion-MNIST idx files (default: Debian's)")
    parser.add_argument("--fashion-train", type=int, default=150, help="train items per class")
    parser.add_argument("--fashion-test", type=int, default=50, help="test items per class")
    args = parser.parse_args()
    train = max(1, round(args.voices * 0.8))
    write_speech(args.out / "speech-words", WORDS, train, args.voices - train, seed=1)
    write_speech(args.out / "speech-digits", DIGITS, train, args.voices - train, seed=2,
                 folder_by_label=True)
    write_digit_images(args.out / "digit-images")
    write_fashion_subset(args.out / "fashion", args.fashion, args.fashion_train, args.fashion_test)
    for name in ("speech-words", "speech-digits", "digit-images", "fashion"):
        n = sum(1 for p in (args.out / name).rglob("*") if p.is_file())
        print(f"{args.out / name}: {n} files")


if __name__ == "__main__":
    main()
