"""EPIC-SOUNDS: labelled segments of the untrimmed EPIC-KITCHENS-100 audio, kept in one HDF5 file.

Layout of `root` (annotations from epic-kitchens/epic-sounds-annotations):

- `EPIC_Sounds_train.csv`: the train split.
- `EPIC_Sounds_validation.csv`: the test split. The recognition test csv
  (`EPIC_Sounds_recognition_test_timestamps.csv`) has no labels and is not used.
- One HDF5 file (default: the only `*.hdf5` / `*.h5` in root, `EPIC_audio.hdf5`
  when there are several): one dataset per `video_id` holding the whole
  recording, mono (a 2-D (samples, channels) dataset is averaged), 24 kHz.

Item ids are the csv's `annotation_id`. Labels are `class_id`; `classes` lists
the names in class_id order (0 .. the largest id in either csv, 43 for the full
set); an id no row names gets the placeholder "class-<id>". Segment bounds are
the csv's `start_sample` / `stop_sample` (24 kHz); csvs without those columns
(older releases) get them from `HH:MM:SS.mmm` timestamps times 24000. A
recording whose HDF5 dataset has a `sample_rate` or `sr` attribute other than
24000 gets the bounds scaled to its rate. Rows naming a video absent from the
HDF5, with empty or out-of-range segments, duplicated ids or unparsable fields
are skipped and counted in `index_notes`. Segments that end at most
`END_SLACK_S` past their recording's end are cut at the end (counted too).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from .base import SAMPLE_RATE
from .decode import BadItem
from .index import (
    DatasetLayoutError,
    IndexedSource,
    SplitIndex,
    file_fingerprint,
    read_text,
    require_file,
)

CSV_RATE = 24_000  # the rate of the csv sample columns and of the reference HDF5
TRAIN_CSV = "EPIC_Sounds_train.csv"
TEST_CSV = "EPIC_Sounds_validation.csv"
DEFAULT_HDF5 = "EPIC_audio.hdf5"
END_SLACK_S = 0.1  # segments ending this little past the recording are cut, not dropped
_REQUIRED = ("annotation_id", "video_id", "class_id")


@dataclass(frozen=True)
class Segment:
    """One annotated segment: samples [start, stop) of the recording `video` (native rate)."""

    video: str
    start: int
    stop: int


@dataclass(frozen=True)
class _Recording:
    length: int
    rate: int
    problem: str = ""  # why its samples cannot be audio (its segments are skipped); "" = fine


class _Tally:
    """Counts problems by kind, remembering the first example of each."""

    def __init__(self) -> None:
        self._kinds: dict[str, list] = {}

    def add(self, kind: str, example: str) -> None:
        entry = self._kinds.setdefault(kind, [0, example])
        entry[0] += 1

    def notes(self) -> list[str]:
        return [f"{kind}: {n} row{'s' if n != 1 else ''} (first: {example})"
                for kind, (n, example) in self._kinds.items()]


class _BadRow(ValueError):
    """A csv row that cannot be used: `kind` groups it in the notes, the message says why."""

    def __init__(self, message: str, kind: str = "malformed row"):
        super().__init__(message)
        self.kind = kind


def find_hdf5(root: Path, hdf5: str | Path | None = None) -> Path:
    """The HDF5 of recordings: `hdf5` (as given, else relative to root) or the one in root."""
    if hdf5 is not None:
        path = Path(hdf5)
        if not path.is_absolute() and not path.exists():
            path = root / path
        return require_file(path, "the EPIC-SOUNDS audio HDF5")
    found = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in (".hdf5", ".h5"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise DatasetLayoutError(f"expected the EPIC-SOUNDS audio HDF5 at {root / DEFAULT_HDF5} "
                                 "(no *.hdf5 or *.h5 file in the root)")
    preferred = [p for p in found if p.name == DEFAULT_HDF5]
    if preferred:
        return preferred[0]
    raise DatasetLayoutError(f"{root}: several HDF5 files and none is {DEFAULT_HDF5}: "
                             f"{[p.name for p in found]}; pass the one to use as hdf5=")


def _rate_of(attrs, default: int, where: str) -> int:
    """The `sample_rate` (or `sr`) attribute in Hz: a positive whole number, else a layout
    error naming it (a rate of '24 kHz' or 0 would misplace every segment)."""
    for key in ("sample_rate", "sr"):
        if key in attrs:
            value = np.asarray(attrs[key]).reshape(-1)
            try:
                rate = float(value[0]) if value.size == 1 and value.dtype.kind != "b" \
                    else float("nan")
            except (TypeError, ValueError):
                rate = float("nan")
            if not (math.isfinite(rate) and rate > 0 and rate == int(rate)):
                raise DatasetLayoutError(f"{where}: attribute {key}={value.tolist()!r} is not a "
                                         "sample rate in Hz (a positive whole number)")
            return int(rate)
    return default


def _not_audio(dtype: np.dtype, shape: tuple[int, ...]) -> str:
    """Why a dataset of this dtype and shape cannot be a recording; "" when it can."""
    if dtype.kind not in "iuf":
        return f"holds {dtype} values, not integer or float samples"
    if len(shape) == 2 and shape[1] == 0:
        return f"has shape {shape}: no channels"
    if len(shape) == 2 and shape[0] <= 8 < shape[1]:
        return (f"has shape {shape}: samples must run along the first axis, (samples,) or "
                "(samples, channels); this looks transposed")
    if len(shape) not in (1, 2):
        return f"has shape {shape}, not (samples,) or (samples, channels)"
    return ""


def read_recordings(path: Path) -> tuple[dict[str, _Recording], dict[str, str]]:
    """Length and rate of every top-level dataset of the HDF5, without reading samples, and
    {basename: "group/basename"} of the datasets kept inside groups (EPIC-SOUNDS keeps every
    recording at the top level: rows naming a grouped one get a hint), in one pass."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            file_rate = _rate_of(f.attrs, CSV_RATE, str(path))
            out, grouped = {}, {}
            for key, obj in f.items():
                if isinstance(obj, h5py.Dataset):
                    length = int(obj.shape[0]) if obj.ndim >= 1 else 0
                    out[key] = _Recording(length, _rate_of(obj.attrs, file_rate,
                                                           f"{path}, dataset {key!r}"),
                                          _not_audio(obj.dtype, obj.shape))
            f.visititems(lambda name, obj: grouped.setdefault(name.rsplit("/", 1)[-1], name)
                         if isinstance(obj, h5py.Dataset) and "/" in name else None)
    except OSError as exc:
        raise DatasetLayoutError(f"{path}: not a readable HDF5 file ({exc})") from exc
    if not out:
        _no_top_level_recordings(path, grouped)
    return out, grouped


def _no_top_level_recordings(path: Path, grouped: dict[str, str]) -> None:
    """Raise the layout error for an HDF5 without top-level datasets, naming a nested one."""
    where = (f"its datasets sit in groups (first: {next(iter(grouped.values()))!r}); move "
             "them to the top level, named by video_id") if grouped else "it holds no dataset"
    raise DatasetLayoutError(f"{path}: expected one top-level dataset per recording, named by "
                             f"its video_id (e.g. 'P01_01'), as EPIC-SOUNDS ships it; {where}")


def timestamp_samples(stamp: str, rate: int = CSV_RATE) -> int:
    """`HH:MM:SS.mmm` (or fewer fields) -> sample index at `rate`, rounded."""
    try:
        seconds = Decimal(0)
        for part in stamp.strip().split(":"):
            seconds = seconds * 60 + Decimal(part)
    except InvalidOperation as exc:
        raise _BadRow(f"unparsable timestamp {stamp!r}") from exc
    if not seconds.is_finite():
        raise _BadRow(f"unparsable timestamp {stamp!r}")
    return int((seconds * rate).to_integral_value())


def _bounds(row: dict[str, str]) -> tuple[int, int]:
    """Start and stop (24 kHz samples) from the sample columns, else the timestamps."""
    start, stop = (row.get("start_sample") or "").strip(), (row.get("stop_sample") or "").strip()
    if start and stop:
        try:
            return _whole(start), _whole(stop)
        except ValueError:
            raise _BadRow(f"non-integer samples {start!r}, {stop!r}") from None
    if not (row.get("start_timestamp") and row.get("stop_timestamp")):
        raise _BadRow("neither samples nor timestamps")
    return timestamp_samples(row["start_timestamp"]), timestamp_samples(row["stop_timestamp"])


def _whole(text: str) -> int:
    """'12000' or '12000.0' (a csv written by pandas) -> 12000; '12000.5' or 'x' raises
    ValueError."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or abs(value) > 2 ** 63 or value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def _class_id(row: dict[str, str]) -> int:
    try:
        cid = _whole(row.get("class_id") or "")
    except ValueError:
        raise _BadRow(f"class_id {row.get('class_id')!r} is not an integer") from None
    if cid < 0:
        raise _BadRow(f"negative class_id {cid}")
    return cid


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(file line the row starts on, the row as a dict) of each non-blank csv row; a header
    lacking the needed columns is a layout error."""
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        rows, start = [], reader.line_num + 1
        for fields in reader:
            if any(f.strip() for f in fields):
                rows.append((start, dict(zip(header, fields))))
            start = reader.line_num + 1
    missing = [c for c in _REQUIRED if c not in header]
    if not ({"start_sample", "stop_sample"} <= set(header)
            or {"start_timestamp", "stop_timestamp"} <= set(header)):
        missing.append("start_sample/stop_sample or start_timestamp/stop_timestamp")
    if missing:
        raise DatasetLayoutError(f"{path}: not an EPIC-SOUNDS annotation csv (no columns {missing})")
    return rows


def _place(start: int, stop: int, rec: _Recording) -> tuple[int, int, bool]:
    """Bounds at the recording's rate, checked against its length; True when cut at the end."""
    if rec.rate != CSV_RATE:
        start, stop = round(start * rec.rate / CSV_RATE), round(stop * rec.rate / CSV_RATE)
    if stop <= start:
        raise _BadRow(f"samples {start}:{stop}", "empty segment (stop <= start)")
    if start < 0 or start >= rec.length or stop > rec.length + END_SLACK_S * rec.rate:
        raise _BadRow(f"samples {start}:{stop} of a {rec.length}-sample recording",
                      "segment outside its recording")
    return start, min(stop, rec.length), stop > rec.length


def index_csv(path: Path, recordings: dict[str, _Recording], names: dict[int, str],
              tally: _Tally, seen: set[str], grouped: Mapping[str, str]
              ) -> tuple[SplitIndex, list[Segment]]:
    """One split from one csv; fills `names` (class_id -> first name) from every parsable row.
    `grouped` (see `read_recordings`) names where a video_id missing at the top level is."""
    split, segments = SplitIndex(), []
    for line, row in read_rows(path):
        aid, video = (row.get("annotation_id") or "").strip(), (row.get("video_id") or "").strip()
        where = f"{path.name} line {line}, {aid or '?'} ({video or '?'})"
        try:
            if not aid or not video:
                raise _BadRow("no annotation_id or video_id")
            cid = _class_id(row)
            name = (row.get("class") or "").strip()
            if name:  # the first name given wins; a blank one gives way to a later name
                names.setdefault(cid, name)
            start, stop = _bounds(row)
            if aid in seen:
                raise _BadRow("seen earlier", "duplicate annotation_id")
            if video not in recordings and video in grouped:
                raise _BadRow(f"no dataset {video!r} at the top level, but {grouped[video]!r} "
                              "in a group: move it to the top level",
                              "video_id in a group of the HDF5, not at its top level")
            if video not in recordings:
                raise _BadRow(f"no dataset {video!r}", "video_id not in the HDF5")
            if recordings[video].problem:
                raise _BadRow(f"dataset {video!r} {recordings[video].problem}",
                              "recording that is not audio")
            start, stop, cut = _place(start, stop, recordings[video])
        except _BadRow as exc:
            tally.add(f"{path.name}: skipped, {exc.kind}", f"{where}: {exc}")
            continue
        if cut:
            tally.add(f"{path.name}: kept, segment ends up to {END_SLACK_S} s past its "
                      "recording, cut at the end", where)
        if name and names[cid] != name:
            tally.add(f"{path.name}: kept, class_id named otherwise before (the first name is "
                      "the class's)", f"{where}: class_id {cid} is {name!r} here, "
                      f"{names[cid]!r} first")
        seen.add(aid)
        split.add(aid, cid)
        segments.append(Segment(video, start, stop))
    return split, segments


def class_names(names: dict[int, str]) -> list[str]:
    """Names in class_id order, 0 .. max id; ids no row names get "class-<id>"."""
    top = max(names) if names else -1
    return [names.get(i, f"class-{i}") for i in range(top + 1)]


def to_mono_float(data: np.ndarray) -> np.ndarray:
    """Samples (n,) or (n, channels) -> float32 (n,): int scaled to [-1, 1), float as is."""
    data = np.asarray(data)
    if np.issubdtype(data.dtype, np.signedinteger):
        data = data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))
    elif np.issubdtype(data.dtype, np.unsignedinteger):
        half = float(2 ** (8 * data.dtype.itemsize - 1))
        data = (data.astype(np.float32) - half) / half
    else:
        data = data.astype(np.float32, copy=False)
    if data.ndim == 2:
        data = data.mean(axis=1)
    return data.reshape(-1)


def segment_wave(data: np.ndarray, rate: int, where: str) -> np.ndarray:
    """Checked mono float32 waveform at 16 kHz from a segment's raw samples."""
    wave = to_mono_float(data)
    if wave.size == 0:
        raise BadItem(f"{where}: empty segment (0 samples)")
    if not np.isfinite(wave).all():
        raise BadItem(f"{where}: segment contains NaN or infinite samples")
    if rate != SAMPLE_RATE:
        import soxr  # imported here to keep start-up light

        wave = soxr.resample(wave, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(wave, dtype=np.float32)


class EpicSounds(IndexedSource):
    """EPIC-SOUNDS segments as 16 kHz mono waveforms; ids are annotation_ids.

    The HDF5 is opened on the first `load` and kept open (reopened in a forked
    child; dropped when pickled).
    """

    name = "epic-sounds"
    modality = "audio"

    def __init__(self, root: str | Path, hdf5: str | Path | None = None):
        root = Path(root)
        csvs = {"train": require_file(root / TRAIN_CSV, "the EPIC-SOUNDS train annotations"),
                "test": require_file(root / TEST_CSV, "the EPIC-SOUNDS validation annotations")}
        self.hdf5_path = find_hdf5(root, hdf5)
        self._recordings, grouped = read_recordings(self.hdf5_path)
        names: dict[int, str] = {}
        tally, seen = _Tally(), set()
        splits, self._segments = {}, {}
        for split, path in csvs.items():
            splits[split], self._segments[split] = index_csv(path, self._recordings, names,
                                                             tally, seen, grouped)
        self._h5 = None
        self._h5_pid: int | None = None
        super().__init__(root, class_names(names), splits, tally.notes())

    def segment(self, split: str, index: int) -> Segment:
        """The item's recording and sample bounds (at the recording's native rate)."""
        self.item_id(split, index)  # checks the split
        return self._segments[split][index]

    def _file(self):
        if self._h5 is None or self._h5_pid != os.getpid():
            import h5py

            self._h5 = h5py.File(self.hdf5_path, "r")
            self._h5_pid = os.getpid()
        return self._h5

    def close(self) -> None:
        """Close the HDF5 handle (a later `load` opens it again)."""
        if self._h5 is not None and self._h5_pid == os.getpid():
            self._h5.close()
        self._h5, self._h5_pid = None, None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_h5"], state["_h5_pid"] = None, None
        return state

    def native_rate(self, split: str, index: int) -> int:
        return self._recordings[self.segment(split, index).video].rate

    def fingerprint(self, split: str, index: int) -> str | None:
        seg = self.segment(split, index)
        try:
            return file_fingerprint(self.hdf5_path, seg.video, seg.start, seg.stop)
        except OSError:
            return None

    def load(self, split: str, index: int) -> np.ndarray:
        seg = self.segment(split, index)
        where = f"{self.hdf5_path.name}[{seg.video}][{seg.start}:{seg.stop}] " \
                f"({self.item_id(split, index)})"
        try:
            data = self._file()[seg.video][seg.start:seg.stop]
        except (OSError, KeyError) as exc:
            raise BadItem(f"{where}: not readable ({exc})") from exc
        return segment_wave(data, self.native_rate(split, index), where)


__all__ = ["CSV_RATE", "DEFAULT_HDF5", "EpicSounds", "Segment", "TEST_CSV", "TRAIN_CSV",
           "find_hdf5", "timestamp_samples"]
