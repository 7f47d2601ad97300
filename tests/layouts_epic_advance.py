"""Tiny EPIC-SOUNDS and ADVANCE copies in their published layouts, for reader tests.

`write_epic_sounds(tmp)` and `write_advance(tmp)` write into `tmp/<name>` and
return that root. Both are deterministic and take well under a second.
What they hold is described by the module constants:

- EPIC: `EPIC_CLASSES`, `EPIC_IDS` (split -> ids the reader keeps, in csv
  order), `EPIC_SEGMENTS` (id -> (video, start s, stop s, class_id)),
  `EPIC_CORRUPT_IDS` (split -> kept ids whose load raises BadItem: a
  NaN-filled segment), `EPIC_SKIPPED` (split -> {id: kind of problem}, rows the
  reader drops and counts in index_notes) and `EPIC_CUT_IDS` (kept ids whose
  segment runs 0.05 s past the recording end, cut there).
- ADVANCE: `ADVANCE_CLASSES`, `ADVANCE_CORRUPT_IDS` (modality -> pair keys
  whose file of that modality raises BadItem: a truncated jpg, a zero-byte
  wav) and `ADVANCE_UNPAIRED` (modality -> file without a partner, relative to
  the vision / sound folder). `advance_stem(label, group, take)` names files.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

EPIC_RATE = 24_000
EPIC_HEADER = ["annotation_id", "participant_id", "video_id", "start_timestamp",
               "stop_timestamp", "start_sample", "stop_sample", "description", "class",
               "class_id"]
EPIC_NAMES = {0: "water", 1: "open / close", 2: "click, tick", 4: "rustle"}  # no class_id 3
EPIC_CLASSES = ("water", "open / close", "click, tick", "class-3", "rustle")
# video -> (seconds, channels, dtype); P01_02 is float32 with a NaN stretch at 2-3 s
EPIC_VIDEOS = {"P01_01": (10.0, 1, "int16"), "P01_02": (6.0, 1, "float32"),
               "P02_03": (6.0, 2, "int16")}
EPIC_NAN_SPAN = ("P01_02", 2.0, 3.0)
# (split, annotation_id, video_id, start s, stop s, class_id); class_id None = malformed
_EPIC_ROWS = [
    ("train", "P01_01_0", "P01_01", 0.5, 2.5, 0),
    ("train", "P01_01_1", "P01_01", 3.0, 4.25, 1),
    ("train", "P01_01_2", "P01_01", 5.0, 7.5, 2),
    ("train", "P09_01_0", "P09_01", 1.0, 2.0, 1),  # video not in the HDF5
    ("train", "P02_03_0", "P02_03", 0.25, 1.75, 0),
    ("train", "P01_01_3", "P01_01", 4.5, 4.5, 0),  # empty segment
    ("train", "P02_03_1", "P02_03", 2.0, 5.0, 1),
    ("train", "P01_02_0", "P01_02", 0.0, 1.0, 2),
    ("train", "P01_01_4", "P01_01", 7.6, 7.9, None),  # malformed: class_id "n/a"
    ("train", "P01_02_1", "P01_02", 2.0, 3.0, 0),  # NaN-filled segment
    ("train", "P01_02_2", "P01_02", 5.0, 9.0, 1),  # runs 3 s past the recording
    ("test", "P01_01_5", "P01_01", 8.0, 9.5, 4),
    ("test", "P02_03_2", "P02_03", 5.5, 6.05, 2),  # 0.05 s past the end: cut
    ("test", "P01_01_0", "P01_01", 0.5, 2.5, 0),  # duplicate of a train id
    ("test", "P01_02_3", "P01_02", 3.5, 5.5, 1),
]
EPIC_SKIPPED = {"train": {"P09_01_0": "video_id not in the HDF5",
                          "P01_01_3": "empty segment (stop <= start)",
                          "P01_01_4": "malformed row",
                          "P01_02_2": "segment outside its recording"},
                "test": {"P01_01_0": "duplicate annotation_id"}}
EPIC_IDS = {split: [r[1] for r in _EPIC_ROWS if r[0] == split and r[1] not in EPIC_SKIPPED[split]]
            for split in ("train", "test")}
EPIC_SEGMENTS = {r[1]: r[2:] for r in _EPIC_ROWS if r[1] in EPIC_IDS[r[0]]}
EPIC_CORRUPT_IDS = {"train": ["P01_02_1"], "test": []}
EPIC_CUT_IDS = ("P02_03_2",)


def class_tone(class_id: int) -> float:
    """Frequency (Hz) of the tone filling segments of `class_id`."""
    return 300.0 + 200.0 * class_id


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _epic_audio(video: str, rate: int) -> np.ndarray:
    """Quiet noise with each kept segment's class tone; float in [-1, 1], (n,) or (n, 2)."""
    seconds, channels, _ = EPIC_VIDEOS[video]
    n = int(seconds * rate)
    rng = np.random.default_rng(sum(map(ord, video)))
    wave = 0.01 * rng.standard_normal(n)
    for _, _, vid, start, stop, cid in _EPIC_ROWS:
        if vid == video and cid is not None and stop > start:
            a, b = int(start * rate), min(n, int(stop * rate))
            wave[a:b] += 0.5 * np.sin(2 * np.pi * class_tone(cid) * np.arange(b - a) / rate)
    if video == EPIC_NAN_SPAN[0]:
        wave[int(EPIC_NAN_SPAN[1] * rate): int(EPIC_NAN_SPAN[2] * rate)] = np.nan
    return np.stack([wave, 0.9 * wave], axis=1) if channels == 2 else wave


def write_epic_sounds(tmp: str | Path, *, old_format: bool = False, rate: int = EPIC_RATE,
                      hdf5_name: str = "EPIC_audio.hdf5", name: str = "epic-sounds") -> Path:
    """EPIC-SOUNDS root: train / validation csvs and an HDF5 of 3 recordings.

    `old_format` leaves out the start_sample / stop_sample columns; `rate`
    writes the audio at another rate, stated in each dataset's `sample_rate`
    attribute (the csv samples stay at 24 kHz).
    """
    import h5py

    root = Path(tmp) / name
    root.mkdir(parents=True, exist_ok=True)
    with h5py.File(root / hdf5_name, "w") as f:
        for video, (_, _, dtype) in EPIC_VIDEOS.items():
            wave = _epic_audio(video, rate)
            data = (np.clip(wave, -1, 1) * 32767).astype(np.int16) if dtype == "int16" \
                else wave.astype(np.float32)
            ds = f.create_dataset(video, data=data)
            if rate != EPIC_RATE:
                ds.attrs["sample_rate"] = rate
    header = [c for c in EPIC_HEADER if not (old_format and c.endswith("_sample"))]
    for split, file_name in (("train", "EPIC_Sounds_train.csv"),
                             ("test", "EPIC_Sounds_validation.csv")):
        with open(root / file_name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            for row_split, aid, video, start, stop, cid in _EPIC_ROWS:
                if row_split == split:
                    writer.writerow({
                        "annotation_id": aid, "participant_id": video.split("_")[0],
                        "video_id": video, "start_timestamp": _timestamp(start),
                        "stop_timestamp": _timestamp(stop),
                        "start_sample": round(start * EPIC_RATE),
                        "stop_sample": round(stop * EPIC_RATE),
                        "description": f"sound {aid}",
                        "class": EPIC_NAMES.get(cid, "water"),
                        "class_id": "n/a" if cid is None else cid})
    return root


ADVANCE_CLASSES = ("airport", "beach", "sparse shrub land")
ADVANCE_IMAGE_SIZE = (64, 48)  # width, height
ADVANCE_SOUND_RATE = 22_050


def advance_stem(label: int, group: int, take: int) -> str:
    """File stem: a 5-digit source id (unique per class and group), then the take."""
    return f"{10_000 * (label + 1) + 7 * group:05d}_{take}"


def advance_takes(group: int) -> int:
    """Takes of source `group`: 1, 2, 3, 1, 2, 3, ..."""
    return 1 + group % 3


ADVANCE_CORRUPT_IDS = {"image": [f"airport/{advance_stem(0, 0, 1)}"],  # truncated jpg
                       "audio": [f"beach/{advance_stem(1, 0, 1)}"]}  # zero-byte wav
ADVANCE_UNPAIRED = {"image": f"sparse shrub land/{advance_stem(2, 0, 9)}.jpg",
                    "audio": f"beach/{advance_stem(1, 99, 1)}.wav"}


def _advance_image(label: int, group: int, take: int):
    from PIL import Image

    w, h = ADVANCE_IMAGE_SIZE
    y, x = np.mgrid[0:h, 0:w]
    base = np.array([[200, 60, 60], [60, 160, 220], [90, 170, 70]][label], dtype=np.float64)
    shade = (x * 2 + y * (group + 1) + 13 * take) % 64
    return Image.fromarray(np.clip(base + shade[..., None] - 32, 0, 255).astype(np.uint8))


def _advance_sound(label: int, take: int) -> np.ndarray:
    t = np.arange(ADVANCE_SOUND_RATE) / ADVANCE_SOUND_RATE
    return (0.4 * np.sin(2 * np.pi * (250.0 * (label + 1) + 10 * take) * t)).astype(np.float32)


def write_advance(tmp: str | Path, *, groups: int = 10, authors_names: bool = False,
                  name: str = "advance") -> Path:
    """ADVANCE root: `vision/<class>/*.jpg` (64x48) and `sound/<class>/*.wav` (1 s, 22.05 kHz).

    Each class has `groups` source ids with 1-3 takes each (10 groups: 7 train,
    1 val, 2 test per class). `authors_names` uses Dataset_v3_vision /
    Dataset_v3_sound. Corrupt and unpaired files: see the module docstring.
    """
    import soundfile as sf

    root = Path(tmp) / name
    vision = root / ("Dataset_v3_vision" if authors_names else "vision")
    sound = root / ("Dataset_v3_sound" if authors_names else "sound")
    for label, cls in enumerate(ADVANCE_CLASSES):
        (vision / cls).mkdir(parents=True, exist_ok=True)
        (sound / cls).mkdir(parents=True, exist_ok=True)
        for group in range(groups):
            for take in range(1, advance_takes(group) + 1):
                stem = advance_stem(label, group, take)
                _advance_image(label, group, take).save(vision / cls / f"{stem}.jpg", quality=90)
                sf.write(sound / cls / f"{stem}.wav", _advance_sound(label, take),
                         ADVANCE_SOUND_RATE, subtype="PCM_16")
    bad_image = vision / f"{ADVANCE_CORRUPT_IDS['image'][0]}.jpg"
    bad_image.write_bytes(bad_image.read_bytes()[: math.ceil(bad_image.stat().st_size / 2)])
    (sound / f"{ADVANCE_CORRUPT_IDS['audio'][0]}.wav").write_bytes(b"")
    _advance_image(2, 0, 9).save(vision / ADVANCE_UNPAIRED["image"])
    sf.write(sound / ADVANCE_UNPAIRED["audio"], _advance_sound(1, 1), ADVANCE_SOUND_RATE)
    return root
