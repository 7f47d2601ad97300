"""Settings that survive a resume, presets in one command, bad input counted not fatal,
impossible settings refused at start, crash-safe files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from fssuavl_app.cli.evaluate import main as evaluate_main
from fssuavl_app.core.models import build_model
from fssuavl_app.data import CachedSource, load_items
from fssuavl_app.data.decode import BadItem, decode_audio, decode_image
from fssuavl_app.data.index import AudioFiles, SplitIndex
from fssuavl_app.fl.server import check_round_size
from fssuavl_app.runs.checkpoint import latest_checkpoint, list_checkpoints
from fssuavl_app.runs.config import ConfigError, RunConfig, resumed_config
from fssuavl_app.runs.rundir import MetricsLog, RunDirError, read_metrics

from .test_evaluate import write_run

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------- presets and resume

def test_a_preset_combines_with_keys_in_one_command():
    cfg = RunConfig.from_run_config({"preset": "paper/fssuavl-r18-simclr", "seed": 4,
                                     "image-dataset": "fashion-mnist", "image-root": "/data/f",
                                     "run-name": "s4"})
    assert (cfg.num_server_rounds, cfg.batch_size, cfg.input_size, cfg.image_views) == \
        (100, 256, 128, "viewmaker")
    assert (cfg.seed, cfg.image_dataset, cfg.run_name, cfg.preset) == \
        (4, "fashion-mnist", "s4", "paper/fssuavl-r18-simclr")
    with pytest.raises(ConfigError, match="no preset 'paper/nope'"):
        RunConfig.from_run_config({"preset": "paper/nope"})


def test_resume_keeps_the_stored_settings_and_applies_only_allowed_changes():
    stored = RunConfig.from_run_config({"preset": "paper/fssuavl-r18-simclr"}).to_run_config()
    # the README's resume command: only resume and num-server-rounds
    cfg, changes = resumed_config({"resume": "runs/x", "num-server-rounds": 120}, stored)
    assert (cfg.input_size, cfg.batch_size, cfg.dirichlet_alpha, cfg.num_server_rounds) == \
        (128, 256, 0.1, 120)
    assert changes == ["num-server-rounds: 100 -> 120"]
    for key, value in (("loss", "barlow-twins"), ("seed", 3), ("lr", 0.1), ("proj-dim", 64),
                       ("synthetic-train-per-class", 20), ("dirichlet-alpha", 0.3)):
        with pytest.raises(ConfigError, match=f"'{key}' is .* in the stored run and "
                                              f"{value!r} now"):
            resumed_config({"resume": "runs/x", key: value}, stored)


def test_more_rounds_are_refused_when_the_lr_schedule_spans_the_rounds():
    stored = RunConfig.from_run_config({"lr-schedule": "cosine", "num-server-rounds": 10}
                                       ).to_run_config()
    # cosine over 10 rounds, resumed to 30, would give every later round another lr
    with pytest.raises(ConfigError, match="'num-server-rounds' is 10 in the stored run and 30 "
                                          "now .lr-schedule='cosine' spans the rounds"):
        resumed_config({"resume": "runs/x", "num-server-rounds": 30}, stored)
    cfg, _ = resumed_config({"resume": "runs/x", "eval-every": 2}, stored)
    assert cfg.lr_schedule == "cosine" and cfg.eval_every == 2


def test_impossible_round_sizes_are_refused_at_start():
    cfg = RunConfig.from_run_config({"min-train-replies": 50})
    with pytest.raises(ConfigError, match="min-train-replies=50 but each round trains 10"):
        check_round_size(cfg, 100)
    check_round_size(RunConfig.from_run_config({"min-train-replies": 10}), 100)


# ---------------------------------------------------------------- bad input

class _Wavs(AudioFiles):
    name = "wavs"

    def __init__(self, root, names):
        split = SplitIndex(ids=list(names), labels=[0] * len(names))
        super().__init__(root, ["only"], {"train": split, "test": split})


def _wav(path, wave, subtype="PCM_16"):
    sf.write(path, wave.astype(np.float32), 16_000, subtype=subtype)


def test_truncated_and_loud_audio_are_handled_alike_with_and_without_the_cache(tmp_path):
    tone = 0.5 * np.sin(np.arange(16_000) / 5)
    _wav(tmp_path / "good.wav", tone)
    _wav(tmp_path / "loud.wav", 8 * tone, subtype="FLOAT")
    whole = (tmp_path / "good.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: 44 + 478 * 2])
    with pytest.raises(BadItem, match="truncated"):
        decode_audio(tmp_path / "cut.wav")
    names = ["good.wav", "loud.wav", "cut.wav"]
    plain = load_items(_Wavs(tmp_path, names), "train", range(3))
    cached = CachedSource(_Wavs(tmp_path, names), tmp_path / "cache")
    for source in (cached, cached):  # a miss, then a hit
        got = load_items(source, "train", range(3))
        assert got.kept.tolist() == plain.kept.tolist() == [0, 1]
        assert len(got.bad) == len(plain.bad) == 1 and "cut.wav" in got.bad[0]
        assert abs(float(got.data.samples.abs().max()) - 1.0) < 1e-3
        torch.testing.assert_close(got.data.samples, plain.data.samples, atol=1 / 16000, rtol=0)


def test_an_over_long_clip_is_cut_so_memory_stays_bounded(tmp_path, caplog):
    for k in range(3):
        _wav(tmp_path / f"{k}.wav", 0.1 * np.ones(16_000))
    _wav(tmp_path / "long.wav", 0.1 * np.ones(60 * 16_000))
    loaded = load_items(_Wavs(tmp_path, ["0.wav", "1.wav", "2.wav", "long.wav"]), "train",
                        range(4), max_seconds=4.0)
    assert tuple(loaded.data.samples.shape) == (4, 4 * 16_000)
    assert loaded.data.lengths.tolist() == [16_000] * 3 + [64_000]
    assert "1 of 4 items are longer than 4.0 s" in caplog.text and "long.wav" in caplog.text


def test_a_decompression_bomb_is_a_bad_item_and_the_checker_exits_cleanly(tmp_path):
    Image.new("L", (20000, 10000)).save(tmp_path / "bomb.png", optimize=True)
    with pytest.raises(BadItem, match="too many pixels"):
        decode_image(tmp_path / "bomb.png")
    for k in range(2):
        Image.new("RGB", (8, 8), (k * 100, 0, 0)).save(tmp_path / f"{k}.png")
    folder = tmp_path / "set" / "a"
    folder.mkdir(parents=True)
    for name in ("0.png", "1.png", "bomb.png"):
        (folder / name).write_bytes((tmp_path / name).read_bytes())
    (tmp_path / "set" / "b").mkdir()
    for name in ("0.png", "1.png"):
        (tmp_path / "set" / "b" / name).write_bytes((tmp_path / name).read_bytes())
    done = subprocess.run(["fssuavl-data", "check", "image-folder", str(tmp_path / "set")],
                          capture_output=True, text=True)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr
    assert "too many pixels" in done.stdout


def test_evaluate_arguments_are_range_checked(tmp_path, capsys):
    run = write_run(tmp_path / "r", (0,))
    for args, message in ((["--knn-k", "0"], "--knn-k"), (["--knn-t", "0"], "--knn-t"),
                          (["--knn-k", "-3"], "--knn-k"), (["--batch-size", "0"], "--batch-size"),
                          (["--epochs", "0"], "--epochs"), (["--max-samples", "-1"], "--max-samples")):
        with pytest.raises(SystemExit) as exit_:
            evaluate_main([str(run), "--task", "synthetic-shapes", *args])
        assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_task_whose_files_are_all_bad_is_an_error_not_a_traceback(tmp_path, capsys):
    run = write_run(tmp_path / "r", (0,))
    root = tmp_path / "bad"
    for split in ("train", "test"):
        for label in ("a", "b"):
            (root / split / label).mkdir(parents=True)
            (root / split / label / "x.wav").write_text("not audio")
    assert evaluate_main([str(run), "--task", f"audio-folder={root}",
                          "--out", str(tmp_path / "o")]) == 2
    assert "no audio item could be decoded" in capsys.readouterr().err


# ---------------------------------------------------------------- durable files

def test_a_half_written_last_metrics_line_is_dropped_with_a_warning(tmp_path, caplog):
    log = MetricsLog(tmp_path, resume_after=None)
    for r in range(3):
        log.write({"round": r, "loss-image": 1.0})
    log.close()
    with (tmp_path / "metrics.jsonl").open("a") as fh:
        fh.write('{"round": 3, "loss-ima')
    assert [m["round"] for m in read_metrics(tmp_path)] == [0, 1, 2]
    assert "cut off" in caplog.text
    MetricsLog(tmp_path, resume_after=2).close()  # resume works and rewrites the file whole
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 3
    (tmp_path / "metrics.jsonl").write_text('{"round": 0}\nbroken\n{"round": 2}\n')
    with pytest.raises(RunDirError, match="line 2"):
        read_metrics(tmp_path)


WRITER = textwrap.dedent("""
    import sys, torch
    from fssuavl_app.core.audio_frontend import AudioSpec
    from fssuavl_app.core.models import ModelArgs, build_model
    from fssuavl_app.runs.checkpoint import save_checkpoint
    model = build_model(ModelArgs(input_size=32))
    for r in range(1000):
        torch.nn.init.normal_(model.head.weight)
        save_checkpoint(sys.argv[1], r, model.state_dict(), model.args, AudioSpec(), {}, {})
        print(r, flush=True)
""")


def test_a_kill_during_checkpoint_writes_leaves_the_last_whole_round_loadable(tmp_path):
    for attempt in range(3):
        run = tmp_path / f"run{attempt}"
        run.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(run)], stdout=subprocess.PIPE,
                                text=True)
        for _ in range(2 + attempt):  # let a few rounds land, then kill mid-write
            proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        last = latest_checkpoint(run)  # checksum-verified
        assert last is not None and last.round == list_checkpoints(run)[-1][0] >= 1 + attempt
        assert build_model(last.model_args).load_state_dict(last.state_dict)


class _TwoNodesOnePartition:
    """A Grid whose two nodes both claim partition 0 (one manifest given to two SuperNodes)."""

    def get_node_ids(self):
        return [11, 12]

    def send_and_receive(self, messages, timeout=None):
        from flwr.app import Message, MetricRecord, RecordDict

        return [Message(content=RecordDict({"metrics": MetricRecord(
            {"partition-id": 0, "num-partitions": 2})}), reply_to=m) for m in messages]


def test_a_duplicated_manifest_stops_the_run_before_its_folder_exists(tmp_path, task_identity):
    from flwr.app import Context, RecordDict

    from fssuavl_app.fl.server import run_server

    from .tiny import TINY

    context = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(),
                      run_config={**TINY, "output-dir": str(tmp_path / "runs"),
                                  "run-name": "dup"})
    with pytest.raises(RuntimeError, match="two nodes claim partition 0"):
        run_server(_TwoNodesOnePartition(), context)
    assert not (tmp_path / "runs" / "dup").exists()
