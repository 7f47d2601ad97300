"""End to end through Flower: a real SuperLink, `flwr run`, Ray, 4 clients, tiny inputs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from fssuavl_app.runs.checkpoint import list_checkpoints, load_checkpoint
from fssuavl_app.runs.rundir import read_metrics

from .flower_harness import LocalSuperLink
from .tiny import TINY

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[1]
NUM_CLIENTS = 4


@pytest.fixture(scope="module")
def superlink(tmp_path_factory):
    with LocalSuperLink(tmp_path_factory.mktemp("superlink")) as link:
        yield link


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


def _run(superlink, runs, **overrides) -> str:
    config = {**TINY, "output-dir": str(runs), **overrides}
    status, logs = superlink.run(APP, config, NUM_CLIENTS)
    assert status == "finished:completed", logs[-3000:]
    return logs


def test_two_rounds_write_checkpoints_metrics_and_change_weights(straight_run):
    run_dir, logs = straight_run
    assert [r for r, _ in list_checkpoints(run_dir)] == [0, 1, 2, 3]
    first, last = load_checkpoint(run_dir / "round-0000.json"), load_checkpoint(run_dir / "round-0003.json")
    assert all(torch.isfinite(v.float()).all() for v in last.state_dict.values())
    assert not torch.equal(first.state_dict["encoder.conv1.weight"], last.state_dict["encoder.conv1.weight"])
    metrics = read_metrics(run_dir)
    assert [m["round"] for m in metrics] == [0, 1, 2, 3]
    for m in metrics[1:]:
        assert m["clients"] == 2 and m["num-examples"] == m["num-image"] + m["num-audio"] > 0
        assert math.isfinite(m["loss-image"]) and math.isfinite(m["loss-audio"])
    assert all("knn-image-top1" in m and "knn-audio-top1" in m for m in metrics)
    assert any((run_dir / "tb").iterdir())
    assert "Partition: 4 clients" in logs and f"Run directory: {run_dir}" in logs
    assert all("knn-image-top1-k20" in m and "knn-audio-top1-k20" in m for m in metrics)
    assert re.search(r"kNN top-1 image: round 0 = \d\.\d{4}, round 3 = \d\.\d{4} "
                     r"\(k=20: \d\.\d{4} -> \d\.\d{4}\)", logs)
    progress = [line for line in logs.splitlines() if "[round " in line]
    assert len(progress) == 4, progress  # round 0 (the monitor) and three rounds
    eta = re.compile(r"\| elapsed (\d+s|\d+m\d\ds), ETA (\d+s|\d+m\d\ds|after round 1)\s*$")
    assert all(eta.search(line) for line in progress), progress
    assert "ETA after round 1" in progress[0] and progress[-1].rstrip().endswith("ETA 0s")


def test_resume_continues_as_if_never_stopped(superlink, runs, straight_run):
    _run(superlink, runs, **{"run-name": "split", "num-server-rounds": 2})
    _run(superlink, runs, **{"resume": str(runs / "split"), "num-server-rounds": 3})
    split = load_checkpoint(runs / "split" / "round-0003.json")
    uninterrupted = load_checkpoint(straight_run[0] / "round-0003.json")
    for key, value in uninterrupted.state_dict.items():
        torch.testing.assert_close(split.state_dict[key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert [m["round"] for m in read_metrics(runs / "split")] == [0, 1, 2, 3]
    # a key that changes the model's shape is refused at start, naming both values
    status, logs = superlink.run(APP, {**TINY, "output-dir": str(runs), "num-server-rounds": 4,
                                       "resume": str(runs / "split"), "proj-dim": 64},
                                 NUM_CLIENTS, timeout=300)
    assert status == "finished:failed" and "'proj-dim' is 128 in the stored run and 64 now" in logs
    assert [r for r, _ in list_checkpoints(runs / "split")][-1] == 3


def test_bad_config_fails_the_run_with_a_named_key(superlink, runs):
    status, logs = superlink.run(APP, {**TINY, "output-dir": str(runs), "arch": "resnet50"},
                                 NUM_CLIENTS, timeout=120)
    assert status == "finished:failed"
    # one line to read before Flower's traceback
    assert "The run stopped: run-config key 'arch' is 'resnet50'; allowed values" in logs


def test_fixture_datasets_on_disk_train_with_bad_files_skipped(superlink, runs, tmp_path):
    """CIFAR-10 pickles + ADVANCE sounds (one zero-byte wav in train), decode cache on."""
    from fssuavl_app.data.advance import AdvanceSounds

    from .layouts_epic_advance import ADVANCE_CORRUPT_IDS, write_advance
    from .layouts_images import write_cifar10

    cache = tmp_path / "cache"
    sounds = AdvanceSounds(write_advance(tmp_path))
    n_train, n_test = len(sounds.labels("train")), len(sounds.labels("test"))
    logs = _run(superlink, runs, **{
        "run-name": "on-disk", "num-server-rounds": 1, "fraction-train": 1.0,
        "image-dataset": "cifar10", "image-root": str(write_cifar10(tmp_path)),
        "audio-dataset": "advance-sounds", "audio-root": str(sounds.root),
        "cache-dir": str(cache)})
    metrics = read_metrics(runs / "on-disk")
    assert metrics[-1]["num-image"] == 20 and metrics[-1]["num-audio"] == n_train - 1
    assert metrics[-1]["num-skipped"] == 1
    assert ADVANCE_CORRUPT_IDS["audio"][0] in logs and "skipped 1 of" in logs
    assert "sounds in sound without an image (left out): 1" in logs
    # clients cached their train clips; the server's kNN monitor cached train and test
    assert len(list(cache.rglob("*.npy"))) == n_train - 1 + n_test
    assert len(list(cache.rglob("*.bad"))) == 1


def test_missing_dataset_root_fails_the_run_at_start(superlink, runs, tmp_path):
    status, logs = superlink.run(APP, {**TINY, "output-dir": str(runs), "audio-dataset": "fsdd",
                                       "audio-root": str(tmp_path / "no-fsdd-here")},
                                 NUM_CLIENTS, timeout=120)
    assert status == "finished:failed"
    assert "no-fsdd-here" in logs and "recordings/" in logs


def test_vit_barlow_twins_preset_runs_through_flower(superlink, runs):
    """A paper preset (quick twin) starts and finishes one round: ViT + Barlow Twins."""
    import tomllib

    preset = tomllib.loads((APP / "conf" / "quick" / "t7-fssuavl-333-vit-barlow-twins-e1.toml")
                           .read_text())
    _run(superlink, runs, **{**preset, **TINY, "run-name": "vit-bt", "num-server-rounds": 1,
                             "lr-schedule": "cosine"})
    last = load_checkpoint(runs / "vit-bt" / "round-0001.json")
    assert last.model_args.arch == "vit" and last.run_config["loss"] == "barlow-twins"
    assert all(torch.isfinite(v.float()).all() for v in last.state_dict.values())
    assert math.isfinite(read_metrics(runs / "vit-bt")[-1]["loss-image"])
