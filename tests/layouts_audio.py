"""Tiny audio datasets written in their published on-disk layouts, for tests.

Each `write_*(tmp, ...)` writes into a new folder below `tmp` and returns a
`Fixture`: `root` (what the reader takes), the expected `classes`, `items`
(split -> {id: label}, in the reader's order), `bad_ids` (split -> kept ids
whose load raises `BadItem`), `skipped` (entries the reader leaves out and
counts in `index_notes`), `notes` (one substring per expected index note) and
`audio` (id -> (native rate Hz, frames) of every readable item).

Content: real speech from espeak-ng (each distinct text synthesized once per
process and kept in `_SPEECH`; espeak-ng writes 22.05 kHz) for Speech
Commands, FSDD, one VGGSound label and one class folder; tones whose pitch
depends on the class elsewhere. Every item differs (gain, offset and a little
seeded noise depend on the item number). Files are at the dataset's published
rate and format, but shorter to keep fixtures small: VGGSound clips are 1 s
(not 10 s), ESC-50 clips 1 s (not 5 s). All writers are deterministic and take
well under a second (the first speech synthesis included).

Corrupt items (load raises BadItem), by writer:
- VGGSound: a truncated flac (train) and a zero-byte wav (test).
- Speech Commands: a text file named .wav (test) and a NaN-filled float wav (train).
- ESC-50: a zero-byte wav (fold 1).
- FSDD: a text file named .wav (test).
- AudioFolder: a NaN-filled float wav, a truncated flac and a zero-byte wav.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
import soxr

SPEECH_RATE = 22_050  # espeak-ng's output rate
TARGET_RATE = 16_000  # what the readers decode to
_SPEECH: dict[str, tuple[np.ndarray, int]] = {}  # text -> (waveform, rate), once per process


@dataclass(frozen=True)
class Fixture:
    """What a written dataset holds, as its reader should see it."""

    root: Path  # the folder to give the reader
    classes: tuple[str, ...]  # the reader's classes, in order
    items: dict[str, dict[str, int]]  # split -> {id: label}, in the reader's order
    bad_ids: dict[str, list[str]]  # split -> kept ids whose load raises BadItem
    # where (a split, "validation" or "unparsed") -> entries left out, counted in index_notes
    skipped: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # one substring per expected index note
    audio: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (rate Hz, frames)
    validation: tuple[str, ...] = ()  # Speech Commands: ids of the validation list (unused)

    def ids(self, split: str) -> list[str]:
        """Every id the reader keeps in `split`, in its order."""
        return list(self.items[split])

    def good_ids(self, split: str) -> list[str]:
        """The ids of `split` that decode."""
        return [i for i in self.items[split] if i not in self.bad_ids[split]]

    def samples_16k(self, item_id: str) -> float:
        """The length of the item decoded at 16 kHz (within one sample)."""
        rate, frames = self.audio[item_id]
        return frames * TARGET_RATE / rate


# ---------------------------------------------------------------- waveforms


def speech(text: str) -> tuple[np.ndarray, int]:
    """espeak-ng's float32 mono utterance of `text` and its rate (22050 Hz); cached."""
    if text not in _SPEECH:
        if shutil.which("espeak-ng") is None:
            raise RuntimeError("espeak-ng is required (apt-get install espeak-ng)")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "speech.wav"
            subprocess.run(["espeak-ng", "-w", str(path), text], check=True,
                           capture_output=True)
            wave, rate = sf.read(path, dtype="float32")
        _SPEECH[text] = (wave, int(rate))
    return _SPEECH[text]


def _fit(wave: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """`wave` cut or zero-padded to n samples, starting `offset` samples in."""
    out = np.zeros(n, np.float32)
    part = wave[: max(0, n - offset)]
    out[offset: offset + len(part)] = part
    return out


def _noise(k: int, n: int) -> np.ndarray:
    return 0.003 * np.random.default_rng(k).standard_normal(n).astype(np.float32)


def speech_clip(text: str, rate: int, seconds: float, k: int = 0) -> np.ndarray:
    """Speech of `text` at `rate`, float32 (round(seconds * rate),); gain and offset vary with k."""
    wave, native = speech(text)
    if native != rate:
        wave = soxr.resample(wave, native, rate, quality="HQ")
    n = round(seconds * rate)
    gain = 0.55 + 0.07 * (k % 5)
    clip = _fit(wave / max(1e-6, float(np.abs(wave).max())) * gain, n, (k % 4) * rate // 50)
    return clip + _noise(k, n)


def tone(freq: float, rate: int, seconds: float, k: int = 0) -> np.ndarray:
    """A tone of `freq` Hz with its octave, float32 (round(seconds * rate),), level set by k."""
    t = np.arange(round(seconds * rate)) / rate
    wave = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t + k)
    return (0.35 + 0.05 * (k % 4)) * wave.astype(np.float32) / 1.3 + _noise(k, len(t))


def _write(path: Path, wave: np.ndarray, rate: int, subtype: str = "PCM_16") -> tuple[int, int]:
    """Write a mono file (format from the suffix); returns (rate, frames)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(wave, -1, 1), rate, subtype=subtype)
    return rate, len(wave)


def _write_bad(path: Path, kind: str, rate: int = 16_000) -> None:
    """A corrupt audio file: "zero-bytes", "text", "nan" (float wav), "truncated" (half a flac)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not audio, only a text file named like one\n")
    elif kind == "nan":  # written by hand: libsndfile's float WAVs carry a time stamp (PEAK)
        data = np.full(rate // 4, np.nan, np.float32).tobytes()
        fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)  # IEEE float, mono, 32 bit
        path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                         + b"fmt " + struct.pack("<I", len(fmt)) + fmt
                         + b"data" + struct.pack("<I", len(data)) + data)
    elif kind == "truncated":
        sf.write(path, tone(500.0, rate, 1.0, 3), rate, format="FLAC")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])  # header intact, the stream ends mid-frame
    else:
        raise ValueError(kind)


def _by_split(items: Sequence[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    """[(split, id, label)] -> {split: {id: label}}, order kept."""
    out: dict[str, dict[str, int]] = {"train": {}, "test": {}}
    for split, item_id, label in items:
        out[split][item_id] = label
    return out


# ---------------------------------------------------------------- VGGSound

VGG_LABELS = ("dog barking", "cattle, bovinae cowbell", "playing ukulele")  # csv order
VGG_SECONDS = 1.0  # real clips are 10 s


def _vgg_ytid(j: int, k: int) -> str:
    """An 11-character YouTube id with '-' and '_' in it (the first one is a real id)."""
    return "---g-f_I2yQ" if (j, k) == (0, 0) else f"Yt_{j}-{k:02d}_a-Z"


def _vgg_plan(train: int, test: int) -> list[tuple[str, int, str, str, str]]:
    """Rows (ytid, start, label, split, how); how: flac, wav, nested, missing, truncated, zero."""
    rows = []
    for j, label in enumerate(VGG_LABELS):
        for k in range(train + test):
            split = "train" if k < train else "test"
            how = ("flac", "wav", "nested")[k % 3]
            if (j, k) == (1, 0):
                how = "truncated"
            elif (j, k) == (2, train):
                how = "zero"
            elif (j, k) in ((0, 1), (2, 1), (1, train)):
                how = "missing"
            rows.append((_vgg_ytid(j, k), 10 * k + j, label, split, how))
    return rows


def _vgg_file(root: Path, ytid: str, start: int, how: str) -> Path:
    """Where a clip is stored: padded flac in audio/, unpadded wav in video/, wav in train/a/."""
    if how == "wav":
        return root / "video" / f"{ytid}_{start}.wav"
    if how == "nested":
        return root / "train" / "a" / f"{ytid}_{start:06d}.wav"
    if how == "zero":
        return root / "audio" / f"{ytid}_{start:06d}.wav"
    return root / "audio" / f"{ytid}_{start:06d}.flac"


def write_vggsound(tmp: str | Path, train_per_label: int = 3, test_per_label: int = 2) -> Fixture:
    """tmp/vggsound: vggsound.csv (no header) and 16 kHz clips in audio/, video/, train/a/.

    Labels `VGG_LABELS` (one with a comma, quoted); "dog barking" clips are
    speech ("woof woof"), the others tones. Three csv rows have no clip on disk
    (2 train, 1 test); 3 malformed rows (3 columns, start "12.5", split
    "val"); one row repeats a key; one clip matches no row; an .mp4 twin of a
    clip is ignored. Corrupt: a truncated flac (train) and a zero-byte wav (test).
    """
    if train_per_label < 3 or test_per_label < 2:
        raise ValueError("need train_per_label >= 3 and test_per_label >= 2")
    root = Path(tmp) / "vggsound"
    root.mkdir(parents=True, exist_ok=True)
    classes = tuple(sorted(VGG_LABELS))
    plan = _vgg_plan(train_per_label, test_per_label)
    kept, bad, skipped, audio = [], {"train": [], "test": []}, {"train": [], "test": []}, {}
    for n, (ytid, start, label, split, how) in enumerate(plan):
        key = f"{ytid}_{start:06d}"
        if how == "missing":
            skipped[split].append(key)
            continue
        kept.append((split, key, classes.index(label)))
        path = _vgg_file(root, ytid, start, how)
        if how in ("truncated", "zero"):
            bad[split].append(key)
            _write_bad(path, "truncated" if how == "truncated" else "zero-bytes")
            continue
        j = VGG_LABELS.index(label)
        wave = (speech_clip("woof woof", 16_000, VGG_SECONDS, n) if j == 0
                else tone(250.0 + 200.0 * j, 16_000, VGG_SECONDS, n))
        audio[key] = _write(path, wave, 16_000)
    first = plan[0]
    (root / "video" / f"{first[0]}_{first[1]:06d}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    _write(root / "audio" / "zzzzzzzzzzz_000007.flac", tone(900.0, 16_000, 0.25), 16_000)
    rows = [[ytid, str(start), label, split] for ytid, start, label, split, _ in plan]
    rows[1:1] = [["Bad-row_000", "5", "dog barking"], ["Bad-row_001", "12.5", "dog barking",
                                                        "train"],
                 ["Bad-row_002", "3", "dog barking", "val"]]
    rows.append(rows[-1])  # a repeated test row
    with open(root / "vggsound.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    notes = (f"2 of {len(VGG_LABELS) * train_per_label} train clips are not on disk",
             f"1 of {len(VGG_LABELS) * test_per_label} test clips are not on disk",
             "3 malformed rows", "1 row repeats", "1 audio file matches no")
    return Fixture(root, classes, _by_split(kept), bad, skipped, notes, audio)


# ---------------------------------------------------------------- Speech Commands

SC_WORDS = ("yes", "no", "up")  # sorted: no, up, yes


def _speaker(word: str, k: int) -> str:
    return hashlib.sha1(f"{word}-{k}".encode()).hexdigest()[:8]


def write_speech_commands(tmp: str | Path, words: Sequence[str] = SC_WORDS, per_word: int = 5,
                          torchaudio_layout: bool = False) -> Fixture:
    """speech_commands_v0.02/ with one folder per word, the two lists and _background_noise_/.

    Per word (16 kHz 16-bit mono speech, 1 s; the first train clip 0.75 s):
    clip 0 is in testing_list.txt, clip 1 in validation_list.txt, the rest
    train. Each list names one clip not on disk. Also: `_background_noise_/`
    (2 s noise + README), a hidden folder, LICENSE and README. Corrupt: a text
    file named .wav in the first sorted word (test) and a NaN float wav in the
    second (train). `torchaudio_layout` writes tmp/sc-torchaudio/SpeechCommands/
    speech_commands_v0.02/ and returns tmp/sc-torchaudio as the root.
    """
    if per_word < 3 or len(words) < 2:
        raise ValueError("need per_word >= 3 and at least 2 words")
    top = Path(tmp) / ("sc-torchaudio" if torchaudio_layout else "")
    base = top / "SpeechCommands" / "speech_commands_v0.02" if torchaudio_layout \
        else top / "speech_commands_v0.02"
    classes = tuple(sorted(words))
    testing, validation, audio, train_ids = [], [], {}, []
    for label, word in enumerate(classes):
        for k in range(per_word):
            item_id = f"{word}/{_speaker(word, k)}_nohash_{k % 2}.wav"
            seconds = 0.75 if (label, k) == (0, 2) else 1.0
            audio[item_id] = _write(base / item_id, speech_clip(word, 16_000, seconds, k),
                                    16_000)
            (testing if k == 0 else validation if k == 1 else train_ids).append(item_id)
    text_id, nan_id = f"{classes[0]}/deadbeef_nohash_0.wav", f"{classes[1]}/0badf00d_nohash_0.wav"
    _write_bad(base / text_id, "text")
    _write_bad(base / nan_id, "nan")
    testing.append(text_id)
    train_ids.append(nan_id)
    skipped = {"test": [f"{classes[0]}/ffffffff_nohash_9.wav"],
               "validation": [f"{classes[1]}/eeeeeeee_nohash_9.wav"]}
    (base / "testing_list.txt").write_text("\n".join(testing + skipped["test"]) + "\n")
    (base / "validation_list.txt").write_text("\n".join(skipped["validation"] + validation)
                                              + "\n")
    noise = np.random.default_rng(7).uniform(-0.2, 0.2, 32_000).astype(np.float32)
    _write(base / "_background_noise_" / "white_noise.wav", noise, 16_000)
    (base / "_background_noise_" / "README.md").write_text("background noise, not a class\n")
    _write(base / ".ipynb_checkpoints" / "stray.wav", noise[:1600], 16_000)
    (base / "LICENSE").write_text("CC BY 4.0\n")
    (base / "README.md").write_text("Speech Commands v0.02 (tiny fixture)\n")

    def label_of(item_id: str) -> int:
        return classes.index(item_id.split("/")[0])

    items = [(("test" if i in testing else "train"), i, label_of(i))
             for i in sorted(testing + train_ids, key=Path)]
    notes = ("testing_list.txt: 1 entry names no clip", "validation_list.txt: 1 entry names")
    return Fixture(top if torchaudio_layout else base, classes, _by_split(items),
                   {"train": [nan_id], "test": [text_id]}, skipped, notes, audio,
                   tuple(validation))


# ---------------------------------------------------------------- ESC-50

ESC_NAMES = ("dog", "rooster", "pig", "cow", "frog")  # ESC-50's targets 0..4
ESC_RATE = 44_100
ESC_SECONDS = 1.0  # real clips are 5 s


def esc50_fold(item_id: str) -> int:
    """The fold of an ESC-50 id 'audio/{fold}-{clip}-{take}-{target}.wav'."""
    return int(Path(item_id).name.split("-")[0])


def write_esc50(tmp: str | Path, classes: int = 3, per_fold: int = 1,
                test_fold: int = 5) -> Fixture:
    """tmp/ESC-50: meta/esc50.csv and audio/*.wav (44.1 kHz 16-bit mono, 1 s tones).

    Targets 0..classes-1 named as in ESC-50 (`ESC_NAMES`, not sorted), per_fold
    clips per class and fold. A row names a file not in audio/ (fold 2), one
    row has fold 6. Corrupt: a zero-byte wav (fold 1, target 1).
    `test_fold` only sets the fixture's expected split.
    """
    root = Path(tmp) / "ESC-50"
    names, rows, audio = ESC_NAMES[:classes], [], {}
    for target in range(classes):
        for fold in range(1, 6):
            for k in range(per_fold):
                clip = 100_000 + 1000 * target + 10 * fold + k
                rows.append([f"{fold}-{clip}-{'AB'[k % 2]}-{target}.wav", fold, target,
                             names[target], target < 2, f"{clip}.ogg", "AB"[k % 2]])
    bad_name = f"1-{100_000 + 1010}-A-1.wav"
    missing_name, odd_name = "2-999999-A-0.wav", "6-999998-A-0.wav"
    for n, (name, _, target, *_rest) in enumerate(rows):
        if name == bad_name:
            _write_bad(root / "audio" / name, "zero-bytes")
        else:
            wave = tone(220.0 * (target + 1), ESC_RATE, ESC_SECONDS, n)
            audio[f"audio/{name}"] = _write(root / "audio" / name, wave, ESC_RATE)
    extra = [[missing_name, 2, 0, names[0], True, "999999.ogg", "A"],
             [odd_name, 6, 0, names[0], True, "999998.ogg", "A"]]
    _write(root / "audio" / odd_name, tone(220.0, ESC_RATE, 0.1), ESC_RATE)
    table = sorted(rows + extra)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    with open(root / "meta" / "esc50.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        writer.writerows(table)
    items = [("test" if r[1] == test_fold else "train", f"audio/{r[0]}", r[2])
             for r in table if r[0] not in (missing_name, odd_name)]
    split_of = "test" if test_fold == 1 else "train"
    bad = {"train": [], "test": []}
    bad[split_of].append(f"audio/{bad_name}")
    skipped = {"train" if test_fold != 2 else "test": [f"audio/{missing_name}"]}
    notes = ("1 malformed row skipped", "1 row names a file not in audio/")
    return Fixture(root, tuple(names), _by_split(items), bad, skipped, notes, audio)


# ---------------------------------------------------------------- FSDD

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FSDD_RATE = 8_000
FSDD_SECONDS = 0.5


def write_fsdd(tmp: str | Path, digits: Sequence[int] = (0, 1, 2),
               speakers: Sequence[str] = ("jackson", "theo"),
               indices: Sequence[int] = (0, 3, 5, 9, 12), recordings_root: bool = False) -> Fixture:
    """tmp/free-spoken-digit-dataset/recordings/{digit}_{speaker}_{index}.wav, 8 kHz 0.5 s speech.

    Index 0-4 is test. Also README.md, metadata.py and two files whose names
    do not parse (`jackson_0.wav`, `10_theo_1.wav`). Corrupt: a text file
    named `{digits[-1]}_nicolas_2.wav` (test). `recordings_root` returns the
    recordings folder itself as the root (ids are then bare file names).
    """
    repo = Path(tmp) / "free-spoken-digit-dataset"
    rec = repo / "recordings"
    prefix = "" if recordings_root else "recordings/"
    entries, audio = [], {}
    for d in digits:
        for s, speaker in enumerate(speakers):
            for index in indices:
                name = f"{d}_{speaker}_{index}.wav"
                wave = speech_clip(DIGIT_WORDS[d], FSDD_RATE, FSDD_SECONDS, 7 * s + index)
                audio[prefix + name] = _write(rec / name, wave, FSDD_RATE)
                entries.append(((d, speaker, index), prefix + name))
    bad_name = f"{digits[-1]}_nicolas_2.wav"
    _write_bad(rec / bad_name, "text")
    entries.append(((digits[-1], "nicolas", 2), prefix + bad_name))
    for odd in ("jackson_0.wav", "10_theo_1.wav"):
        _write(rec / odd, tone(440.0, FSDD_RATE, 0.1), FSDD_RATE)
    (repo / "README.md").write_text("Free Spoken Digit Dataset (tiny fixture)\n")
    (repo / "metadata.py").write_text("metadata = {'jackson': {'gender': 'male'}}\n")
    items = [("test" if key[2] < 5 else "train", item_id, key[0])
             for key, item_id in sorted(entries)]
    return Fixture(rec if recordings_root else repo, tuple(str(d) for d in range(10)),
                   _by_split(items), {"train": [], "test": [prefix + bad_name]},
                   {"unparsed": [prefix + "jackson_0.wav", prefix + "10_theo_1.wav"]},
                   ("2 audio files are not named",), audio)


# ---------------------------------------------------------------- class folders

AUDIO_FOLDER_CLASSES = ("chirp", "hello", "hum")
# k % 4 -> (name pattern, suffix, rate): formats and rates vary within a class
_FOLDER_FORMATS = (("{c}_{k:02d}", ".wav", 16_000), ("{c}_{k:02d}", ".flac", 22_050),
                   ("{c}_{k:02d}", ".WAV", 44_100), ("sub/deep/{c}_{k:02d}", ".wav", 8_000))
_FOLDER_BAD = (("bad/nan.wav", "nan"), ("truncated.flac", "truncated"),
               ("empty.wav", "zero-bytes"))


def audio_folder_split(item_id: str) -> str:
    """The split the flat class-folder layout gives `item_id`: test when sha1 % 5 == 0."""
    return "test" if int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 5 == 0 else "train"


def _folder_wave(cls: str, label: int, rate: int, k: int) -> np.ndarray:
    if cls == "hello":
        return speech_clip("hello", rate, 0.5, k)
    return tone(180.0 * (label + 1) + 15 * k, rate, 0.5, k)


def write_audio_folder(tmp: str | Path, classes: Sequence[str] = AUDIO_FOLDER_CLASSES,
                       per_class: int = 6, split_folders: bool = False) -> Fixture:
    """tmp/audio-folder: <class>/**/<audio> (or train/<class>/ + test/<class>/), 0.5 s clips.

    Files alternate wav 16 kHz, flac 22.05 kHz, .WAV 44.1 kHz and a nested
    wav 8 kHz; "hello" is espeak speech, the other classes tones. Flat: split
    by `audio_folder_split`, plus a loose wav in the root (noted). Split
    folders: per_class train and per_class // 2 (at least 1) test clips per
    class. Corrupt (first class): bad/nan.wav (NaN float wav), truncated.flac
    and empty.wav (zero bytes); with split folders truncated.flac is in test/,
    the others in train/. A notes.txt in the first class is ignored.
    """
    root = Path(tmp) / "audio-folder"
    order = sorted(classes)
    parts = {"": per_class} if not split_folders else {"train": per_class,
                                                       "test": max(1, per_class // 2)}
    entries, audio, bad = [], {}, {"train": [], "test": []}
    for part, n in parts.items():
        for cls in classes:
            label = order.index(cls)
            for k in (range(100, 100 + n) if part == "test" else range(n)):
                pattern, suffix, rate = _FOLDER_FORMATS[k % 4]
                rel = "/".join(filter(None, (part, cls, pattern.format(c=cls, k=k) + suffix)))
                audio[rel] = _write(root / rel, _folder_wave(cls, label, rate, k), rate)
                entries.append((rel, label))
    for name, kind in _FOLDER_BAD:
        part = ("test" if kind == "truncated" else "train") if split_folders else ""
        rel = "/".join(filter(None, (part, order[0], name)))
        _write_bad(root / rel, kind)
        entries.append((rel, 0))
        bad[part or audio_folder_split(rel)].append(rel)
    first = f"train/{order[0]}" if split_folders else order[0]
    (root / first / "notes.txt").write_text("not audio\n")
    notes: tuple[str, ...] = ()
    if not split_folders:
        _write(root / "loose.wav", tone(300.0, 16_000, 0.2), 16_000)
        notes = ("1 audio file directly in the root",)
    entries.sort(key=lambda e: (e[1], Path(e[0])))
    items = [(e[0].split("/")[0] if split_folders else audio_folder_split(e[0]), *e)
             for e in entries]
    return Fixture(root, tuple(order), _by_split(items), bad, {}, notes, audio)
