"""Audio datasets in their published layouts: VGGSound, Speech Commands, ESC-50, FSDD, folders.

Every reader is an `AudioFiles` source: `load` decodes one file
with soundfile to a mono float32 waveform at 16 kHz, shape (samples,), and
`native_rate` reads the file's rate (Hz) from its header. Labels and ids come
from the index alone (file names, csvs, list files); nothing is decoded while
indexing. Entries that name a missing file, and malformed rows, are left out
and counted in `index_notes`; files that exist but cannot be decoded stay in
the index and raise `BadItem` on load.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

from .folders import class_folder_index, note, visible_files
from .index import AudioFiles, DatasetLayoutError, SplitIndex, read_text, require_dir, require_file
from .walk import AUDIO_SUFFIXES, files_under, sorted_subdirs, walk_classes

VGGSOUND_CSV = "vggsound.csv"
VGGSOUND_SPLITS = ("train", "test")
SPEECH_COMMANDS_FOLDER = "speech_commands_v0.02"
# torchaudio keeps the data in ROOT/SpeechCommands/speech_commands_v0.02
SPEECH_COMMANDS_TORCHAUDIO = "SpeechCommands"
BACKGROUND_NOISE = "_background_noise_"
TESTING_LIST = "testing_list.txt"
VALIDATION_LIST = "validation_list.txt"
ESC50_CSV = "meta/esc50.csv"
ESC50_FOLDER = "ESC-50-master"  # what the GitHub zip unpacks to
ESC50_FOLDS = (1, 2, 3, 4, 5)
ESC50_COLUMNS = ("filename", "fold", "target", "category")
FSDD_RECORDINGS = "recordings"
FSDD_TEST_INDICES = range(0, 5)  # recordings with index 0-4 are test, the rest train
FSDD_CLASSES = tuple(str(d) for d in range(10))
_FSDD_STEM = re.compile(r"^([0-9])_([^_]+)_([0-9]+)$")


class _PathMapped(AudioFiles):
    """A FileSource whose ids are keys mapped to files (root-relative paths) by `_files`."""

    _files: dict[str, str]

    def path(self, split: str, index: int) -> Path:
        return self.root / self._files[self.item_id(split, index)]


# ---------------------------------------------------------------- VGGSound


def vggsound_key(ytid: str, start: int) -> str:
    """The id of a VGGSound clip: '<ytid>_<start:06d>', e.g. '---g-f_I2yQ_000001'."""
    return f"{ytid}_{int(start):06d}"


def _vggsound_row(fields: list[str]) -> tuple[str, int, str, str]:
    """(ytid, start s, label, split) of one csv row; ValueError says what is wrong."""
    if len(fields) != 4:
        raise ValueError(f"{len(fields)} columns, expected 4")
    ytid, start, label, split = (f.strip() for f in fields)
    if not ytid or not label:
        raise ValueError("empty YouTube id or label")
    if not start.isdigit():
        raise ValueError(f"start {start!r} is not a whole number of seconds")
    if split not in VGGSOUND_SPLITS:
        raise ValueError(f"split {split!r} is not train or test")
    return ytid, int(start), label, split


def read_vggsound_csv(path: Path) -> tuple[list[tuple[str, int, str, str]], list[str]]:
    """Rows (ytid, start, label, split) of vggsound.csv; 'line N: why' of bad rows."""
    rows, bad = [], []
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.reader(fh)
        first = 1  # the file line the next row starts on
        for fields in reader:
            if any("\n" in f or "\r" in f for f in fields):  # a quote left open took lines
                bad.append(f"lines {first}-{reader.line_num}: a quote opened on line {first} is "
                           f"still open on line {reader.line_num}, so these "
                           f"{reader.line_num - first + 1} lines read as one row; close it")
            elif any(f.strip() for f in fields):
                try:
                    rows.append(_vggsound_row(fields))
                except ValueError as exc:
                    bad.append(f"line {reader.line_num}: {exc}")
            first = reader.line_num + 1
    return rows, bad


def _clips_by_stem(root: Path) -> tuple[dict[str, str], list[str]]:
    """stem -> root-relative posix path of the audio files below root; repeated stems."""
    found: dict[str, str] = {}
    repeated = []
    for p in files_under(root, AUDIO_SUFFIXES):
        rel = p.relative_to(root).as_posix()
        if p.stem in found:
            repeated.append(rel)
        else:
            found[p.stem] = rel
    return found, repeated


class VGGSound(_PathMapped):
    """VGGSound: `vggsound.csv` (no header: ytid, start s, label, train/test) + extracted clips.

    The clips are audio files (wav or flac, any of `AUDIO_SUFFIXES`) anywhere
    below `root` (root/audio/, root/train/, ...), named `<ytid>_<start:06d>` or
    `<ytid>_<start>` (no padding); they are found once, by file stem. When two
    files share a stem the first in sorted path order is used (the others are
    counted in `index_notes`). Ids are the csv key `<ytid>_<start:06d>`
    (`vggsound_key`), whatever the file's folder, padding or format; `path`
    maps an id to its file. Items are in csv order. Classes are the sorted
    unique labels of all well-formed csv rows, including rows whose clip is
    missing, so label numbers do not depend on which clips a copy has. Rows
    whose clip is not on disk (taken-down videos), repeated keys and malformed
    rows (not 4 columns, start not a whole number, split not train/test) are
    left out and counted in `index_notes`, as are audio files no row names.
    """

    name = "vggsound"

    def __init__(self, root: str | Path):
        base = require_dir(Path(root), f"the VGGSound root ({VGGSOUND_CSV} and the clips "
                                        "<ytid>_<start:06d>.wav/.flac anywhere below it)")
        table = require_file(base / VGGSOUND_CSV, "the VGGSound label list (no header: "
                                                  "ytid,start,label,split)")
        rows, bad = read_vggsound_csv(table)
        classes = sorted({label for _, _, label, _ in rows})
        if not classes:
            raise DatasetLayoutError(f"{table}: no well-formed rows (ytid,start,label,split)")
        clips, repeated_files = _clips_by_stem(base)
        splits, notes = self._index(rows, classes, clips)
        used = set(self._files.values())
        unlisted = [rel for rel in clips.values() if rel not in used]
        notes = (note(VGGSOUND_CSV, ("malformed row skipped", "malformed rows skipped"), bad)
                 + notes
                 + note(str(base), (f"audio file matches no {VGGSOUND_CSV} row",
                                    f"audio files match no {VGGSOUND_CSV} row"), unlisted)
                 + note(str(base), ("audio file repeats the stem of another file, not used",
                                    "audio files repeat the stem of another file, not used"),
                         repeated_files))
        super().__init__(base, classes, splits, notes)

    def _index(self, rows, classes, clips) -> tuple[dict[str, SplitIndex], list[str]]:
        """Splits in csv order, `_files` filled; notes on missing clips and repeated keys."""
        label_of = {c: n for n, c in enumerate(classes)}
        splits = {s: SplitIndex() for s in VGGSOUND_SPLITS}
        listed: Counter = Counter()
        missing: dict[str, list[str]] = {s: [] for s in VGGSOUND_SPLITS}
        repeated, seen = [], set()
        self._files = {}
        for ytid, start, label, split in rows:
            key = vggsound_key(ytid, start)
            if key in seen:
                repeated.append(key)
                continue
            seen.add(key)
            listed[split] += 1
            rel = clips.get(key) or clips.get(f"{ytid}_{start}")
            if rel is None:
                missing[split].append(key)
                continue
            self._files[key] = rel
            splits[split].add(key, label_of[label])
        notes = [f"{VGGSOUND_CSV}: {len(missing[s])} of {listed[s]} {s} clips are not on disk "
                 f"(first: {missing[s][0]})" for s in VGGSOUND_SPLITS if missing[s]]
        return splits, notes + note(VGGSOUND_CSV, ("row repeats a clip listed before, skipped",
                                             "rows repeat a clip listed before, skipped"),
                                     repeated)


# ---------------------------------------------------------------- Speech Commands


def _speech_commands_base(root: Path) -> Path:
    """The folder holding the word folders and list files: root, or torchaudio's sub-folder."""
    for base in (root, root / SPEECH_COMMANDS_TORCHAUDIO / SPEECH_COMMANDS_FOLDER,
                 root / SPEECH_COMMANDS_FOLDER):
        if (base / TESTING_LIST).is_file() or (base / VALIDATION_LIST).is_file():
            return base
    return root


def read_list(path: Path) -> list[str]:
    """The entries of a Speech Commands list file (relative posix paths), in file order.

    Written by hand or another tool, an entry may read `./no/x.wav`,
    `no//x.wav` or `no\\x.wav`: each is the clip id `no/x.wav` (a clip whose
    entry is not recognised would silently move from test to train).
    """
    lines = read_text(path).splitlines()
    entries = (line.strip().replace("\\", "/") for line in lines)
    return [posixpath.normpath(e) for e in entries if e]


class SpeechCommands(AudioFiles):
    """Speech Commands v0.02: one folder per word, 1 s 16 kHz clips, two list files.

    `root` is the extracted `speech_commands_v0.02` folder (word folders,
    `validation_list.txt`, `testing_list.txt`), or torchaudio's root holding
    `SpeechCommands/speech_commands_v0.02/`; `self.root` is the folder itself.
    Classes are the sorted word folder names; `_background_noise_` and hidden
    folders are not classes. test = the clips of `testing_list.txt`; train =
    every other wav of a word folder that is not in `validation_list.txt`. The
    validation clips are in neither split: their ids are `validation_ids`
    (count: `validation_count`). Ids are root-relative posix paths
    (`right/bb05582b_nohash_3.wav`), items class by class, sorted by path.
    List entries with no such clip on disk, and clips in both lists (used as
    test), are counted in `index_notes`.
    """

    name = "speech-commands"

    def __init__(self, root: str | Path):
        where = (f"the Speech Commands folder {SPEECH_COMMANDS_FOLDER}/ (word folders with "
                 f"{VALIDATION_LIST} and {TESTING_LIST}), or torchaudio's root holding "
                 f"{SPEECH_COMMANDS_TORCHAUDIO}/{SPEECH_COMMANDS_FOLDER}/")
        base = _speech_commands_base(require_dir(Path(root), where))
        testing = read_list(require_file(base / TESTING_LIST, f"the test list of {where}"))
        validation = read_list(require_file(base / VALIDATION_LIST,
                                            f"the validation list of {where}"))
        classes = sorted_subdirs(base, exclude=(BACKGROUND_NOISE,))
        if not classes:
            raise DatasetLayoutError(f"expected word folders in {base} (none found)")
        clips, _, linked = walk_classes(base, [base / w for w in classes], (".wav",))
        test_set, val_set = set(testing), set(validation)
        splits = {"train": SplitIndex(), "test": SplitIndex()}
        self.validation_ids: list[str] = []
        for item_id, label in clips:
            if item_id in test_set:
                splits["test"].add(item_id, label)
            elif item_id in val_set:
                self.validation_ids.append(item_id)
            else:
                splits["train"].add(item_id, label)
        present = {item_id for item_id, _ in clips}
        absent = ("entry names no clip of a word folder on disk",
                  "entries name no clip of a word folder on disk")
        notes = (note(TESTING_LIST, absent, [e for e in testing if e not in present])
                 + note(VALIDATION_LIST, absent, [e for e in validation if e not in present])
                 + note(TESTING_LIST, (f"clip is also in {VALIDATION_LIST}; used as test",
                                        f"clips are also in {VALIDATION_LIST}; used as test"),
                         sorted(test_set & val_set & present))
                 + note(str(base), ("linked folder leads into another word or is reached twice; "
                                    "not read there", "linked folders lead into another word or "
                                    "are reached twice; not read there"), linked))
        super().__init__(base, classes, splits, notes)

    @property
    def validation_count(self) -> int:
        """Clips of validation_list.txt found on disk (in neither split)."""
        return len(self.validation_ids)


# ---------------------------------------------------------------- ESC-50


def _esc50_row(row: dict[str, str]) -> tuple[str, int, int, str]:
    """(filename, fold, target, category) of one esc50.csv row; ValueError says what is wrong."""
    name, fold, target, category = ((row.get(c) or "").strip() for c in ESC50_COLUMNS)
    if not name or not category:
        raise ValueError("empty filename or category")
    if not fold.isdigit() or int(fold) not in ESC50_FOLDS:
        raise ValueError(f"fold {fold!r} is not 1..5")
    if not target.isdigit():
        raise ValueError(f"target {target!r} is not a class number")
    return name, int(fold), int(target), category


def read_esc50_csv(path: Path) -> tuple[list[tuple[str, int, int, str]], list[str]]:
    """Rows (filename, fold, target, category) of esc50.csv and 'line N: why' of bad rows."""
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.DictReader(fh)
        header = [c.strip() for c in reader.fieldnames or []]
        lacking = [c for c in ESC50_COLUMNS if c not in header]
        if lacking:
            raise DatasetLayoutError(f"{path}: no column(s) {lacking}; expected the header "
                                     "filename,fold,target,category,esc10,src_file,take")
        reader.fieldnames = header
        rows, bad = [], []
        for row in reader:
            try:
                rows.append(_esc50_row(row))
            except ValueError as exc:
                bad.append(f"line {reader.line_num}: {exc}")
    return rows, bad


def esc50_classes(rows: Sequence[tuple[str, int, int, str]], path: Path) -> list[str]:
    """Category names in target order 0..max; 'target-<n>' for a target no row has."""
    names: dict[int, str] = {}
    for _, _, target, category in rows:
        if names.setdefault(target, category) != category:
            raise DatasetLayoutError(f"{path}: target {target} is named both "
                                     f"{names[target]!r} and {category!r}")
    if not names:
        raise DatasetLayoutError(f"{path}: no well-formed rows")
    return [names.get(t, f"target-{t}") for t in range(max(names) + 1)]


class ESC50(AudioFiles):
    """ESC-50: `meta/esc50.csv` + `audio/*.wav` (5 s, 44.1 kHz), five folds, leave-one-fold-out.

    `root` holds `meta/` and `audio/` (or is the parent of the unzipped
    `ESC-50-master/`). test = the rows with fold == `test_fold` (1..5,
    default 5), train = the rows of the other four folds. Classes are ordered
    by `target` (0..49) and named by `category`. Ids are `audio/<filename>`,
    in csv order. Rows whose file is not in `audio/`, repeated file names
    and malformed rows are left out and counted in `index_notes`.
    """

    name = "esc50"

    def __init__(self, root: str | Path, test_fold: int = 5):
        if isinstance(test_fold, bool) or test_fold not in ESC50_FOLDS:
            raise ValueError(f"esc50: test_fold must be one of {ESC50_FOLDS}, got {test_fold!r}")
        self.test_fold = int(test_fold)
        where = "the ESC-50 root (meta/esc50.csv and audio/*.wav)"
        base = require_dir(Path(root), where)
        if not (base / ESC50_CSV).is_file() and (base / ESC50_FOLDER / ESC50_CSV).is_file():
            base = base / ESC50_FOLDER
        table = require_file(base / ESC50_CSV, "the ESC-50 metadata (header filename,fold,"
                                               "target,category,esc10,src_file,take)")
        audio = require_dir(base / "audio", "the ESC-50 clips audio/*.wav")
        rows, bad = read_esc50_csv(table)
        classes = esc50_classes(rows, table)
        present = set(os.listdir(audio))
        splits = {"train": SplitIndex(), "test": SplitIndex()}
        missing, repeated, seen = [], [], set()
        for name, fold, target, _ in rows:
            item_id = f"audio/{name}"
            if name not in present:
                missing.append(item_id)
            elif item_id in seen:
                repeated.append(item_id)
            else:
                seen.add(item_id)
                splits["test" if fold == self.test_fold else "train"].add(item_id, target)
        notes = (note("esc50.csv", ("malformed row skipped", "malformed rows skipped"), bad)
                 + note("esc50.csv", ("row names a file not in audio/",
                                       "rows name a file not in audio/"), missing)
                 + note("esc50.csv", ("row repeats a file listed before, skipped",
                                       "rows repeat a file listed before, skipped"), repeated))
        super().__init__(base, classes, splits, notes)


# ---------------------------------------------------------------- FSDD


def parse_fsdd_name(stem: str) -> tuple[int, str, int] | None:
    """(digit, speaker, index) of an FSDD file stem like '7_jackson_32'; None if not parsed."""
    match = _FSDD_STEM.match(stem)
    return (int(match[1]), match[2], int(match[3])) if match else None


class FSDD(AudioFiles):
    """Free Spoken Digit Dataset: `recordings/{digit}_{speaker}_{index}.wav`, 8 kHz mono.

    `root` is the free-spoken-digit-dataset folder holding `recordings/`, or
    the `recordings/` folder itself. Classes are "0".."9" (label = digit).
    Official split: index 0-4 is test, 5 and above train. Ids are paths
    relative to `root`: `recordings/<file>`, or just `<file>` when `root` is
    the recordings folder. Items are sorted by (digit, speaker, index).
    Audio files whose name does not parse, and second files of one recording
    (`2_jackson_6.wav` and `2_jackson_6.flac` or `2_jackson_06.wav`: the .wav,
    else the first by name, is kept), are counted in `index_notes`.
    """

    name = "fsdd"

    def __init__(self, root: str | Path):
        base = require_dir(Path(root), "the free-spoken-digit-dataset folder holding "
                                       f"{FSDD_RECORDINGS}/ (or {FSDD_RECORDINGS}/ itself)")
        folder = base / FSDD_RECORDINGS if (base / FSDD_RECORDINGS).is_dir() else base
        prefix = "" if folder == base else f"{FSDD_RECORDINGS}/"
        parsed, odd = [], []
        for p in visible_files(folder, AUDIO_SUFFIXES):
            fields = parse_fsdd_name(p.stem)
            if fields is None:
                odd.append(prefix + p.name)
            else:
                parsed.append((fields, prefix + p.name))
        if not parsed:
            raise DatasetLayoutError(f"expected {FSDD_RECORDINGS}/<digit>_<speaker>_<index>.wav "
                                     f"in {base} or {base / FSDD_RECORDINGS} (none found)")
        splits = {"train": SplitIndex(), "test": SplitIndex()}
        kept: dict[tuple, str] = {}
        for fields, item_id in sorted(parsed, key=lambda f: (f[0], not f[1].endswith(".wav"))):
            kept.setdefault(fields, item_id)  # one recording, two files: the .wav, else the first
        copies = sorted(item_id for fields, item_id in parsed if kept[fields] != item_id)
        for (digit, _, index), item_id in sorted(kept.items()):
            splits["test" if index in FSDD_TEST_INDICES else "train"].add(item_id, digit)
        notes = note(str(folder), ("audio file is not named <digit>_<speaker>_<index>, skipped",
                                    "audio files are not named <digit>_<speaker>_<index>, "
                                    "skipped"), odd)
        notes += note(str(folder), ("file is a second file of one recording (the same digit, "
                                    "speaker and index), skipped", "files are second files of a "
                                    "recording (the same digit, speaker and index), skipped"),
                      copies)
        super().__init__(base, FSDD_CLASSES, splits, notes)


# ---------------------------------------------------------------- class folders


class AudioFolder(AudioFiles):
    """Audio in class folders: `root/<class>/**/<audio>`, or `root/train/...` + `root/test/...`.

    With both `root/train/` and `root/test/`, each holds `<class>/**/<audio>`;
    classes are the sorted class folders of train (a test class that train
    lacks is a layout error). Otherwise classes are the sorted visible
    folders of `root` and the split is fixed by the file, as in the image
    reader: an item is test when int(sha1(NFC id).hexdigest(), 16) % 5 == 0
    (about 20%), train otherwise. Audio suffixes are `AUDIO_SUFFIXES`, any
    case; other files are ignored. Ids are root-relative posix paths
    (`dog/a.wav`, `train/dog/a.wav`), class by class, sorted by path.
    """

    name = "audio-folder"

    def __init__(self, root: str | Path):
        base = require_dir(Path(root), "the audio folder root (<class>/<audio files> or "
                                       "train/<class>/... + test/<class>/...)")
        classes, splits, notes = class_folder_index(base, AUDIO_SUFFIXES, "audio")
        super().__init__(base, classes, splits, notes)


__all__ = ["AudioFolder", "ESC50", "FSDD", "SpeechCommands", "VGGSound", "parse_fsdd_name",
           "read_esc50_csv", "read_list", "read_vggsound_csv", "vggsound_key"]
