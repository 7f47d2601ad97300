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
    cfg = RunConfig.from_run_config({**TINY, "arch": "resnet18", "frac-image-only": shares[0],
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
    # before: FileNotFoundError / JSONDecodeError tracebacks (the --out one after the table)
    (tmp_path / "not.json").write_text("no json")
    for argv, says in (([str(runs[0]), "--eval", str(tmp_path / "missing.json")], "missing.json"),
                       ([str(runs[0]), "--eval", str(tmp_path / "not.json")], "not readable JSON"),
                       ([str(runs[0]), "--eval", str(tmp_path / "cmp.md")], "not readable JSON")):
        capsys.readouterr()
        assert main(argv) == 2 and says in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main([str(runs[0]), "--out", str(tmp_path / "no-dir" / "x.md")])
    assert stop.value.code == 2 and "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # was: IsADirectoryError after the tables
        main([str(runs[0]), "--out", str(tmp_path)])
    assert stop.value.code == 2 and "is a folder" in capsys.readouterr().err
    assert main([str(runs[0] / "round-0002.json")]) == 2
    assert f"is a file; give the run directory that holds it ({runs[0]})" in \
        capsys.readouterr().err


def _seeded_run(path, shares, seed, before, after, arch="resnet18"):
    cfg = RunConfig.from_run_config({**TINY, "arch": arch, "seed": seed,
                                     "frac-image-only": shares[0],
                                     "frac-audio-only": shares[1]})
    path.mkdir()
    torch.manual_seed(seed)
    model = build_model(cfg.model_args())
    for r, knn in ((0, before), (2, after)):
        save_checkpoint(path, r, model.state_dict(), model.args, AudioSpec(),
                        cfg.to_run_config(), {"knn-image-top1": knn[0], "knn-audio-top1": knn[1]})


def test_runs_that_differ_by_seed_give_intervals_a_baseline_and_paired_tests(tmp_path, capsys):
    runs = []
    for seed, (untrained, fssuavl, comb) in enumerate((((0.20, 0.60), (0.30, 0.70), (0.25, 0.55)),
                                                       ((0.22, 0.62), (0.33, 0.72), (0.26, 0.58)),
                                                       ((0.21, 0.61), (0.31, 0.71), (0.24, 0.60)))):
        for name, shares, after in (("fssuavl", (0.0, 0.0), fssuavl), ("comb", (0.5, 0.5), comb)):
            runs.append(tmp_path / f"{name}-s{seed}")
            _seeded_run(runs[-1], shares, seed, untrained, after)
    assert main([str(r) for r in runs]) == 0
    out = capsys.readouterr().out
    assert "untrained encoder (round 0) | 21.0 ± 1.0 [18.5, 23.5]" in out
    assert "| FSSUAVL (SimCLR, R-18) | 31.3 ± 1.5" in out
    assert "3 seed(s) [0, 1, 2]" in out
    # Model-Comb's audio (57.7) is below the untrained encoder's (61.0): flagged
    assert "| Model-Comb (SimCLR, R-18) |" in out and "†" in out
    assert "paired t-test, n = 3" in out and "does not beat it" in out


def test_each_architecture_is_measured_against_its_own_untrained_encoder(tmp_path, capsys):
    # was: one round-0 baseline per seed for all runs, the last run's arch overwriting the
    # other's, so R-18 (untrained 0.40 on images) was flagged against R-18/2's (0.10) or not
    runs = []
    for seed, (r18_before, half_before) in enumerate((((0.40, 0.60), (0.10, 0.50)),
                                                     ((0.42, 0.62), (0.12, 0.52)))):
        for arch, before, after in (("resnet18", r18_before, (0.35, 0.70)),
                                    ("resnet18-half", half_before, (0.30 + seed / 100, 0.60))):
            runs.append(tmp_path / f"{arch}-s{seed}")
            _seeded_run(runs[-1], (0.0, 0.0), seed, before, after, arch=arch)
    assert main([str(r) for r in runs]) == 0
    out = capsys.readouterr().out
    assert "| untrained encoder (round 0), R-18 | 41.0 ± 1.4" in out
    assert "| untrained encoder (round 0), R-18/2 | 11.0 ± 1.4" in out
    # R-18's images (35) are below its own untrained 41: flagged; R-18/2's 30.5 beat 11
    assert "- FSSUAVL (SimCLR, R-18), KNN monitor (V): -6.0 points against" in out
    assert "- FSSUAVL (SimCLR, R-18/2), KNN monitor (V): +19.5 points against" not in out
    assert "| FSSUAVL (SimCLR, R-18/2) | 30.5 ± 0.7 [24.1, 36.9] |" in out  # no dagger


def test_small_k_scores_get_their_own_columns_and_do_not_split_seed_groups(tmp_path, capsys):
    cfg = RunConfig.from_run_config({**TINY, "knn-small-k": 20})
    torch.manual_seed(0)
    model = build_model(cfg.model_args())
    with_small = tmp_path / "with-k20"
    with_small.mkdir()
    save_checkpoint(with_small, 2, model.state_dict(), model.args, AudioSpec(),
                    cfg.to_run_config(), {"knn-image-top1": 0.30, "knn-audio-top1": 0.70,
                                          "knn-image-top1-k20": 0.25,
                                          "knn-audio-top1-k20": 0.65})
    without = write_run(tmp_path / "old", (0.0, 0.0), (0.32, 0.72))
    assert main([str(with_small), str(without)]) == 0
    out = capsys.readouterr().out
    assert "| Avg. | kNN image k=20 | kNN audio k=20 |" in out
    assert "| with-k20 | 2 | 30.00 | 70.00 | 50.00 | 25.00 | 65.00 |" in out
    assert "| old | 2 | 32.00 | 72.00 | 52.00 |  |  |" in out  # no small k recorded: empty cells
    for seed, small_k in ((0, 20), (1, 0)):
        run = tmp_path / f"seed{seed}"
        rc = RunConfig.from_run_config({**TINY, "seed": seed, "knn-small-k": small_k})
        run.mkdir()
        for r in (0, 2):
            save_checkpoint(run, r, model.state_dict(), model.args, AudioSpec(),
                            rc.to_run_config(), {"knn-image-top1": 0.2 + r / 10,
                                                 "knn-audio-top1": 0.6 + r / 20})
    from fssuavl_app.cli.compare import group_by_seed
    groups, _ = group_by_seed([tmp_path / "seed0", tmp_path / "seed1"])
    assert [sorted(m) for m in groups.values()] == [[0, 1]]
