"""`fssuavl-data check` on real Fashion-MNIST and on fixtures with bad files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fssuavl_app.cli.data import main

from .layouts_epic_advance import ADVANCE_CORRUPT_IDS, write_advance

pytestmark = pytest.mark.integration

FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_check_real_fashion_mnist_as_json(capsys):
    if not FASHION.is_dir():
        pytest.fail(f"{FASHION} missing: apt-get install dataset-fashion-mnist (.ci/run does)")
    assert main(["check", "fashion-mnist", str(FASHION), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    train, test = report["splits"]["train"], report["splits"]["test"]
    assert (train["items"], test["items"]) == (60000, 10000)
    assert train["decoded"] == 60000 and test["decoded"] == 10000 and not train["bad"]
    assert set(train["per-class"].values()) == {6000} and set(test["per-class"].values()) == {1000}
    assert train["image-sizes"] == {"28x28": 60000} and report["readable"]
    assert report["classes"][0] == "T-shirt/top"
    assert report["release"] == {"matches": True, "summary": "Fashion-MNIST: train 60,000 / "
                                 "test 10,000 in 10 classes"}


def test_check_reports_bad_files_and_strict_fails(tmp_path, capsys):
    root = write_advance(tmp_path)
    assert main(["check", "advance-sounds", str(root)]) == 0
    page = capsys.readouterr().out
    bad_id = ADVANCE_CORRUPT_IDS["audio"][0]
    assert "bad files: 1" in page and f"[train] {bad_id}" in page
    assert "native rates: 22050 Hz" in page and "readable: yes" in page
    assert "official release: ADVANCE, 5,075 pairs: 5,075 items in 13 classes; DIFFERS: this " \
           "copy holds" in page  # a fixture of a few pairs
    capsys.readouterr()
    assert main(["check", "advance-sounds", str(root), "--strict"]) == 1
    assert "--strict: FAILED (bad files above)" in capsys.readouterr().out  # said only 'yes'
    assert main(["check", "advance-sounds", str(root), "--strict", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["readable"] and report["strict"] and not report["passed"]


def test_unreadable_split_and_wrong_root_exit_nonzero(tmp_path, capsys):
    good = tmp_path / "set" / "train" / "beep"
    good.mkdir(parents=True)
    sf.write(good / "a.wav", np.sin(np.arange(8000) / 5).astype(np.float32), 16000)
    broken = tmp_path / "set" / "test" / "beep"
    broken.mkdir(parents=True)
    (broken / "b.wav").write_text("not audio")
    assert main(["check", "audio-folder", str(tmp_path / "set")]) == 1
    assert "readable: NO" in capsys.readouterr().out
    assert main(["check", "cifar10", str(tmp_path / "nowhere")]) == 2
    assert str(tmp_path / "nowhere") in capsys.readouterr().err
    assert main(["check", "cifar10", str(tmp_path / "nowhere"), "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)  # stdout was empty
    assert answer["readable"] is False and str(tmp_path / "nowhere") in answer["error"]


def test_console_script_lists_datasets():
    out = subprocess.run(["fssuavl-data", "list"], capture_output=True, text=True, check=True)
    assert "vggsound (audio)" in out.stdout and "tiny-imagenet (image)" in out.stdout
