"""EPIC-SOUNDS and ADVANCE readers on tiny copies written in their published layouts."""

from __future__ import annotations

import pickle
import re
import shutil

import numpy as np
import pytest

from fssuavl_app.data.advance import (
    AdvanceImages,
    AdvanceSounds,
    advance_pair,
    build_advance_index,
    grouped_split,
)
from fssuavl_app.data.decode import BadItem
from fssuavl_app.data.epic import EpicSounds, segment_wave, timestamp_samples
from fssuavl_app.data.index import VARIABLE_IMAGE_SIDE, DatasetLayoutError

from .layouts_epic_advance import (
    ADVANCE_CLASSES,
    ADVANCE_CORRUPT_IDS,
    ADVANCE_IMAGE_SIZE,
    ADVANCE_UNPAIRED,
    EPIC_CLASSES,
    EPIC_CORRUPT_IDS,
    EPIC_CUT_IDS,
    EPIC_IDS,
    EPIC_SEGMENTS,
    EPIC_SKIPPED,
    class_tone,
    write_advance,
    write_epic_sounds,
)

pytestmark = pytest.mark.integration

SPLITS = ("train", "test")


@pytest.fixture(scope="module")
def epic_root(tmp_path_factory):
    return write_epic_sounds(tmp_path_factory.mktemp("epic"))


@pytest.fixture(scope="module")
def epic(epic_root):
    return EpicSounds(epic_root)


@pytest.fixture(scope="module")
def advance_root(tmp_path_factory):
    return write_advance(tmp_path_factory.mktemp("advance"))


def _dominant_hz(wave: np.ndarray, rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(wave))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


# ---------------------------------------------------------------- EPIC-SOUNDS


def test_epic_classes_ids_and_labels(epic):
    assert epic.name == "epic-sounds" and epic.modality == "audio"
    assert epic.classes == EPIC_CLASSES  # class_id order, placeholder for the unused id 3
    for split in SPLITS:
        assert epic.item_ids(split) == EPIC_IDS[split]
        assert epic.labels(split).tolist() == [EPIC_SEGMENTS[i][3] for i in EPIC_IDS[split]]
        ids = epic.item_ids(split)[::-1]
        assert [epic.item_id(split, int(p)) for p in epic.index_of(split, ids)] == ids
    with pytest.raises(DatasetLayoutError, match="not in this copy"):
        epic.index_of("train", ["P09_01_0"])


def test_epic_segments_match_the_csv(epic):
    for split in SPLITS:
        for n, aid in enumerate(EPIC_IDS[split]):
            video, start, stop, _ = EPIC_SEGMENTS[aid]
            seg = epic.segment(split, n)
            assert (seg.video, seg.start) == (video, round(start * 24_000))
            if aid in EPIC_CUT_IDS:
                assert seg.stop == 6 * 24_000  # cut at the recording's end
            else:
                assert seg.stop == round(stop * 24_000)


def test_epic_load_length_tone_and_channels(epic):
    for split in SPLITS:
        for n, aid in enumerate(EPIC_IDS[split]):
            if aid in EPIC_CORRUPT_IDS[split]:
                continue
            wave = epic.load(split, n)
            _, start, stop, cid = EPIC_SEGMENTS[aid]
            stop = min(stop, 6.0) if aid in EPIC_CUT_IDS else stop
            assert wave.dtype == np.float32 and wave.ndim == 1
            assert abs(len(wave) - round((stop - start) * 16_000)) <= 2
            assert abs(_dominant_hz(wave) - class_tone(cid)) < 5
    first = epic.load("train", 0)  # P01_01_0: 2.0 s at 24 kHz
    assert abs(len(first) - 32_000) <= 2
    assert epic.native_rate("train", 0) == 24_000


def test_epic_old_csv_format_gives_the_same_segments(tmp_path, epic):
    old = EpicSounds(write_epic_sounds(tmp_path, old_format=True))
    for split in SPLITS:
        assert old.item_ids(split) == epic.item_ids(split)
        assert old.labels(split).tolist() == epic.labels(split).tolist()
        assert [old.segment(split, i) for i in range(len(EPIC_IDS[split]))] == \
               [epic.segment(split, i) for i in range(len(EPIC_IDS[split]))]
    assert timestamp_samples("00:00:02.069") == 49_656
    assert timestamp_samples("01:02:03.5") == (3723 * 24_000 + 12_000)


def test_epic_index_notes_count_each_kind(epic):
    notes = "\n".join(epic.index_notes)
    assert len(epic.index_notes) == 6  # one per kind (and csv)
    for split, skipped in EPIC_SKIPPED.items():
        csv_name = "EPIC_Sounds_train.csv" if split == "train" else "EPIC_Sounds_validation.csv"
        for aid, kind in skipped.items():
            line = [n for n in epic.index_notes if n.startswith(f"{csv_name}: skipped, {kind}")]
            assert len(line) == 1 and ": 1 row (first:" in line[0] and aid in line[0], notes
    assert any("cut at the end" in n and EPIC_CUT_IDS[0] in n for n in epic.index_notes)


def test_epic_bad_segments_raise_bad_item(epic):
    for split, ids in EPIC_CORRUPT_IDS.items():
        for pos in epic.index_of(split, ids):
            with pytest.raises(BadItem, match="NaN"):
                epic.load(split, int(pos))
    with pytest.raises(BadItem, match="empty"):
        segment_wave(np.zeros(0, dtype=np.int16), 24_000, "x")
    with pytest.raises(BadItem, match="NaN"):
        segment_wave(np.array([0.0, np.inf], dtype=np.float32), 24_000, "x")


def test_epic_fingerprint_pickle_and_other_rates(tmp_path, epic):
    fp = epic.fingerprint("train", 0)
    assert fp == epic.fingerprint("train", 0) and fp != epic.fingerprint("train", 1)
    assert "P01_01" in fp and str(epic.hdf5_path.resolve()) in fp
    epic.load("train", 0)  # opens the handle
    copy = pickle.loads(pickle.dumps(epic))
    assert copy._h5 is None
    np.testing.assert_array_equal(copy.load("train", 0), epic.load("train", 0))
    copy.close()
    slow = EpicSounds(write_epic_sounds(tmp_path, rate=16_000))
    assert slow.native_rate("train", 0) == 16_000
    assert slow.segment("train", 0).start == 8_000
    assert abs(len(slow.load("train", 0)) - 32_000) <= 2


def test_epic_hdf5_choice_and_missing_files(tmp_path):
    root = write_epic_sounds(tmp_path, hdf5_name="audio.h5")
    assert EpicSounds(root).hdf5_path.name == "audio.h5"
    shutil.copy(root / "audio.h5", root / "other.hdf5")
    with pytest.raises(DatasetLayoutError, match="several HDF5.*audio.h5.*other.hdf5"):
        EpicSounds(root)
    assert EpicSounds(root, hdf5="other.hdf5").hdf5_path == root / "other.hdf5"
    shutil.copy(root / "audio.h5", root / "EPIC_audio.hdf5")
    assert EpicSounds(root).hdf5_path.name == "EPIC_audio.hdf5"
    with pytest.raises(DatasetLayoutError, match="missing.hdf5"):
        EpicSounds(root, hdf5="missing.hdf5")
    for p in root.glob("*h*5"):
        p.unlink()
    with pytest.raises(DatasetLayoutError, match=re.escape(str(root / "EPIC_audio.hdf5"))):
        EpicSounds(root)
    (root / "EPIC_Sounds_validation.csv").unlink()
    expected = re.escape(str(root / "EPIC_Sounds_validation.csv"))
    with pytest.raises(DatasetLayoutError, match=expected):
        EpicSounds(root)


# ---------------------------------------------------------------- ADVANCE


def test_advance_classes_and_pairs_agree(advance_root):
    images, sounds = AdvanceImages(advance_root), AdvanceSounds(advance_root)
    assert (images.name, images.modality) == ("advance-images", "image")
    assert (sounds.name, sounds.modality) == ("advance-sounds", "audio")
    assert images.classes == sounds.classes == ADVANCE_CLASSES
    for split in SPLITS:
        assert images.item_ids(split) == sounds.item_ids(split)
        np.testing.assert_array_equal(images.labels(split), sounds.labels(split))
        for n, key in enumerate(images.item_ids(split)):
            assert images.path(split, n).relative_to(advance_root / "vision").as_posix() \
                == f"{key}.jpg"
            assert sounds.path(split, n).relative_to(advance_root / "sound").as_posix() \
                == f"{key}.wav"
            assert ADVANCE_CLASSES[images.labels(split)[n]] == key.split("/")[0]
        ids = images.item_ids(split)[::-1]
        assert [sounds.item_id(split, int(p)) for p in sounds.index_of(split, ids)] == ids
    pi, ps = advance_pair(advance_root)
    assert pi.item_ids("test") == images.item_ids("test") == ps.item_ids("test")


def test_advance_grouped_split(advance_root):
    images = AdvanceImages(advance_root)
    groups = {s: {k.split("/")[0] + "/" + k.split("/")[1][:5] for k in images.item_ids(s)}
              for s in SPLITS}
    val_groups = {k.split("/")[0] + "/" + k.split("/")[1][:5] for k in images.val_ids}
    assert not groups["train"] & groups["test"]
    assert not val_groups & groups["train"] and val_groups <= groups["test"]  # paper: 70/30
    # every group wholly in one split: all its pairs (paired stems on disk) are there
    index = build_advance_index(advance_root)
    where = {k: s for s in SPLITS for k in images.item_ids(s)}
    assert set(where) == set(index.images)
    by_group: dict[str, set[str]] = {}
    for key, split in where.items():
        by_group.setdefault(key[: key.index("/") + 6], set()).add(split)
    assert all(len(s) == 1 for s in by_group.values())
    # 10 source ids per class: 7 train, 1 val + 2 test groups in the test split
    assert len(groups["train"]) == 21 and len(val_groups) == 3 and len(groups["test"]) == 9
    assert images.val_count == len(images.val_ids) == len(images.val_labels) > 0
    again = AdvanceImages(advance_root)
    for split in SPLITS:
        assert again.item_ids(split) == images.item_ids(split)
    assert again.val_ids == images.val_ids


def test_grouped_split_matches_the_authors_code():
    stems = sorted(f"{g:05d}_{t}" for g in range(40) for t in range(1 + g % 3))
    for seed in (0, 3, 12):
        state = np.random.get_state()
        try:  # the authors' data_splitter_by_id, with the global generator
            ids = list(dict.fromkeys(s[:5] for s in stems))
            np.random.seed(seed)
            np.random.shuffle(ids)
        finally:
            np.random.set_state(state)
        n_train, n_val = int(np.floor(len(ids) * 0.7)), int(np.floor(len(ids) * 0.1))
        want = [[s for g in part for s in stems if s[:5] == g]
                for part in (ids[:n_train], ids[n_train:n_train + n_val], ids[n_train + n_val:])]
        assert [list(p) for p in grouped_split(stems, seed)] == want


def test_advance_load_image_side_and_sound(advance_root):
    w, h = ADVANCE_IMAGE_SIZE
    images = AdvanceImages(advance_root)
    ok = next(n for n, k in enumerate(images.item_ids("train"))
              if k not in ADVANCE_CORRUPT_IDS["image"])
    assert images.load("train", ok).shape == (VARIABLE_IMAGE_SIDE, VARIABLE_IMAGE_SIDE, 3)
    raw = AdvanceImages(advance_root, image_side=None).load("train", ok)
    assert raw.shape == (h, w, 3) and raw.dtype == np.uint8
    assert AdvanceImages(advance_root, image_side=40).load("train", ok).shape == (40, 40, 3)
    sounds = AdvanceSounds(advance_root)
    wave = sounds.load("train", ok)
    assert wave.dtype == np.float32 and abs(len(wave) - 16_000) <= 2
    assert sounds.native_rate("train", ok) == 22_050
    assert images.fingerprint("train", ok) != sounds.fingerprint("train", ok)


def test_advance_corrupt_and_unpaired_files(advance_root):
    images, sounds = advance_pair(advance_root)
    for reader, modality in ((images, "image"), (sounds, "audio")):
        for key in ADVANCE_CORRUPT_IDS[modality]:
            split = next(s for s in SPLITS if key in reader.item_ids(s))
            with pytest.raises(BadItem):
                reader.load(split, int(reader.index_of(split, [key])[0]))
    notes = images.index_notes
    assert notes == sounds.index_notes and len(notes) == 2
    assert f"without a sound (left out): 1 (first: {ADVANCE_UNPAIRED['image']})" in notes[0]
    assert f"without an image (left out): 1 (first: {ADVANCE_UNPAIRED['audio']})" in notes[1]
    unpaired_key = ADVANCE_UNPAIRED["image"].rsplit(".", 1)[0]
    assert all(unpaired_key not in images.item_ids(s) for s in SPLITS)


def test_advance_authors_folder_names_and_missing_folders(tmp_path, advance_root):
    theirs = AdvanceImages(write_advance(tmp_path, authors_names=True))
    ours = AdvanceImages(advance_root)
    for split in SPLITS:
        assert theirs.item_ids(split) == ours.item_ids(split)
    assert theirs.path("train", 0).parent.parent.name == "Dataset_v3_vision"
    root = write_advance(tmp_path, groups=3, name="no-sound")
    shutil.rmtree(root / "sound")
    with pytest.raises(DatasetLayoutError, match=re.escape(str(root / "sound"))):
        AdvanceSounds(root)
    with pytest.raises(DatasetLayoutError, match=re.escape(str(tmp_path / "none" / "vision"))):
        AdvanceImages(tmp_path / "none")


def test_epic_sample_columns_written_as_floats_and_a_bad_rate_attribute(tmp_path):
    """'12000.0' (a csv written by pandas) dropped the row; a sample_rate attribute of
    '24 kHz' raised a ValueError traceback from the HDF5 index."""
    import csv

    import h5py

    root = write_epic_sounds(tmp_path)
    clean = EpicSounds(root)
    for name in ("EPIC_Sounds_train.csv", "EPIC_Sounds_validation.csv"):
        path = root / name
        rows = list(csv.DictReader(path.open(newline="")))
        for row in rows:
            for col in ("start_sample", "stop_sample", "class_id"):
                if row[col].isdigit():
                    row[col] = row[col] + ".0"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    floats = EpicSounds(root)
    for split in ("train", "test"):
        assert floats.item_ids(split) == clean.item_ids(split)
        assert floats.labels(split).tolist() == clean.labels(split).tolist()
    for bad in ("24 kHz", np.inf, True, [24_000, 0], 0, 22_050.5):  # inf: an OverflowError
        with h5py.File(root / "EPIC_audio.hdf5", "a") as f:
            f.attrs["sample_rate"] = bad
        with pytest.raises(DatasetLayoutError, match="is not a sample rate in Hz"):
            EpicSounds(root)


def test_epic_places_are_file_lines_across_blank_lines(tmp_path):
    """Places counted data rows: with a blank line a note pointed at the wrong line."""
    import csv

    root = write_epic_sounds(tmp_path)
    path = root / "EPIC_Sounds_train.csv"
    lines = path.read_text().splitlines()
    header, first, rest = lines[0], lines[1], lines[2:]
    broken = next(csv.reader([first]))
    broken[list(next(csv.reader([header]))).index("video_id")] = "P99_99"
    buf = __import__("io").StringIO()
    csv.writer(buf, lineterminator="\n").writerow(broken)
    path.write_text("\n".join([header, "", rest[0], "", buf.getvalue().strip(), *rest[1:]]) + "\n")
    notes = " | ".join(EpicSounds(root).index_notes)
    assert "line 5, " in notes and "(P99_99)" in notes, notes


def test_advance_classes_on_one_side_case_and_nested_folders_are_named(tmp_path):
    """A class whose folders differ in case was dropped whole, a sound-only class was folded
    into a count, and files in sub-folders vanished: none of them was named."""
    import shutil

    root = write_advance(tmp_path)
    (root / "sound" / "beach").rename(root / "sound" / "Beach")
    shutil.copytree(root / "sound" / "airport", root / "sound" / "forest")
    (root / "vision" / "airport" / "more").mkdir()
    notes = " | ".join(AdvanceImages(root).index_notes)
    assert "classes in vision with no sound folder (their images left out): 1 (first: beach)" \
        in notes
    assert "classes in sound with no vision folder (their sounds left out): 2 (first: Beach)" \
        in notes
    assert "differ only in case (rename one to pair them): 1 (first: vision/beach/ and " \
        "sound/Beach/)" in notes
    assert "folders inside class folders, not read (class folders hold the files): 1 (first: " \
        "vision/airport/more/)" in notes


def test_epic_recordings_that_are_not_audio_skip_their_segments_with_the_reason(tmp_path):
    """A (2, N) recording was 'a 2-sample recording'; bool and complex ones were read as audio."""
    import h5py

    root = write_epic_sounds(tmp_path)
    clean = EpicSounds(root)
    videos = sorted({clean.segment(s, i).video for s in ("train", "test")
                     for i in range(len(clean.labels(s)))})
    with h5py.File(root / "EPIC_audio.hdf5", "a") as f:
        wave = f[videos[0]][()]
        del f[videos[0]]
        f.create_dataset(videos[0], data=np.stack([wave, wave]))  # (2, N)
        del f[videos[1]]
        f.create_dataset(videos[1], data=np.zeros(48_000, bool))
    from fssuavl_app.data.epic import read_recordings

    with h5py.File(root / "EPIC_audio.hdf5", "a") as f:
        f.create_dataset("complex", data=np.zeros(100, np.complex64))
    problems = {k: r.problem for k, r in read_recordings(root / "EPIC_audio.hdf5")[0].items()}
    assert "looks transposed" in problems[videos[0]]
    assert "holds bool values" in problems[videos[1]]
    assert "holds complex64 values" in problems["complex"]
    reader = EpicSounds(root)
    notes = " | ".join(reader.index_notes)
    assert "skipped, recording that is not audio" in notes
    kept = {reader.segment(s, i).video for s in ("train", "test")
            for i in range(len(reader.labels(s)))}
    assert not kept & set(videos[:2])


def test_epic_rows_of_a_recording_kept_in_a_group_say_where_it_is(tmp_path):
    """With other recordings at the top level, one kept under P01/P01_01 was reported as
    "no dataset 'P01_01'", with no hint that it is in the file, in a group."""
    import h5py

    root = write_epic_sounds(tmp_path)
    with h5py.File(root / "EPIC_audio.hdf5", "a") as f:
        video = sorted(f.keys())[0]
        f.move(video, f"{video.split('_')[0]}/{video}")
    notes = " | ".join(EpicSounds(root).index_notes)
    assert "skipped, video_id in a group of the HDF5, not at its top level" in notes
    assert (f"no dataset {video!r} at the top level, but '{video.split('_')[0]}/{video}' in a "
            "group: move it to the top level") in notes


def test_epic_recordings_kept_in_groups_are_a_layout_error_that_says_so(tmp_path):
    """An HDF5 with recordings under P01/P01_01 said only "no dataset 'P01_01'" for every
    row, then that the train split was empty."""
    import h5py

    root = write_epic_sounds(tmp_path)
    with h5py.File(root / "EPIC_audio.hdf5", "a") as f:
        for video in sorted(k for k in f.keys()):
            f.move(video, f"{video.split('_')[0]}/{video}")
        first = sorted(f"{g}/{v}" for g in f for v in f[g])[0]
    with pytest.raises(DatasetLayoutError, match=rf"datasets sit in groups \(first: "
                       rf"'{first}'\); move them to the top level"):
        EpicSounds(root)
    with h5py.File(root / "EPIC_audio.hdf5", "w"):
        pass
    with pytest.raises(DatasetLayoutError, match="one top-level dataset per recording.*it "
                       "holds no dataset"):
        EpicSounds(root)


def test_epic_a_class_id_with_two_names_is_noted(tmp_path):
    """One class_id named 'click' and later 'tap' kept the first name without a word."""
    import csv

    root = write_epic_sounds(tmp_path)
    path = root / "EPIC_Sounds_train.csv"
    rows = list(csv.DictReader(path.open(newline="")))
    same = [r for r in rows if r["class_id"] == rows[0]["class_id"]]
    assert len(same) >= 2, "the fixture needs two rows of one class"
    same[1]["class"] = "another name"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    reader = EpicSounds(root)
    assert reader.classes[int(rows[0]["class_id"])] == rows[0]["class"]
    line = rows.index(same[1]) + 2
    assert any("class_id named otherwise before" in n and f"line {line}," in n and
               "'another name' here" in n for n in reader.index_notes), reader.index_notes


def test_a_paired_sets_shared_notes_are_one_line_naming_both_readers(tmp_path):
    """The image and sound readers of one ADVANCE copy carry the pair index's notes, so
    fssuavl-evaluate and the ServerApp logged each of them twice."""
    from fssuavl_app.runs.sources import index_note_lines

    root = write_advance(tmp_path)
    sources = {"image": AdvanceImages(root), "audio": AdvanceSounds(root)}
    lines = list(index_note_lines(sources))
    notes = len(sources["image"].index_notes) + 1  # and: a fixture is not the 5,075 pairs
    assert lines and len(lines) == len(set(lines)) == notes
    assert all(line.startswith("advance-images, advance-sounds: ") for line in lines), lines
    assert "not the official release's (ADVANCE, 5,075 pairs" in lines[-1]
    other = write_advance(tmp_path, name="copy2")
    lines = list(index_note_lines({"image": AdvanceImages(root), "audio": AdvanceSounds(other)}))
    assert len(lines) == 2 * notes
