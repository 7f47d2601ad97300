"""`fssuavl-reproduce` end to end on a real SuperLink: plan, runs, evaluations, report; killed
midway and called again it finishes the job; called once more it skips everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fssuavl_app.cli.reproduce import canonical_stems, plan, stems_of
from fssuavl_app.evaluate.stats import paired_test, summarize
from fssuavl_app.runs.presets import toml_value

from .flower_harness import LocalSuperLink
from .tiny import TINY

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[1]


def test_the_plan_runs_presets_with_the_same_settings_once():
    targets = stems_of(["table2", "table3", "figure4a"], ["r18"], [0, 50, 100])
    runs = plan(targets, 2, "quick")
    assert {r.stem for r in runs} == {"fssuavl-r18-simclr", "fvssl-r18-simclr",
                                      "fassl-r18-simclr", "fig4a-r18-audio-on-050pct"}
    assert len(runs) == 8 and {r.seed for r in runs} == {0, 1}
    same = canonical_stems(targets["figure4a"], "quick")
    assert same["fig4a-r18-audio-on-000pct"] == "fig4a-r18-audio-on-000pct"
    all_stems = [s for group in targets.values() for s in group]
    assert canonical_stems(all_stems, "quick")["fig4a-r18-audio-on-100pct"] == \
        "fssuavl-r18-simclr"


def test_statistics_over_seeds_known_values():
    s = summarize([0.60, 0.62, 0.64])
    assert s.mean == pytest.approx(0.62) and s.std == pytest.approx(0.02)
    assert s.high - s.mean == pytest.approx(4.302653 * 0.02 / 3 ** 0.5, rel=1e-5)
    assert s.cell() == "62.0 ± 2.0 [57.0, 67.0]"
    assert paired_test([0.6, 0.62, 0.61], [0.55, 0.58, 0.56]).significant
    assert not paired_test([0.6, 0.5, 0.7], [0.55, 0.58, 0.56]).significant
    assert summarize([0.5]).cell() == "50.0"


def _command(out: Path, link: LocalSuperLink) -> list[str]:
    keys = {k: v for k, v in TINY.items() if k != "num-server-rounds"}
    return [sys.executable, "-m", "fssuavl_app.cli.reproduce", "table6", "--scale", "quick",
            "--seeds", "1", "--rounds", "1", "--out", str(out), "--app", str(APP),
            "--superlink", "test", "--set", " ".join(f"{k}={toml_value(v)}" for k, v in
                                                     keys.items()),
            "--federation-config", "num-supernodes=4 client-resources-num-cpus=1",
            "--task", "synthetic-shapes", "--task", "synthetic-sounds", "--protocol", "knn",
            "--eval-args", "--knn-k 10"]


def test_reproduce_killed_midway_finishes_on_the_next_call_and_then_skips(tmp_path):
    out = tmp_path / "out"
    with LocalSuperLink(tmp_path / "link") as link:
        env = {**link.env}
        first = subprocess.Popen(_command(out, link), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 300
        while time.time() < deadline and not (out / "runs").exists() or \
                not list((out / "runs").rglob("round-0000.json")):
            if first.poll() is not None or time.time() > deadline:
                break
            time.sleep(0.5)
        os.kill(first.pid, signal.SIGKILL)  # no clean-up: its run goes on on the SuperLink
        first.wait()
        assert json.loads((out / "inflight.json").read_text())  # a run was in flight
        second = subprocess.run(_command(out, link), env=env, capture_output=True, text=True,
                                timeout=900)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        # the killed call's run was waited for, resumed, or had finished meanwhile
        assert any(w in second.stdout for w in ("still in flight", "resuming", "skipped"))
        assert "Report:" in second.stdout and "[run 2/2]" in second.stdout
        report = (out / "report.md").read_text()
        assert "untrained encoder (round 0)" in report and "model-comb-r18-simclr" in report
        assert "fssuavl-333-r18-simclr - model-comb-r18-simclr" in report
        done_work = {p: p.stat().st_mtime_ns for pattern in ("round-*.safetensors", "results.json")
                     for p in out.rglob(pattern)}
        third = subprocess.run(_command(out, link), env=env, capture_output=True, text=True,
                               timeout=300)
        assert third.returncode == 0 and third.stdout.count("skipped") == 2, third.stdout
        # nothing was trained or evaluated again: every checkpoint and result is untouched
        assert done_work and done_work == {
            p: p.stat().st_mtime_ns for pattern in ("round-*.safetensors", "results.json")
            for p in out.rglob(pattern)}


def test_a_wrong_task_stops_the_plan_before_any_run(tmp_path, capsys):
    from fssuavl_app.cli.reproduce import main

    code = main(["table6", "--task", f"cifar10={tmp_path / 'missing'}", "--out",
                 str(tmp_path / "out"), "--dry-run"])
    assert code == 2 and "missing" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, says", [
    (["figure4", "--shares", "33"], "--shares 33: Figure 4 has the shares 0 10 30 50 70 100"),
    (["table2", "--set", "seed=5"], "--set names 'seed', which fssuavl-reproduce sets from "
                                    "--seeds"),
    (["table2", "--rounds", "1", "--set", "num-server-rounds=3"], "sets from --rounds"),
    (["table2", "--set", "bogus=1"], "unknown run-config key 'bogus'"),
    (["table2", "--set", "lr=nan"], "'lr' is nan; it must be a finite number"),
    (["table2", "--set", "image-dataset='cifar10'"], "needs image-root"),
    (["table2", "--set", "image-root=/data/x"], "quote text values: key='text'"),
    (["table2", "--set", "lr=0.1 lr=0.2"], "not 'key=value ...' as flwr run reads it"),
    (["table2", "--set", "more.toml"], "a TOML file cannot be merged"),
    (["table2", "--task", "synthetic-shapes", "--task", "synthetic-shapes"],
     "'synthetic-shapes' given more than once"),  # was: refused by fssuavl-evaluate after the runs
], ids=["share", "own-key", "own-rounds", "unknown-key", "nan", "no-root", "unquoted", "twice",
        "toml", "task-twice"])
def test_bad_shares_and_set_keys_stop_even_a_dry_run(tmp_path, capsys, argv, says):
    """Before, each of these planned nothing (exit 0, an empty report) or failed every
    `flwr run` with Flower's unnamed 'invalid format' / 'Invalid run configuration'."""
    from fssuavl_app.cli.reproduce import main

    assert main([*argv, "--seeds", "1", "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_set_is_checked_over_the_apps_own_run_config(tmp_path, capsys):
    """`flwr run` merges the app's pyproject.toml under the overrides: a data root given
    there satisfies the check, as it will satisfy the run."""
    from fssuavl_app.cli.reproduce import main

    app = tmp_path / "app"
    app.mkdir()
    config = (APP / "pyproject.toml").read_text()
    (app / "pyproject.toml").write_text(config.replace(
        'image-root = ""', f'image-root = "{tmp_path}"', 1))
    argv = ["table2", "--seeds", "1", "--out", str(tmp_path / "out"), "--dry-run",
            "--set", "image-dataset='cifar10'"]
    assert main([*argv, "--app", str(app)]) == 0
    assert main([*argv, "--app", str(APP)]) == 2 and "needs image-root" in capsys.readouterr().err


@pytest.mark.parametrize("rounds", [20, 7])
def test_rounds_override_the_preset_also_at_the_apps_default_value(rounds):
    """Before, runs were sent as `preset='quick/X' num-server-rounds=N`: at N = the app's
    default (20) the app could not tell N from a key left alone and kept the preset's 10."""
    from fssuavl_app.cli.config import config_from_cli
    from fssuavl_app.cli.reproduce import PlannedRun, run_config_text
    from fssuavl_app.runs.config import RunConfig
    from fssuavl_app.runs.presets import preset_values

    assert RunConfig().num_server_rounds == 20
    run = PlannedRun("fssuavl-r18-simclr", 1, "quick")
    text = run_config_text(run, Path("/tmp/runs dir"), f"num-server-rounds={rounds} "
                           "image-root=\"/data/it's\"", resume=True)
    cfg = config_from_cli([text], APP)
    assert cfg.num_server_rounds == rounds and cfg.image_root == "/data/it's"
    assert (cfg.seed, cfg.output_dir, cfg.run_name, cfg.resume) == \
        (1, "/tmp/runs dir", "quick-fssuavl-r18-simclr-s1", "/tmp/runs dir/quick-fssuavl-r18-simclr-s1")
    preset = preset_values("quick/fssuavl-r18-simclr")
    assert preset["num-server-rounds"] == 10 and preset["arch"] == "resnet18"
    assert all(cfg.to_run_config()[k] == v for k, v in preset.items() if k != "num-server-rounds")


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    from fssuavl_app.cli.reproduce import main

    code = main(["figure4a", "--seeds", "2", "--shares", "0", "50", "100", "--out",
                 str(tmp_path / "out"), "--dry-run"])
    printed = capsys.readouterr().out
    # 0% is FVSSL and 100% FSSUAVL: the three shares are three distinct presets, two seeds each
    assert code == 0 and "Plan: 6 runs (3 presets x 2 seeds, quick scale)" in printed
    assert "quick-fig4a-r18-audio-on-050pct-s1" in printed
    assert not (tmp_path / "out").exists()


def test_figure4_report_uses_the_runs_that_stand_for_0_and_100_percent(tmp_path):
    from PIL import Image

    from fssuavl_app.evaluate.reproduction import write_report

    targets = stems_of(["table2", "figure4a"], ["r18"], [0, 30, 100])
    runs = plan(targets, 2, "quick")
    top1 = {"fvssl-r18-simclr": 0.40, "fig4a-r18-audio-on-030pct": 0.50,
            "fssuavl-r18-simclr": 0.60}
    for run in runs:
        (tmp_path / "eval" / run.name).mkdir(parents=True)
        results = [{"protocol": "knn", "task": "shapes", "mode": "V", "round": r,
                    "top1": (0.3 if r == 0 else top1[run.stem]) + 0.01 * run.seed}
                   for r in (0, 5)]
        (tmp_path / "eval" / run.name / "results.json").write_text(
            json.dumps({"results": results}))
    stems = [s for group in targets.values() for s in group]
    report = write_report(tmp_path, targets, runs, canonical_stems(stems, "quick")).read_text()
    figure = report[report.index("### Figure 4a"):]
    # the 0% and 100% rows come from the FVSSL and FSSUAVL runs (same settings, run once)
    for stem, mean in (("000pct", "40.5"), ("030pct", "50.5"), ("100pct", "60.5")):
        assert f"| fig4a-r18-audio-on-{stem} | {mean} ± 0.7" in figure
    assert "![Figure 4](figure4.png)" in report
    width, height = Image.open(tmp_path / "figure4.png").size
    assert width < 1.5 * height  # one panel: Figure 4b was not asked for


def test_an_evaluation_is_redone_when_the_run_went_on_or_the_request_changed(tmp_path,
                                                                          monkeypatch):
    import fssuavl_app.cli.evaluate as evaluate_cli
    from fssuavl_app.cli.reproduce import PlannedRun, evaluate_all

    calls = []

    def fake_evaluate(argv):
        calls.append(argv[argv.index("--rounds") + 1])
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True)
        (out / "results.json").write_text("{}")
        return 0

    monkeypatch.setattr(evaluate_cli, "main", fake_evaluate)
    run = PlannedRun("fssuavl-r18-simclr", 0, "quick")
    run_dir = tmp_path / "runs" / run.name
    run_dir.mkdir(parents=True)

    def checkpoint(r: int) -> None:
        for ext in ("json", "safetensors"):
            (run_dir / f"round-{r:04d}.{ext}").write_text("{}")

    for r in range(6):
        checkpoint(r)
    evaluate_all([run], tmp_path, ["synthetic-shapes"], ["knn"], [])
    evaluate_all([run], tmp_path, ["synthetic-shapes"], ["knn"], [])  # done: skipped
    assert calls == ["0,5"]
    for r in range(6, 11):  # the run was resumed to 10 rounds: round 5's figures are stale
        checkpoint(r)
    evaluate_all([run], tmp_path, ["synthetic-shapes"], ["knn"], [])
    evaluate_all([run], tmp_path, ["synthetic-shapes"], ["knn", "linear"], [])  # more protocols
    assert calls == ["0,5", "0,10", "0,10"]
    assert json.loads((tmp_path / "eval" / run.name / "evaluated.json").read_text())[
        "protocols"] == ["knn", "linear"]


def test_each_architecture_is_compared_with_its_own_untrained_encoder(tmp_path):
    from fssuavl_app.evaluate.reproduction import write_report

    targets = stems_of(["table2"], ["r18", "vit"], [])
    runs = plan(targets, 2, "quick")
    # the ViT starts lower than the ResNet and learns; the ResNet falls below its start
    untrained = {"r18": 0.60, "vit": 0.20}
    trained = {"r18": 0.50, "vit": 0.40}
    for run in runs:
        tag = "vit" if "-vit-" in run.stem else "r18"
        (tmp_path / "eval" / run.name).mkdir(parents=True)
        results = [{"protocol": "knn", "task": "shapes", "mode": "V", "round": r,
                    "top1": (untrained if r == 0 else trained)[tag] + 0.01 * run.seed}
                   for r in (0, 5)]
        (tmp_path / "eval" / run.name / "results.json").write_text(
            json.dumps({"results": results}))
    report = write_report(tmp_path, targets, runs).read_text()
    assert "| untrained encoder (round 0), r18 | 60.5" in report
    assert "| untrained encoder (round 0), vit | 20.5" in report
    assert "| fssuavl-r18-simclr | 50.5 ± 0.7 [" in report  # below its own baseline
    row = next(line for line in report.splitlines() if line.startswith("| fssuavl-r18-simclr"))
    assert row.endswith("† |")
    row = next(line for line in report.splitlines() if line.startswith("| fssuavl-vit-simclr"))
    assert "†" not in row  # above the ViT's own untrained encoder (not the ResNet's 60.5)
    assert json.loads((tmp_path / "report.json").read_text())["untrained"]["vit"]


def test_an_unreachable_superlink_keeps_the_run_in_flight_for_the_next_call(tmp_path):
    from fssuavl_app.cli.reproduce import STATE, PlannedRun, ReproduceError, run_all, wait

    class Unreachable:
        """A SuperLink that took the run and then stopped answering."""

        def __init__(self):
            self.submitted = 0

        def submit(self, run_config):
            self.submitted += 1
            return "77"

        def status(self, run_id):
            return None

        def log_tail(self, run_id):
            return ""

    # one missed poll is not the end of a run: a later answer is waited for
    answers = iter([None, None, "running", "finished:completed"])
    flaky = type("Flaky", (), {"status": lambda self, run_id: next(answers)})()
    assert wait(flaky, "1", tmp_path, lambda m: "", poll=0) == "finished:completed"

    flower = Unreachable()
    run = PlannedRun("fssuavl-r18-simclr", 0, "quick")
    with pytest.raises(ReproduceError, match="ended as unknown"):
        run_all([run], tmp_path, flower, "", None, poll=0)
    # the run may still be going on the SuperLink: the entry stays, so the next call asks
    # about it (and waits while it runs) instead of starting the same run directory twice
    assert json.loads((tmp_path / STATE).read_text()) == {run.name: "77"}
    assert flower.submitted == 1


def test_an_out_that_is_a_file_stops_before_any_run(tmp_path, capsys):
    from fssuavl_app.cli.reproduce import main

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert main(["figure4a", "--seeds", "1", "--out", str(blocked)]) == 2  # was: a traceback
    err = capsys.readouterr().err
    assert "--out: cannot create the folder" in err and "a file of that name" in err
