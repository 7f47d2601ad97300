"""Decoding files into the forms every reader returns, or a `BadItem` saying why not.

Audio: soundfile (libsndfile: wav, flac, ogg, mp3; no FFmpeg), any channel
count averaged to mono, any sample rate resampled to 16 kHz with soxr,
float32. Empty, unreadable, truncated (a WAV whose header announces more
audio than the file holds) and non-finite files, and headers that give a
sample rate below 1 kHz, raise `BadItem`; callers skip and count them,
never use them. A float file whose samples leave [-1, 1]
is scaled to peak 1 and logged, here, so the decode cache stores the same.
Images: Pillow, fully loaded (a truncated file fails here, not later), any
mode (L, P, RGBA, LA, CMYK, I;16, I, F) to uint8 RGB (H, W, 3). An image
whose header claims more pixels than Pillow's decompression-bomb limit (about
89 million) is refused before it is decoded.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, UnidentifiedImageError

from .base import SAMPLE_RATE


logger = logging.getLogger("fssuavl.data")
MIN_AUDIO_RATE = 1000  # Hz; telephone audio is 8000
_TRUNCATED = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


class BadItem(ValueError):
    """An item that cannot be used; the message says which file and why."""


def _truncation(path: str | Path) -> str | None:
    """libsndfile's note on a chunk shorter than its header says, if any (WAV/RIFF)."""
    try:
        found = _TRUNCATED.search(sf.info(str(path)).extra_info)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    if found is None:
        return None
    return f"truncated: the header announces {found.group(1)} bytes of audio, the file " \
           f"holds {found.group(2)}"


def decode_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 waveform at `sample_rate`, shape (samples,)."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise BadItem(f"{path}: not readable audio ({exc})") from exc
    if data.size == 0:
        raise BadItem(f"{path}: empty audio (0 samples)")
    if rate < MIN_AUDIO_RATE:  # resampled, 200 samples "at 1 Hz" would become 200 s of audio
        raise BadItem(f"{path}: the header's sample rate, {rate} Hz, is not an audio rate "
                      f"(below {MIN_AUDIO_RATE} Hz)")
    if (problem := _truncation(path)) is not None:
        raise BadItem(f"{path}: {problem}")
    if not np.isfinite(data).all():
        raise BadItem(f"{path}: audio contains NaN or infinite samples")
    peak = float(np.abs(data).max())
    if peak > 1.0:
        logger.warning("%s: samples reach %.3g, outside [-1, 1]; scaled to peak 1", path, peak)
        data = data / peak
    wave = data.mean(axis=1)
    if rate != sample_rate:
        import soxr  # installed with librosa; imported here to keep start-up light

        wave = soxr.resample(wave, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(wave, dtype=np.float32)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        img = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)  # transparent pixels become white
    return img.convert("RGB")


def decode_image(path: str | Path) -> np.ndarray:
    """uint8 RGB array (H, W, 3)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                return np.asarray(_to_rgb(img), dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadItem(f"{path}: refused, too many pixels for an image ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadItem(f"{path}: not a readable image ({exc})") from exc


def fit_square(image: np.ndarray, side: int) -> np.ndarray:
    """uint8 (H, W, 3) -> (side, side, 3): shorter side resized to `side`, centre crop."""
    h, w = image.shape[:2]
    if (h, w) == (side, side):
        return image
    scale = side / min(h, w)
    nh, nw = max(side, round(h * scale)), max(side, round(w * scale))
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    top, left = (nh - side) // 2, (nw - side) // 2
    return np.ascontiguousarray(resized[top: top + side, left: left + side])


def audio_rate(path: str | Path) -> int | None:
    """The file's native sample rate from its header, or None when unreadable."""
    try:
        return int(sf.info(str(path)).samplerate)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
