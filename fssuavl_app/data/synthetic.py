"""Built-in data, generated deterministically from the seed: no downloads.

`SyntheticShapes`: 10 classes of rendered shapes and textures with random
pose, scale, colours, background and noise (64x64 RGB by default).
`SyntheticSounds`: 10 classes of tones, chirps, noise bands, click trains,
tremolo, vibrato, beeps and trills with random pitch, timing, gain and
background noise (16 kHz mono, 3 s by default).

Every item is drawn from its own generator seeded by (seed, modality, split,
index), so any subset can be produced without producing the rest, in any
process, with identical results. Labels come from a seeded permutation and
cost nothing to list.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .base import SAMPLE_RATE, check_split

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "star",
                 "grating", "checkerboard", "dots", "crescent")
SOUND_CLASSES = ("tone", "harmonic", "chirp-up", "chirp-down", "noise-band",
                 "clicks", "tremolo", "vibrato", "beeps", "trill")
_SPLIT_CODE = MappingProxyType({"train": 0, "test": 1})


def _balanced_labels(seed: int, modality_code: int, split: str, num_classes: int,
                     per_class: int) -> np.ndarray:
    rng = np.random.default_rng([seed, modality_code, _SPLIT_CODE[split], 7919])
    return rng.permutation(np.repeat(np.arange(num_classes, dtype=np.int64), per_class))


class _Synthetic:
    modality_code = 0
    classes: tuple[str, ...] = ()

    def __init__(self, seed: int = 0, train_per_class: int = 300, test_per_class: int = 50):
        self.seed = seed
        self._labels = {
            split: _balanced_labels(seed, self.modality_code, split, len(self.classes), n)
            for split, n in (("train", train_per_class), ("test", test_per_class))
        }

    index_notes: tuple[str, ...] = ()

    def labels(self, split: str) -> np.ndarray:
        check_split(split)
        return self._labels[split]

    def item_id(self, split: str, index: int) -> str:
        """Items are numbered: the id is the position in the split."""
        check_split(split)
        return str(index)

    def item_ids(self, split: str) -> list[str]:
        return [str(i) for i in range(len(self.labels(split)))]

    def index_of(self, split: str, ids) -> np.ndarray:
        n = len(self.labels(split))
        out = np.asarray([int(i) for i in ids], dtype=np.int64)
        if len(out) and (out.min() < 0 or out.max() >= n):
            raise ValueError(f"{self.name}: ids outside 0..{n - 1} in the {split} split; was "
                             "the manifest made with other synthetic-*-per-class settings?")
        return out

    def fingerprint(self, split: str, index: int) -> None:
        return None  # generated on demand; never cached

    def native_rate(self, split: str, index: int) -> int | None:
        return None

    def _rng(self, split: str, index: int) -> np.random.Generator:
        check_split(split)
        return np.random.default_rng([self.seed, self.modality_code, _SPLIT_CODE[split], index])


# ---------------------------------------------------------------- images

def _shape_mask(label: int, px: np.ndarray, py: np.ndarray, rng: np.random.Generator
                ) -> np.ndarray:
    """Coverage in [0, 1] of class `label` in shape coordinates (unit-size shape)."""
    r, phi = np.hypot(px, py), np.arctan2(py, px)
    if label == 0:
        m = r < 0.8
    elif label == 1:
        m = np.maximum(abs(px), abs(py)) < 0.7
    elif label == 2:
        m = (py > -0.45) & (py < 0.9 - 1.9 * abs(px) * 0.95)
    elif label == 3:
        m = ((abs(px) < 0.25) & (abs(py) < 0.9)) | ((abs(py) < 0.25) & (abs(px) < 0.9))
    elif label == 4:
        m = (r > 0.5) & (r < 0.85)
    elif label == 5:
        m = r < 0.45 + 0.4 * np.cos(5 * phi)
    elif label == 6:
        m = np.sin(px * rng.uniform(7, 12)) > 0
    elif label == 7:
        f = rng.uniform(5, 9)
        m = np.sin(px * f) * np.sin(py * f) > 0
    elif label == 8:
        f = rng.uniform(2.5, 4)
        gx, gy = (px * f) % 1 - 0.5, (py * f) % 1 - 0.5
        m = np.hypot(gx, gy) < 0.28
    else:
        m = (r < 0.8) & (np.hypot(px - 0.35, py) > 0.6)
    return m.astype(np.float32)


class SyntheticShapes(_Synthetic):
    """Rendered shapes and textures: 10 classes, uint8 (size, size, 3) RGB."""

    name = "synthetic-shapes"
    modality = "image"
    modality_code = 0
    classes = SHAPE_CLASSES

    def __init__(self, seed: int = 0, train_per_class: int = 300, test_per_class: int = 50,
                 size: int = 64):
        super().__init__(seed, train_per_class, test_per_class)
        self.size = size

    def load(self, split: str, index: int) -> np.ndarray:
        rng, label = self._rng(split, index), int(self.labels(split)[index])
        axis = np.linspace(-1, 1, self.size, dtype=np.float32)
        x, y = np.meshgrid(axis, axis)
        theta, scale = rng.uniform(0, 2 * np.pi), rng.uniform(0.45, 0.8)
        tx, ty = rng.uniform(-0.3, 0.3, size=2)
        c, s = np.cos(theta), np.sin(theta)
        px = (c * (x - tx) + s * (y - ty)) / scale
        py = (-s * (x - tx) + c * (y - ty)) / scale
        mask = _shape_mask(label, px, py, rng)[..., None]
        fg, bg = self._colours(rng)
        gradient = rng.uniform(-0.15, 0.15, size=3) * x[..., None]
        img = mask * fg + (1 - mask) * (bg + gradient)
        img = img + rng.normal(0, rng.uniform(0.01, 0.08), size=img.shape)
        return (np.clip(img, 0, 1) * 255).astype(np.uint8)

    @staticmethod
    def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Foreground and background RGB colours with visible contrast."""
        while True:
            fg, bg = rng.uniform(0, 1, size=3), rng.uniform(0, 1, size=3)
            if abs(fg.mean() - bg.mean()) > 0.2 or np.abs(fg - bg).max() > 0.5:
                return fg.astype(np.float32), bg.astype(np.float32)


# ---------------------------------------------------------------- audio

def _tone(f: np.ndarray | float, t: np.ndarray) -> np.ndarray:
    """Sine with (possibly time-varying) frequency f in Hz at times t in s."""
    f = np.broadcast_to(np.asarray(f, dtype=np.float64), t.shape)
    return np.sin(2 * np.pi * np.cumsum(f) / SAMPLE_RATE)


def _band_noise(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(size=n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spec[(freqs < lo) | (freqs > hi)] = 0
    out = np.fft.irfft(spec, n)
    return out / (np.abs(out).max() + 1e-9)


def _gate(t: np.ndarray, rate: float, duty: float, phase: float) -> np.ndarray:
    return (((t * rate + phase) % 1.0) < duty).astype(np.float64)


def _event(label: int, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One sound event of class `label`, peak about 1."""
    u = rng.uniform
    if label == 0:
        return _tone(np.exp(u(np.log(200), np.log(2000))), t)
    if label == 1:
        f0 = u(100, 400)
        return sum(_tone(k * f0, t) / k for k in range(1, 7)) / 2.0
    if label in (2, 3):
        f_lo, ratio = u(200, 800), u(3, 6)
        sweep = f_lo * ratio ** (t / t[-1])
        return _tone(sweep if label == 2 else sweep[::-1], t)
    if label == 4:
        centre = np.exp(u(np.log(500), np.log(4000)))
        width = centre * u(0.2, 0.4)
        return _band_noise(rng, len(t), centre - width, centre + width)
    if label == 5:
        clicks = _gate(t, u(4, 12), 0.02, u(0, 1))
        return clicks * rng.choice([-1.0, 1.0], size=len(t))
    if label == 6:
        return _tone(u(300, 1500), t) * (1 - u(0.8, 1.0) * 0.5 * (1 + np.sin(2 * np.pi * u(3, 10) * t)))
    if label == 7:
        f = u(300, 1500)
        return _tone(f * (1 + u(0.05, 0.15) * np.sin(2 * np.pi * u(4, 8) * t)), t)
    if label == 8:
        return _tone(u(500, 2500), t) * _gate(t, u(2, 5), u(0.3, 0.6), u(0, 1))
    f = u(400, 1600)
    return _tone(np.where(_gate(t, u(8, 15), 0.5, u(0, 1)) > 0, f, f * u(1.15, 1.5)), t)


class SyntheticSounds(_Synthetic):
    """Synthesised sound events: 10 classes, float32 mono 16 kHz waveforms."""

    name = "synthetic-sounds"
    modality = "audio"
    modality_code = 1
    classes = SOUND_CLASSES

    def __init__(self, seed: int = 0, train_per_class: int = 300, test_per_class: int = 50,
                 seconds: float = 3.0):
        super().__init__(seed, train_per_class, test_per_class)
        self.num_samples = int(seconds * SAMPLE_RATE)

    def native_rate(self, split: str, index: int) -> int:
        return SAMPLE_RATE

    def load(self, split: str, index: int) -> np.ndarray:
        rng, label = self._rng(split, index), int(self.labels(split)[index])
        n = self.num_samples
        length = int(n * rng.uniform(0.7, 1.0))
        start = rng.integers(0, n - length + 1)
        t = np.arange(length) / SAMPLE_RATE
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
        wave = np.zeros(n)
        wave[start:start + length] = _event(label, t, rng) * fade * rng.uniform(0.2, 0.8)
        wave += rng.normal(0, rng.uniform(0.002, 0.03), size=n)
        return np.clip(wave, -1, 1).astype(np.float32)


