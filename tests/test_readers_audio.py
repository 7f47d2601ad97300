"""Audio readers (VGGSound, Speech Commands, ESC-50, FSDD, class folders) on tiny layouts."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fssuavl_app.data import index as index_module
from fssuavl_app.data.audio_sets import (
    ESC50,
    FSDD,
    AudioFolder,
    SpeechCommands,
    VGGSound,
    parse_fsdd_name,
    vggsound_key,
)
from fssuavl_app.data.decode import BadItem
from fssuavl_app.data.index import DatasetLayoutError
from fssuavl_app.data.registry import open_dataset

from . import layouts_audio as L

pytestmark = pytest.mark.integration

SPLITS = ("train", "test")
# case -> (writer, writer kwargs, reader class)
CASES = {
    "vggsound": (L.write_vggsound, {}, VGGSound),
    "speech-commands": (L.write_speech_commands, {}, SpeechCommands),
    "speech-commands-torchaudio": (L.write_speech_commands, {"torchaudio_layout": True},
                                   SpeechCommands),
    "esc50": (L.write_esc50, {}, ESC50),
    "fsdd": (L.write_fsdd, {}, FSDD),
    "fsdd-recordings": (L.write_fsdd, {"recordings_root": True}, FSDD),
    "audio-folder": (L.write_audio_folder, {}, AudioFolder),
    "audio-folder-split": (L.write_audio_folder, {"split_folders": True}, AudioFolder),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    """(fixture, reader class) of one written layout, shared by the generic tests."""
    writer, kwargs, reader_cls = CASES[request.param]
    return writer(tmp_path_factory.mktemp(request.param), **kwargs), reader_cls


@pytest.fixture
def no_decoding(monkeypatch):
    """Any audio decode or header read fails the test: the index must come from names alone."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"opened audio {args[:1]} while indexing")
    for name in ("read", "info", "SoundFile", "blocks"):
        monkeypatch.setattr(sf, name, forbidden)
    monkeypatch.setattr(index_module, "decode_audio", forbidden)
    monkeypatch.setattr(index_module, "audio_rate", forbidden)


def _copy(fx: L.Fixture, tmp_path: Path) -> Path:
    """A private copy of a written dataset (to break it); returns the copied root."""
    dest = tmp_path / fx.root.name
    shutil.copytree(fx.root, dest)
    return dest


# ---------------------------------------------------------------- every reader


def test_classes_ids_and_labels_follow_the_layout(case):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    assert reader.modality == "audio"
    assert reader.classes == fx.classes
    for split in SPLITS:
        assert reader.item_ids(split) == fx.ids(split)
        labels = reader.labels(split)
        assert labels.dtype == np.int64 and labels.tolist() == list(fx.items[split].values())
        assert 0 <= labels.min() and labels.max() < len(reader.classes)


def test_ids_round_trip_through_index_of(case):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    for split in SPLITS:
        ids = reader.item_ids(split)
        assert len(ids) == len(set(ids))
        np.testing.assert_array_equal(reader.index_of(split, ids[::-1]),
                                      np.arange(len(ids))[::-1])
        assert [reader.item_id(split, i) for i in range(len(ids))] == ids
    with pytest.raises(DatasetLayoutError, match="not in this copy"):
        reader.index_of("test", ["no/such/clip.wav"])


def test_load_gives_mono_float32_at_16k_and_native_rate_is_the_files(case):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    checked = 0
    for split in SPLITS:
        for i, item_id in enumerate(reader.item_ids(split)):
            if item_id in fx.bad_ids[split]:
                continue
            wave = reader.load(split, i)
            assert wave.dtype == np.float32 and wave.ndim == 1
            assert abs(len(wave) - fx.samples_16k(item_id)) <= 1, item_id
            assert np.isfinite(wave).all() and 0.02 < np.abs(wave).max() <= 1.01
            assert reader.native_rate(split, i) == fx.audio[item_id][0]
            assert reader.path(split, i).is_file() and reader.fingerprint(split, i)
            checked += 1
    assert checked == sum(len(fx.good_ids(s)) for s in SPLITS) > 0


def test_corrupt_items_raise_bad_item_naming_the_file(case):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    assert any(fx.bad_ids.values())
    for split in SPLITS:
        positions = reader.index_of(split, fx.bad_ids[split])
        for i, item_id in zip(positions, fx.bad_ids[split]):
            with pytest.raises(BadItem) as info:
                reader.load(split, int(i))
            assert str(reader.path(split, int(i))) in str(info.value), item_id


def test_labels_and_ids_need_no_decoding(case, no_decoding):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    for split in SPLITS:
        assert reader.labels(split).tolist() == list(fx.items[split].values())
        reader.index_of(split, fx.ids(split))
        assert reader.fingerprint(split, 0)  # size and mtime only


def test_skipped_entries_are_counted_in_index_notes(case):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    assert len(reader.index_notes) == len(fx.notes), reader.index_notes
    for expected in fx.notes:
        assert any(expected in note for note in reader.index_notes), (expected,
                                                                       reader.index_notes)
    kept = {i for split in SPLITS for i in reader.item_ids(split)}
    for entries in fx.skipped.values():
        assert not kept & set(entries)


def test_reader_pickles_with_its_index(case):
    fx, reader_cls = case
    reader = reader_cls(fx.root)
    copy = pickle.loads(pickle.dumps(reader))
    assert copy.item_ids("train") == reader.item_ids("train")
    assert copy.path("test", 0) == reader.path("test", 0)


@pytest.mark.parametrize("reader_cls,expected", [
    (VGGSound, "vggsound.csv"), (SpeechCommands, "testing_list.txt"),
    (ESC50, "meta/esc50.csv"), (FSDD, "recordings/"), (AudioFolder, "<class>")])
def test_missing_root_names_it_and_the_layout(tmp_path, reader_cls, expected):
    missing = tmp_path / "not-here"
    with pytest.raises(DatasetLayoutError) as info:
        reader_cls(missing)
    assert str(missing) in str(info.value) and expected in str(info.value)
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x")
    with pytest.raises(DatasetLayoutError, match="folder not found"):
        reader_cls(a_file)


@pytest.mark.parametrize("name,writer,kwargs,reader_cls", [
    ("vggsound", L.write_vggsound, {}, VGGSound),
    ("speech-commands", L.write_speech_commands, {}, SpeechCommands),
    ("esc50", L.write_esc50, {}, ESC50), ("fsdd", L.write_fsdd, {}, FSDD),
    ("audio-folder", L.write_audio_folder, {}, AudioFolder)])
def test_registry_opens_each_reader(tmp_path, name, writer, kwargs, reader_cls):
    fx = writer(tmp_path, **kwargs)
    source = open_dataset(name, fx.root)
    assert isinstance(source, reader_cls) and source.name == name
    assert source.item_ids("test") == fx.ids("test")


# ---------------------------------------------------------------- VGGSound


@pytest.fixture(scope="module")
def vgg(tmp_path_factory) -> L.Fixture:
    return L.write_vggsound(tmp_path_factory.mktemp("vgg"))


def test_vggsound_ids_are_csv_keys_wherever_and_however_the_clip_is_stored(vgg):
    reader = VGGSound(vgg.root)
    assert reader.classes == ("cattle, bovinae cowbell", "dog barking", "playing ukulele")
    paths = {reader.item_id(s, i): reader.path(s, i).relative_to(vgg.root).as_posix()
             for s in SPLITS for i in range(len(reader.labels(s)))}
    assert paths["---g-f_I2yQ_000000"] == "audio/---g-f_I2yQ_000000.flac"
    assert paths["Yt_1-01_a-Z_000011"] == "video/Yt_1-01_a-Z_11.wav"  # unpadded stem
    assert paths["Yt_2-02_a-Z_000022"] == "train/a/Yt_2-02_a-Z_000022.wav"
    assert vggsound_key("Yt_1-01_a-Z", 11) == "Yt_1-01_a-Z_000011"
    comma = reader.index_of("train", ["Yt_1-01_a-Z_000011"])[0]
    assert reader.classes[reader.labels("train")[comma]] == "cattle, bovinae cowbell"


def test_vggsound_counts_missing_clips_per_split(vgg):
    notes = VGGSound(vgg.root).index_notes
    train = [n for n in notes if "train clips are not on disk" in n]
    assert train == [f"vggsound.csv: 2 of 9 train clips are not on disk "
                     f"(first: {vgg.skipped['train'][0]})"]
    assert any("1 of 6 test clips are not on disk" in n for n in notes)


def test_vggsound_classes_do_not_depend_on_which_clips_exist(vgg, tmp_path):
    root = _copy(vgg, tmp_path)
    for item_id, label in vgg.items["train"].items():
        if vgg.classes[label] == "playing ukulele":
            for p in root.rglob(f"{item_id[:11]}*"):
                p.unlink()
    reader = VGGSound(root)
    assert reader.classes == vgg.classes
    assert vgg.classes.index("playing ukulele") not in reader.labels("train")


def test_vggsound_two_files_with_one_stem_use_the_first_and_note_it(vgg, tmp_path):
    root = _copy(vgg, tmp_path)
    shutil.copy(root / "audio" / "---g-f_I2yQ_000000.flac", root / "---g-f_I2yQ_000000.flac")
    reader = VGGSound(root)
    i = reader.index_of("train", ["---g-f_I2yQ_000000"])[0]
    assert reader.path("train", i) == root / "---g-f_I2yQ_000000.flac"  # sorted first
    assert any("repeats the stem" in n for n in reader.index_notes)


def test_vggsound_missing_csv_names_the_expected_path(vgg, tmp_path):
    root = _copy(vgg, tmp_path)
    (root / "vggsound.csv").unlink()
    with pytest.raises(DatasetLayoutError, match="vggsound.csv") as info:
        VGGSound(root)
    assert str(root / "vggsound.csv") in str(info.value)
    (root / "vggsound.csv").write_text("just,a,header,row\n")
    with pytest.raises(DatasetLayoutError, match="no well-formed rows"):
        VGGSound(root)


# ---------------------------------------------------------------- Speech Commands


@pytest.fixture(scope="module")
def sc(tmp_path_factory) -> L.Fixture:
    return L.write_speech_commands(tmp_path_factory.mktemp("sc"))


def test_speech_commands_background_noise_and_hidden_folders_are_not_classes(sc):
    reader = SpeechCommands(sc.root)
    assert reader.classes == ("no", "up", "yes")
    assert (sc.root / "_background_noise_" / "white_noise.wav").is_file()
    ids = reader.item_ids("train") + reader.item_ids("test")
    assert not any(i.startswith(("_background_noise_", ".")) for i in ids)


def test_speech_commands_validation_list_is_in_neither_split(sc):
    reader = SpeechCommands(sc.root)
    assert reader.validation_count == 3 == len(sc.validation)
    assert set(reader.validation_ids) == set(sc.validation)
    used = set(reader.item_ids("train")) | set(reader.item_ids("test"))
    assert not used & set(sc.validation)
    testing = (sc.root / "testing_list.txt").read_text().split()
    assert set(reader.item_ids("test")) == set(testing) - set(sc.skipped["test"])


def test_speech_commands_clips_are_one_second_at_16k(sc):
    reader = SpeechCommands(sc.root)
    lengths = {len(reader.load("train", i)) for i in range(len(reader.labels("train")))
               if reader.item_id("train", i) not in sc.bad_ids["train"]}
    assert lengths == {16_000, 12_000}  # one clip is 0.75 s, like the real set's short ones
    assert all(reader.native_rate("train", i) == 16_000 for i in range(3))


def test_speech_commands_torchaudio_layout_gives_the_same_ids(sc, tmp_path):
    fx = L.write_speech_commands(tmp_path, torchaudio_layout=True)
    reader = SpeechCommands(fx.root)
    assert reader.root == fx.root / "SpeechCommands" / "speech_commands_v0.02"
    assert reader.item_ids("train") == SpeechCommands(sc.root).item_ids("train")


@pytest.mark.parametrize("missing", ["testing_list.txt", "validation_list.txt"])
def test_speech_commands_missing_list_is_a_layout_error(sc, tmp_path, missing):
    root = _copy(sc, tmp_path)
    (root / missing).unlink()
    with pytest.raises(DatasetLayoutError) as info:
        SpeechCommands(root)
    assert str(root / missing) in str(info.value)


# ---------------------------------------------------------------- ESC-50


@pytest.fixture(scope="module")
def esc(tmp_path_factory) -> L.Fixture:
    return L.write_esc50(tmp_path_factory.mktemp("esc"))


def test_esc50_classes_are_in_target_order(esc):
    reader = ESC50(esc.root)
    assert reader.classes == ("dog", "rooster", "pig") != tuple(sorted(reader.classes))
    i = reader.index_of("train", ["audio/1-101010-A-1.wav"])[0]
    assert reader.labels("train")[i] == 1


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_esc50_leaves_one_fold_out(esc, fold):
    reader = ESC50(esc.root, test_fold=fold)
    assert reader.test_fold == fold
    assert {L.esc50_fold(i) for i in reader.item_ids("test")} == {fold}
    assert fold not in {L.esc50_fold(i) for i in reader.item_ids("train")}
    all_ids = {i for s in SPLITS for i in esc.items[s]}
    assert set(reader.item_ids("train")) | set(reader.item_ids("test")) == all_ids
    assert len(reader.item_ids("test")) == 3  # one clip per class per fold


def test_esc50_fixture_split_follows_its_test_fold(tmp_path):
    fx = L.write_esc50(tmp_path, test_fold=1)
    reader = ESC50(fx.root, test_fold=1)
    assert reader.item_ids("test") == fx.ids("test")
    with pytest.raises(BadItem):
        reader.load("test", int(reader.index_of("test", fx.bad_ids["test"])[0]))


def test_esc50_clips_are_44k_and_decode_to_16k(esc):
    reader = ESC50(esc.root)
    assert reader.native_rate("test", 0) == 44_100
    assert len(reader.load("test", 0)) == 16_000  # 1 s


@pytest.mark.parametrize("fold", [0, 6, -1, True, 2.5, "5"])
def test_esc50_test_fold_outside_1_to_5_is_a_value_error(esc, fold):
    with pytest.raises(ValueError, match="test_fold"):
        ESC50(esc.root, test_fold=fold)


def test_esc50_missing_csv_or_columns_is_a_layout_error(esc, tmp_path):
    root = _copy(esc, tmp_path)
    table = root / "meta" / "esc50.csv"
    text = table.read_text()
    table.unlink()
    with pytest.raises(DatasetLayoutError) as info:
        ESC50(root)
    assert str(table) in str(info.value)
    table.write_text(text.replace("target", "tgt", 1))
    with pytest.raises(DatasetLayoutError, match="target"):
        ESC50(root)


def test_esc50_accepts_the_parent_of_the_unzipped_folder(esc, tmp_path):
    shutil.copytree(esc.root, tmp_path / "ESC-50-master")
    reader = ESC50(tmp_path)
    assert reader.root == tmp_path / "ESC-50-master"
    assert reader.item_ids("test") == esc.ids("test")


# ---------------------------------------------------------------- FSDD


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory) -> L.Fixture:
    return L.write_fsdd(tmp_path_factory.mktemp("fsdd"))


def test_fsdd_split_by_index_and_8k_clips(fsdd):
    reader = FSDD(fsdd.root)
    assert reader.classes == tuple("0123456789")
    for split in SPLITS:
        for item_id in reader.item_ids(split):
            _, _, index = parse_fsdd_name(Path(item_id).stem)
            assert (index < 5) == (split == "test")
    i = reader.index_of("train", ["recordings/1_theo_9.wav"])[0]
    assert reader.labels("train")[i] == 1
    assert reader.native_rate("train", i) == 8_000
    assert len(reader.load("train", i)) == 8_000  # 0.5 s at 8 kHz -> 16 kHz


def test_fsdd_recordings_folder_as_root_uses_bare_file_names(tmp_path):
    fx = L.write_fsdd(tmp_path, recordings_root=True)
    reader = FSDD(fx.root)
    assert reader.item_ids("test")[0] == "0_jackson_0.wav"
    assert reader.path("test", 0) == fx.root / "0_jackson_0.wav"


def test_fsdd_names_that_do_not_parse(tmp_path):
    assert parse_fsdd_name("7_jackson_32") == (7, "jackson", 32)
    assert parse_fsdd_name("10_theo_1") is None and parse_fsdd_name("jackson_0") is None
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "README.md").write_text("no recordings")
    with pytest.raises(DatasetLayoutError, match="recordings"):
        FSDD(tmp_path)


# ---------------------------------------------------------------- class folders


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> L.Fixture:
    return L.write_audio_folder(tmp_path_factory.mktemp("folder"))


def test_audio_folder_split_is_sha1_of_the_path(folder):
    reader = AudioFolder(folder.root)
    assert reader.classes == ("chirp", "hello", "hum")
    for split in SPLITS:
        assert all(L.audio_folder_split(i) == split for i in reader.item_ids(split))
    assert not any(i.endswith("notes.txt") or i == "loose.wav"
                   for s in SPLITS for i in reader.item_ids(s))


def test_audio_folder_reads_mixed_formats_and_rates(folder):
    reader = AudioFolder(folder.root)
    rates = {reader.native_rate(s, i) for s in SPLITS for i in range(len(reader.labels(s)))
             if reader.item_id(s, i) not in folder.bad_ids[s]}
    assert rates == {8_000, 16_000, 22_050, 44_100}
    suffixes = {Path(i).suffix for s in SPLITS for i in reader.item_ids(s)}
    assert suffixes == {".wav", ".flac", ".WAV"}


def test_audio_folder_test_class_missing_from_train_is_a_layout_error(tmp_path):
    fx = L.write_audio_folder(tmp_path, split_folders=True)
    (fx.root / "test" / "owl").mkdir()
    shutil.copy(next((fx.root / "test" / "hum").glob("*.wav")), fx.root / "test" / "owl")
    with pytest.raises(DatasetLayoutError, match="owl"):
        AudioFolder(fx.root)


def test_audio_folder_without_class_folders_is_a_layout_error(tmp_path):
    with pytest.raises(DatasetLayoutError, match="class folders"):
        AudioFolder(tmp_path)


# ---------------------------------------------------------------- fixtures


def test_writers_are_deterministic(tmp_path):
    for writer in (L.write_vggsound, L.write_speech_commands, L.write_esc50, L.write_fsdd,
                   L.write_audio_folder):
        a, b = writer(tmp_path / "a"), writer(tmp_path / "b")
        files_a = sorted(p.relative_to(a.root) for p in a.root.rglob("*") if p.is_file())
        files_b = sorted(p.relative_to(b.root) for p in b.root.rglob("*") if p.is_file())
        assert files_a == files_b
        assert all((a.root / p).read_bytes() == (b.root / p).read_bytes() for p in files_a)


def test_speech_commands_list_entries_written_another_way_name_the_same_clips(tmp_path):
    """`./no/x.wav` (CRLF, a BOM, `no//x.wav`) matched no clip: the test clip went to train."""
    fx = L.write_speech_commands(tmp_path)
    clean = SpeechCommands(fx.root)
    listed = (fx.root / "testing_list.txt").read_text().splitlines()
    odd = [("./" if k % 2 else "") + e.replace("/", "//" if k % 3 == 0 else "/")
           for k, e in enumerate(listed)]
    (fx.root / "testing_list.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(odd).encode())
    reader = SpeechCommands(fx.root)
    for split in SPLITS:
        assert reader.item_ids(split) == clean.item_ids(split)
    assert reader.index_notes == clean.index_notes


@pytest.mark.parametrize("writer,csv_name,reader_cls", [
    (L.write_esc50, "meta/esc50.csv", ESC50), (L.write_vggsound, "vggsound.csv", VGGSound)])
def test_csv_saved_with_a_byte_order_mark_reads_as_without(tmp_path, writer, csv_name,
                                                           reader_cls):
    """Excel's UTF-8 BOM hid ESC-50's 'filename' column and glued itself to VGGSound's first key."""
    fx = writer(tmp_path)
    clean = reader_cls(fx.root)
    path = fx.root / csv_name
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    reader = reader_cls(fx.root)
    for split in SPLITS:
        assert reader.item_ids(split) == clean.item_ids(split)
    assert reader.index_notes == clean.index_notes


def test_fsdd_keeps_one_file_per_recording(tmp_path):
    """2_jackson_6.wav and 2_jackson_6.flac were both items: one recording counted twice."""
    fx = L.write_fsdd(tmp_path)
    clean = FSDD(fx.root)
    first = next(p for p in sorted((fx.root / "recordings").glob("*.wav"))
                 if p.stem[0].isdigit() and sf.info(p).frames > 0)
    data, rate = sf.read(first)
    sf.write(first.with_suffix(".flac"), data, rate)
    reader = FSDD(fx.root)
    for split in SPLITS:
        assert reader.item_ids(split) == clean.item_ids(split)
    assert any(f"1 file is a second file of one recording (the same digit, speaker and "
               f"index), skipped (first: recordings/{first.stem}.flac)" in n
               for n in reader.index_notes)


def test_a_csv_that_is_not_utf8_is_refused_not_read_with_replacement_characters(tmp_path):
    """'café music' and 'cafè music' in latin-1 both read as 'caf\ufffd music': one class."""
    fx = L.write_vggsound(tmp_path)
    path = fx.root / "vggsound.csv"
    path.write_bytes(path.read_bytes() + "zzz,1,café music,train\n".encode("latin-1"))
    lines = path.read_bytes().count(b"\n")
    with pytest.raises(DatasetLayoutError, match=f"vggsound.csv: line {lines} is not UTF-8 text"):
        VGGSound(fx.root)


def test_a_quote_left_open_in_vggsound_csv_names_the_lines_it_took(tmp_path):
    """An unterminated quote swallowed the rows after it; the note named the last line as
    '3 columns, expected 4', not the line where the quote opened."""
    from fssuavl_app.data.audio_sets import read_vggsound_csv

    path = tmp_path / "vggsound.csv"
    path.write_text('a,1,dog,train\nb,2,"dog barking,train\nc,3,cat,train\nd,4,cat,test\n'
                    'e,5,"cat",test\n')
    rows, bad = read_vggsound_csv(path)
    assert [r[0] for r in rows] == ["a"]
    assert len(bad) == 1 and bad[0].startswith("lines 2-5: a quote opened on line 2 is still "
                                               "open on line 5, so these 4 lines read as one row")


def test_speech_commands_a_link_into_another_word_is_not_followed(tmp_path):
    """yes/more -> ../no read every 'no' clip as 'yes', and into train."""
    fx = L.write_speech_commands(tmp_path)
    clean = SpeechCommands(fx.root)
    words = list(clean.classes)
    (fx.root / words[0] / "more").symlink_to(fx.root / words[1])
    reader = SpeechCommands(fx.root)
    for split in SPLITS:
        assert reader.item_ids(split) == clean.item_ids(split)
    assert any(f"1 linked folder leads into another word or is reached twice; not read there "
               f"(first: {words[0]}/more/)" in n for n in reader.index_notes)


def test_speech_commands_a_word_folder_linked_onto_another_is_not_read(tmp_path):
    """`yes -> no` read every 'no' clip as 'yes' as well."""
    fx = L.write_speech_commands(tmp_path)
    clean = SpeechCommands(fx.root)
    words = list(clean.classes)
    (fx.root / "zzz").symlink_to(words[1])
    reader = SpeechCommands(fx.root)
    assert reader.classes == (*clean.classes, "zzz")
    for split in SPLITS:
        assert reader.item_ids(split) == clean.item_ids(split)
    assert any("1 linked folder leads into another word or is reached twice; not read there "
               "(first: zzz/)" in n for n in reader.index_notes), reader.index_notes
