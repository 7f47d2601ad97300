"""fssuavl-compare: runs side by side, named by their client shares."""

from __future__ import annotations

import json

import pytest
import torch

from fssuavl_app.cli.compare import main, method_name
from fssuavl_app.core.audio_frontend import AudioSpec
from fssuavl_app.core.models import build_model
from fssuavl_app.runs.checkpoint import save_checkpoint
from fssuavl_app.runs.config import RunConfig

from .tiny import TINY

pytestmark = pytest.mark.integration


def write_run(path, shares, knn):
    cfg = RunConfig.from_run_config({**TINY, "frac-image-only": shares[0],
                                     "frac-audio-only": shares[1]})
    path.mkdir()
    torch.manual_seed(0)
    model = build_model(cfg.model_args())
    save_checkpoint(path, 2, model.state_dict(), model.args, AudioSpec(), cfg.to_run_config(),
                    {"knn-image-top1": knn[0], "knn-audio-top1": knn[1]})
    return path


def test_method_names_follow_the_shares():
    assert method_name({"frac-image-only": 1.0, "frac-audio-only": 0.0}) == "FVSSL"
    assert method_name({"frac-image-only": 0.0, "frac-audio-only": 1.0}) == "FASSL"
    assert method_name({"frac-image-only": 0.5, "frac-audio-only": 0.5}) == "Model-Comb"
    assert method_name({"frac-image-only": 0.0, "frac-audio-only": 0.0}) == "FSSUAVL"
    assert method_name({"frac-image-only": 0.33, "frac-audio-only": 0.33}) == \
        "FSSUAVL 33% V / 33% A / 34% both"


def test_table_of_four_methods_with_and_without_evaluations(tmp_path, capsys):
    runs = [write_run(tmp_path / n, s, k) for n, s, k in (
        ("a", (0.0, 0.0), (0.30, 0.75)), ("b", (1.0, 0.0), (0.32, 0.60)),
        ("c", (0.0, 1.0), (0.20, 0.76)), ("d", (0.5, 0.5), (0.25, 0.70)))]
    assert main([str(r) for r in runs] + ["--out", str(tmp_path / "cmp.md")]) == 0
    out = capsys.readouterr().out
    assert "| FSSUAVL | R-18 | SimCLR | a | 2 | 30.00 | 75.00 | 52.50 |" in out
    for name in ("FVSSL", "FASSL", "Model-Comb"):
        assert f"| {name} | R-18 |" in out
    assert (tmp_path / "cmp.md").read_text().strip() == out.strip()
    (runs[0] / "eval-1").mkdir()
    (runs[0] / "eval-1" / "results.json").write_text(json.dumps({"results": [
        {"task": "cifar10", "paired": False, "protocol": "knn", "mode": "V", "method": "x",
         "arch": "resnet18", "round": 2, "top1": 0.5, "seconds": 1.0}]}))
    assert main([str(r) for r in runs]) == 0
    assert "| FSSUAVL (SimCLR, a) | R-18 | 2 | 50.00 | 50.00 |" in capsys.readouterr().out
    assert main([str(tmp_path / "nothing-here")]) == 2
