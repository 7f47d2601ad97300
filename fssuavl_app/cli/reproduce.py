"""`fssuavl-reproduce`: one command per table and figure of the paper.

    fssuavl-reproduce table6 --scale quick --seeds 3
    fssuavl-reproduce table2 table3 --scale paper --seeds 3 \\
        --set "image-dataset='tiny-imagenet' image-root='/data/tiny-imagenet-200' \\
               audio-dataset='vggsound' audio-root='/data/vggsound'" \\
        --task tiny-imagenet=/data/tiny-imagenet-200 --task cifar10=/data/cifar-10-batches-py

For every preset the targets need and every seed it runs `flwr run` with the
preset, the seed, a run name and your `--set` keys in one run config, then
`fssuavl-evaluate` on the first (untrained: the baseline) and last round of
each run, then writes `report.md` (the paper's layout, mean ± std and the 95%
t interval over seeds, the untrained encoder as a baseline row, paired t-tests
between the methods each table compares) and `figure4.png` for Figure 4.

It can be stopped and called again: finished runs and evaluations are
skipped, a run that was stopped is resumed, and a run still in flight on the
SuperLink (the command was killed) is waited for. `--dry-run` prints the plan.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ..runs.checkpoint import list_checkpoints
from ..runs.clock import duration
from ..runs.config import ConfigError
from ..runs.files import make_folder, write_json_atomic
from ..runs.presets import (ARCH_TAGS, FIG4_SHARES, SCALES, TARGETS, experiments,
                             preset_values, toml_value)
from ..runs.rundir import read_metrics
from .args import at_least

STATE = "inflight.json"
QUICK_TASKS = ("synthetic-shapes", "synthetic-sounds", "synthetic-pairs")


class ReproduceError(RuntimeError):
    """A run or an evaluation failed, or the plan is not possible."""


@dataclass(frozen=True)
class PlannedRun:
    stem: str
    seed: int
    scale: str

    @property
    def name(self) -> str:
        return f"{self.scale}-{self.stem}-s{self.seed}"


def stems_of(targets: list[str], archs: list[str], shares: list[int] | None = None
             ) -> dict[str, list[str]]:
    """{target: its preset stems}; a target may also be a preset stem itself. `shares` keeps
    only those Figure 4 shares (%)."""
    known, out = experiments(), {}
    unknown = sorted(set(shares or ()) - set(FIG4_SHARES))
    if unknown:
        raise ReproduceError(f"--shares {' '.join(map(str, unknown))}: Figure 4 has the shares "
                             f"{' '.join(map(str, FIG4_SHARES))} (%)")
    for target in targets:
        if target in TARGETS:
            stems = [s.format(a=a) for s in TARGETS[target][1] for a in archs
                     if s.format(a=a) in known]
            if shares is not None:
                stems = [s for s in stems if not s.startswith("fig4")
                         or int(s.rsplit("-", 1)[1][:3]) in shares]
            out[target] = list(dict.fromkeys(stems))
        elif target in known:
            out[target] = [target]
        else:
            raise ReproduceError(f"unknown target {target!r}: use {', '.join(TARGETS)} or a preset "
                                 f"({', '.join(known)})")
    return out


def canonical_stems(stems: list[str], scale: str) -> dict[str, str]:
    """{stem: the first stem with the same settings}: presets that are the same run (Figure
    4's 0% share is FVSSL, its 100% FSSUAVL) are run once."""
    from ..runs.presets import preset_values

    first: dict[frozenset, str] = {}
    return {s: first.setdefault(frozenset(preset_values(f"{scale}/{s}").items()), s)
            for s in stems}


def plan(targets: dict[str, list[str]], seeds: int, scale: str) -> list[PlannedRun]:
    stems = list(dict.fromkeys(s for group in targets.values() for s in group))
    canonical = dict.fromkeys(canonical_stems(stems, scale).values())
    return [PlannedRun(stem, seed, scale) for stem in canonical for seed in range(seeds)]


# ---------------------------------------------------------------- running through flwr


class Flower:
    """`flwr` CLI calls against one SuperLink connection (Flower's default when None)."""

    def __init__(self, app: Path, connection: str | None, federation: str):
        self.app, self.connection, self.federation = app, connection, federation
        self.env = dict(os.environ)
        self.env.setdefault("FLWR_HOME", str(app / ".flwr"))
        self.env.setdefault("FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION", "1")

    def _call(self, command: str, positional: list[str], options: list[str],
              timeout: float = 300) -> subprocess.CompletedProcess:
        """`flwr COMMAND POSITIONAL... [CONNECTION] OPTIONS...`."""
        conn = [self.connection] if self.connection else []
        return subprocess.run(["flwr", command, *positional, *conn, *options], env=self.env,
                              text=True, capture_output=True, timeout=timeout)

    def submit(self, run_config: str) -> str:
        done = self._call("run", [str(self.app)], ["--format", "json", "--run-config",
                                                   run_config, "--federation-config",
                                                   self.federation])
        try:
            return str(json.loads(done.stdout)["run-id"])
        except (ValueError, KeyError) as exc:
            raise ReproduceError(f"flwr run failed:\n{done.stdout}\n{done.stderr}") from exc

    def status(self, run_id: str) -> str | None:
        """`finished:completed`, ... or None when the SuperLink does not know the run."""
        try:
            done = self._call("list", [], ["--run-id", run_id, "--format", "json"])
            return json.loads(done.stdout)["runs"][0]["status"]
        except (ValueError, KeyError, IndexError, subprocess.TimeoutExpired):
            return None

    def log_tail(self, run_id: str, chars: int = 3000) -> str:
        return self._call("log", [run_id], ["--show"]).stdout[-chars:]

    def stop(self, run_id: str) -> None:
        self._call("stop", [run_id], [])


def last_round(run_dir: Path) -> int:
    found = list_checkpoints(run_dir)
    return found[-1][0] if found else -1


def run_config_text(run: PlannedRun, runs_dir: Path, extra: str, resume: bool) -> str:
    """The `--run-config` string of `run`: its preset's keys one by one, then this tool's keys,
    then `extra` (`--set` and `--rounds`, checked by `checked_set`).

    Not `preset='...'`: the app cannot tell a key set to its default value from one left
    alone (Flower merges the two), so `preset=quick/X num-server-rounds=20` would keep the
    preset's 10 rounds where 20 is the default. Spelled out, every key means what it says.
    """
    from .config import parse_override

    own = {"seed": run.seed, "output-dir": str(runs_dir), "run-name": run.name}
    if resume:
        own["resume"] = str(runs_dir / run.name)
    keys = {**preset_values(f"{run.scale}/{run.stem}"), **own, **parse_override(extra)}
    return " ".join(f"{key}={toml_value(value)}" for key, value in keys.items())


# keys fssuavl-reproduce sets itself, and the option that sets them
OWN_KEYS = MappingProxyType({"preset": "a target", "seed": "--seeds", "output-dir": "--out",
                             "run-name": "the preset and seed", "resume": "a call again"})


def checked_set(text: str, runs: list[PlannedRun], rounds: int | None, app: Path) -> None:
    """Refuse `--set` text that Flower cannot parse, that names a key this tool sets, or
    that makes a planned run's config invalid (an unknown key, a bad value, a missing
    data root): each run's config is built as `flwr run` will (the app's pyproject.toml,
    then the one override string), before any run starts, also for --dry-run."""
    from .config import config_from_cli, parse_override

    if text.strip().endswith(".toml"):
        raise ReproduceError(f"--set {text!r}: a TOML file cannot be merged with the keys "
                             "fssuavl-reproduce sets; give its keys as 'key=value ...'")
    try:
        values = parse_override(text)
    except ConfigError as exc:  # its message quotes the text
        raise ReproduceError(f"--set: {exc}") from exc
    own = dict(OWN_KEYS, **({"num-server-rounds": "--rounds"} if rounds else {}))
    for key in values:
        if key in own:
            raise ReproduceError(f"--set names {key!r}, which fssuavl-reproduce sets from "
                                 f"{own[key]}; leave it out of --set")
    for run in runs:
        full = run_config_text(run, Path("/checked-set"), text, resume=False)
        try:
            config_from_cli([full], app)
        except ConfigError as exc:
            raise ReproduceError(f"{run.name} with --set {text!r}: {exc}") from exc


def rounds_of(run: PlannedRun, extra_rounds: int | None) -> int:
    from ..runs.presets import preset_values

    return extra_rounds or int(preset_values(f"{run.scale}/{run.stem}")["num-server-rounds"])


class Progress:
    """Run i of n, round r of R, ETA of the run and of the plan (from the rounds timed so far)."""

    def __init__(self, total_rounds: int):
        self.total_rounds, self.done_rounds, self.started = total_rounds, 0, time.monotonic()
        self.timed_rounds, self.timed_seconds = 0, 0.0

    def line(self, i: int, n: int, run: PlannedRun, rounds: int, metrics: list[dict]) -> str:
        at = metrics[-1]["round"] if metrics else 0
        per_round = (self.timed_seconds + sum(m.get("round-seconds", 0) for m in metrics)) / max(
            1, self.timed_rounds + sum(1 for m in metrics if m.get("round-seconds")))
        run_eta = (rounds - at) * per_round
        plan_eta = (self.total_rounds - self.done_rounds - at) * per_round
        known = self.timed_rounds or any(m.get("round-seconds") for m in metrics)
        return (f"[run {i}/{n}] {run.scale}/{run.stem} seed {run.seed}: round {at}/{rounds}"
                + (f", ETA run {duration(run_eta)}, plan {duration(plan_eta)}" if known else ""))

    def finished(self, rounds: int, metrics: list[dict]) -> None:
        self.done_rounds += rounds
        timed = [m["round-seconds"] for m in metrics if m.get("round-seconds")]
        self.timed_rounds += len(timed)
        self.timed_seconds += sum(timed)


def run_all(runs: list[PlannedRun], out: Path, flower: Flower, extra: str,
            rounds_override: int | None, poll: float = 5.0) -> None:
    """Every planned run to its last round: skip the finished, wait for the in-flight, resume
    the stopped, start the rest; progress and ETA on the way."""
    runs_dir = (out / "runs").resolve()
    state_path = out / STATE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    totals = {r.name: rounds_of(r, rounds_override) for r in runs}
    progress = Progress(sum(totals.values()))
    for i, run in enumerate(runs, 1):
        run_dir, rounds = runs_dir / run.name, totals[run.name]
        if last_round(run_dir) >= rounds:
            print(f"[run {i}/{len(runs)}] {run.name}: done ({rounds} rounds), skipped", flush=True)
            progress.finished(rounds, [])
            continue
        run_id = state.get(run.name)
        if run_id is not None and not (flower.status(run_id) or "finished").startswith("finished"):
            print(f"[run {i}/{len(runs)}] {run.name}: still in flight as run {run_id}; waiting",
                  flush=True)
        else:
            resume = last_round(run_dir) >= 0
            print(f"[run {i}/{len(runs)}] {run.name}: "
                  + (f"resuming after round {last_round(run_dir)}" if resume else "starting"),
                  flush=True)
            run_id = flower.submit(run_config_text(run, runs_dir, extra, resume))
            state[run.name] = run_id
            write_json_atomic(state_path, state)
        try:
            status = wait(flower, run_id, run_dir, lambda m: progress.line(
                i, len(runs), run, rounds, m), poll)
        except KeyboardInterrupt:
            flower.stop(run_id)
            state.pop(run.name, None)
            write_json_atomic(state_path, state)
            raise
        if status.startswith("finished"):  # else the SuperLink may still run it: the next call
            state.pop(run.name, None)       # checks again instead of starting it twice
            write_json_atomic(state_path, state)
        if status != "finished:completed" or last_round(run_dir) < rounds:
            raise ReproduceError(f"{run.name} ended as {status} at round {last_round(run_dir)}; "
                                 f"its ServerApp log ends:\n{flower.log_tail(run_id)}")
        progress.finished(rounds, read_metrics(run_dir))


def wait(flower: Flower, run_id: str, run_dir: Path, line, poll: float, misses: int = 12
         ) -> str:
    """Poll until the run finishes, printing a progress line whenever a round lands; "unknown"
    after `misses` polls in a row that got no status (SuperLink unreachable or restarted)."""
    shown, missed = None, 0
    while True:
        status = flower.status(run_id)
        missed = missed + 1 if status is None else 0
        metrics = read_metrics(run_dir) if (run_dir / "metrics.jsonl").exists() else []
        text = line(metrics)
        if text != shown:
            print(text, flush=True)
            shown = text
        if missed >= misses:
            return "unknown"
        if status is not None and status.startswith("finished"):
            return status
        time.sleep(poll)


# ---------------------------------------------------------------- evaluation and report


def check_tasks(tasks: list[str]) -> None:
    """Open every evaluation task now, so a wrong spec stops us before hours of runs."""
    from ..data import DatasetLayoutError
    from ..evaluate.tasks import TaskError, check_unique_names, open_tasks

    opened = []
    for spec in tasks:
        try:
            opened += open_tasks(spec, {})
        except (TaskError, DatasetLayoutError, ValueError) as exc:
            raise ReproduceError(f"--task {spec}: {exc}") from exc
    try:
        check_unique_names(opened)  # fssuavl-evaluate refuses them too, but after the runs
    except TaskError as exc:
        raise ReproduceError(str(exc)) from exc


def evaluate_all(runs: list[PlannedRun], out: Path, tasks: list[str], protocols: list[str],
                 eval_args: list[str]) -> None:
    """fssuavl-evaluate on round 0 and the last round of every run (skipped when done)."""
    from .evaluate import main as evaluate_main

    for i, run in enumerate(runs, 1):
        run_dir = out / "runs" / run.name
        target = out / "eval" / run.name
        # what this evaluation must have scored: a run resumed to more rounds, or other tasks,
        # protocols or options, make an earlier evaluation stale
        request = {"rounds": [0, last_round(run_dir)], "tasks": tasks, "protocols": protocols,
                   "eval-args": eval_args}
        if _evaluated(target) == request:
            continue
        print(f"[eval {i}/{len(runs)}] {run.name}: {', '.join(protocols)} on "
              f"{', '.join(tasks)}", flush=True)
        tmp = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        code = evaluate_main([str(run_dir), "--rounds", f"0,{last_round(run_dir)}",
                              "--label", run.stem, "--out", str(tmp),
                              "--protocol", *protocols, *sum((["--task", t] for t in tasks), []),
                              *eval_args])
        if code != 0:
            raise ReproduceError(f"fssuavl-evaluate failed on {run_dir} (exit {code})")
        (tmp / EVALUATED).write_text(json.dumps(request))
        shutil.rmtree(target, ignore_errors=True)  # a stale evaluation
        tmp.replace(target)


EVALUATED = "evaluated.json"  # beside results.json: the request it answers


def _evaluated(target: Path) -> dict | None:
    """The request an earlier evaluation answered (None: none, or from before the stamp)."""
    try:
        return json.loads((target / EVALUATED).read_text()) if (target / "results.json"
                                                                ).exists() else None
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fssuavl-reproduce", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1]
                                + "\nTargets: " + ", ".join(f"{k} ({v[0]})" for k, v in
                                                            TARGETS.items()),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="table2 .. table7, figure4, or a preset name (fssuavl-config --presets)")
    p.add_argument("--scale", default="quick", choices=tuple(SCALES),
                   help="quick (CPU, built-in data), cpu (CPU, your data), paper (the paper's)")
    p.add_argument("--seeds", type=at_least(1), default=3, help="seeds 0..N-1 per preset (3)")
    p.add_argument("--arch", nargs="+", default=["r18"], choices=ARCH_TAGS,
                   help="architectures of the tables (default r18; the paper also has vit)")
    p.add_argument("--shares", nargs="+", type=at_least(0), default=None, metavar="PCT",
                   help="Figure 4: only these shares of clients holding both (default all: 0 10 "
                        "30 50 70 100)")
    p.add_argument("--set", default="", metavar="'k=v ...'",
                   help="run-config keys for every run: data roots, anything the preset leaves")
    p.add_argument("--task", action="append", default=[], metavar="SPEC",
                   help="evaluation task (fssuavl-evaluate --task); quick scale default: the "
                        "built-in shapes, sounds and pairs")
    p.add_argument("--protocol", nargs="+", default=["knn", "linear"],
                   choices=("knn", "linear", "finetune"), help="evaluation protocols")
    p.add_argument("--eval-args", default="", help="more fssuavl-evaluate options, e.g. "
                   "'--max-samples 2000 --epochs 30'")
    p.add_argument("--federation-config", default=None,
                   help="passed to flwr run (default: num-supernodes of the scale, 1 CPU each)")
    p.add_argument("--superlink", default=None,
                   help="flwr SuperLink connection name (default: Flower's local one)")
    p.add_argument("--out", default="reproduce", help="output folder (default ./reproduce)")
    p.add_argument("--app", default=".", help="the app folder (default .)")
    p.add_argument("--rounds", type=at_least(1), default=None,
                   help="override every preset's num-server-rounds (for a short try)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    args = p.parse_args(argv)
    try:
        targets = stems_of(args.targets, args.arch, args.shares)
    except ReproduceError as exc:
        print(f"fssuavl-reproduce: error: {exc}", file=sys.stderr)
        return 2
    runs = plan(targets, args.seeds, args.scale)
    if not runs:
        print(f"fssuavl-reproduce: error: {' '.join(args.targets)} with --arch "
              f"{' '.join(args.arch)} plans no run", file=sys.stderr)
        return 2
    tasks = args.task or (list(QUICK_TASKS) if args.scale == "quick" else [])
    if not tasks:
        p.error("--task is needed for this scale (the datasets to evaluate on)")
    extra = args.set + (f" num-server-rounds={args.rounds}" if args.rounds else "")
    federation = args.federation_config or \
        f"num-supernodes={SCALES[args.scale]['clients']} client-resources-num-cpus=1"
    out = Path(args.out).resolve()
    print(f"Plan: {len(runs)} runs ({len(set(r.stem for r in runs))} presets x {args.seeds} "
          f"seeds, {args.scale} scale), then {', '.join(args.protocol)} on "
          f"{', '.join(tasks)}; output {out}")
    for run in runs:
        done = last_round(out / "runs" / run.name)
        print(f"  {run.name}" + (f" (has round {done})" if done >= 0 else ""))
    try:
        check_tasks(tasks)
        checked_set(args.set, runs, args.rounds, Path(args.app).resolve())
        if not args.dry_run:
            make_folder(out, lambda why: ReproduceError(f"--out: {why}"))
    except ReproduceError as exc:
        print(f"fssuavl-reproduce: error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        return 0
    flower = Flower(Path(args.app).resolve(), args.superlink, federation)
    started = time.monotonic()
    try:
        run_all(runs, out, flower, extra, args.rounds)
        evaluate_all(runs, out, tasks, args.protocol, args.eval_args.split())
        from ..evaluate.reproduction import write_report

        stems = [s for group in targets.values() for s in group]
        report = write_report(out, targets, runs, canonical_stems(stems, args.scale))
    except ReproduceError as exc:
        print(f"fssuavl-reproduce: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fssuavl-reproduce: interrupted; the run in flight was stopped. Call again to "
              "resume.", file=sys.stderr)
        return 130
    print(f"Done in {duration(time.monotonic() - started)}. Report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
