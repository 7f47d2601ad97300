"""`fssuavl-evaluate`: kNN, linear probe, fine-tuning and audio-visual fusion on saved checkpoints.

Give checkpoints (round-NNNN.json / .safetensors) or run directories (then
--rounds picks last, all, or a list), tasks (--task, see below), protocols
and modes. Everything is checked before any long work starts. Writes
results.json (every figure with its task, protocol, mode, checkpoint and
round), results.md (tables laid out like the paper's), knn-over-rounds.png
(a run directory swept over several rounds) and tsne-*.png (--tsne).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ..core.archs import ARCHS
from .args import above, at_least
from ..core.devices import pick_device
from ..core.inputs import InputPipeline, InputSpec
from ..data import DatasetLayoutError
from ..evaluate import tasks as tasks_mod
from ..evaluate.features import has_batchnorm
from ..evaluate.plots import rounds_plot, tsne_plot
from ..evaluate.probe import ProbeSettings
from ..evaluate.report import markdown, write_json
from ..evaluate.runner import (
    BN_STATS,
    MODES,
    PROTOCOLS,
    Encoders,
    EvalSettings,
    evaluate_task,
    load_split,
    test_features,
)
from ..evaluate.tasks import TaskError, check_unique_names, open_tasks
from ..runs.checkpoint import CheckpointError, list_checkpoints, load_checkpoint
from ..runs.files import make_folder
from ..runs.sources import index_note_lines

logger = logging.getLogger("fssuavl.evaluate")


class EvalError(ValueError):
    """Bad input found before the long work starts."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="fssuavl-evaluate", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1] + "\nTask specs:\n"
                                + tasks_mod.__doc__.split("SPEC forms:\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="checkpoint (.json or .safetensors) or run directory")
    p.add_argument("--task", action="append", required=True, metavar="SPEC",
                   help="task to evaluate on (repeatable), e.g. cifar10=/data/cifar-10-batches-py")
    p.add_argument("--protocol", nargs="+", default=["knn"], choices=PROTOCOLS,
                   help="protocols (default: knn)")
    p.add_argument("--mode", nargs="+", default=list(MODES), choices=list(MODES),
                   help="modes of paired tasks: av (image + its audio), v, a (default: all)")
    p.add_argument("--rounds", default="last",
                   help="for run directories: last (default), all, or a list like 0,10,30")
    p.add_argument("--audio-checkpoint", metavar="PATH",
                   help="two-checkpoint mode (FVSSL+FASSL): audio goes through this checkpoint "
                        "(or the last one of this run directory), images through PATH")
    p.add_argument("--label", help="method name in the tables (default: run directory name)")
    p.add_argument("--out", help="output folder (default: <run dir>/eval-<time>, or ./eval-<time>)")
    p.add_argument("--epochs", type=at_least(1), default=60, help="linear / finetune epochs (60)")
    p.add_argument("--lr", type=above(0.0), default=0.03, help="linear / finetune lr (0.03; x0.1 at "
                   "60%% and 80%% of the epochs)")
    p.add_argument("--batch-size", type=at_least(2), default=256, help="linear / finetune batch (256)")
    p.add_argument("--knn-k", type=at_least(1), default=200, help="kNN neighbours (200)")
    p.add_argument("--knn-t", type=above(0.0), default=0.1, help="kNN temperature (0.1)")
    p.add_argument("--max-samples", type=at_least(0), default=0,
                   help="at most N rows per split and task (seeded subset; 0 = all)")
    p.add_argument("--input-size", type=at_least(16), help="encoder input side (default: the checkpoint's)")
    p.add_argument("--finetune-views", default="train", choices=("train", "none"),
                   help="fine-tuning inputs: train = a random resized crop and flip of each "
                        "image, a random 2 s crop of each clip, new every epoch (default); "
                        "none = the deterministic evaluation inputs")
    p.add_argument("--bn-stats", default="checkpoint", choices=BN_STATS,
                   help="BatchNorm statistics of the kNN and linear features: checkpoint = "
                        "the global model's as trained (default; an average over image and "
                        "audio batches), task = re-estimated on each task's training inputs, per "
                        "modality, each item once (ours; no labels, test inputs unseen). "
                        "Fine-tuning and t-SNE always use the checkpoint's. ViT has no BatchNorm: no effect")
    p.add_argument("--max-clip-seconds", type=above(2.0), default=10.0,
                   help="audio longer than this keeps its centre this long when loaded (10)")
    p.add_argument("--tsne", action="store_true",
                   help="write a t-SNE plot of every evaluated checkpoint (Figures 2-3)")
    p.add_argument("--tsne-points", type=at_least(5), default=300, help="points per dataset in t-SNE")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=at_least(0), default=0)
    return p.parse_args(argv)


def _rounds(run_dir: Path, which: str) -> list[Path]:
    found = dict(list_checkpoints(run_dir))
    if not found:
        raise EvalError(f"{run_dir}: no checkpoint (round-NNNN.json) in this folder")
    if which == "last":
        return [found[max(found)]]
    if which == "all":
        return [found[r] for r in sorted(found)]
    try:
        wanted = [int(r) for r in which.split(",")]
    except ValueError as exc:
        raise EvalError(f"--rounds {which!r}: use last, all, or numbers like 0,10,30") from exc
    missing = [r for r in wanted if r not in found]
    if missing:
        raise EvalError(f"{run_dir}: no checkpoint for round(s) {missing}; have {sorted(found)}")
    return [found[r] for r in wanted]


def checkpoint_files(path: str, rounds: str) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        return _rounds(p, rounds)
    if rounds != "last":
        logger.warning("--rounds %s applies to run directories; %s is one checkpoint, "
                       "evaluated as it is", rounds, path)
    if p.suffix in (".json", ".safetensors") and p.with_suffix(".json").is_file():
        return [p.with_suffix(".json")]
    if p.suffix == ".safetensors" and p.is_file():
        raise EvalError(f"{path}: weights without their {p.with_suffix('.json').name} (the "
                        "half that says what they are); copy both files of a checkpoint")
    raise EvalError(f"{path}: neither a checkpoint (round-NNNN.json) nor a run directory")


def check_checkpoint(path: Path) -> dict:
    """Load and rebuild the model once, so a bad checkpoint stops us now; its description."""
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        raise EvalError(str(exc)) from exc
    if ckpt.model_args.arch not in ARCHS:
        raise EvalError(f"{path}: architecture {ckpt.model_args.arch!r} is not one this version "
                        f"can rebuild ({', '.join(ARCHS)})")
    try:
        ckpt.build_model()
    except RuntimeError as exc:
        raise EvalError(f"{path}: its weights do not fit a {ckpt.model_args.arch} "
                        f"({str(exc).splitlines()[0]})") from exc
    except ValueError as exc:  # model args the architecture refuses (an input size)
        raise EvalError(f"{path}: its model_args cannot build a {ckpt.model_args.arch} "
                        f"({exc})") from exc
    return {"path": path, "round": ckpt.round, "arch": ckpt.model_args.arch,
            "input_size": ckpt.model_args.input_size,
            "run_config": ckpt.run_config, "audio_spec": ckpt.audio_spec}


def check_input_size(ckpt: dict, input_size: int | None) -> None:
    """`--input-size` must suit the checkpoint's architecture (a ViT keeps the size it was
    trained at: one position embedding per patch)."""
    if input_size is None or input_size == ckpt["input_size"]:
        return
    arch = ARCHS[ckpt["arch"]]
    if arch.fixed_input:
        raise EvalError(f"{ckpt['path']}: a {arch.name} checkpoint serves only the "
                        f"{ckpt['input_size']}x{ckpt['input_size']} inputs it was trained at; "
                        f"{input_size}x{input_size} (--input-size, or the image checkpoint's "
                        "size) cannot change that")
    try:
        arch.check_input_size(input_size)
    except ValueError as exc:
        raise EvalError(f"--input-size {input_size}: {exc}") from exc


def plan(args: argparse.Namespace) -> tuple[list[tuple[str, dict, dict | None]], list]:
    """(label, image checkpoint, audio checkpoint or None) per model, and the tasks."""
    audio = None
    if args.audio_checkpoint:
        audio = check_checkpoint(checkpoint_files(args.audio_checkpoint, "last")[-1])
    models = []
    for path in args.paths:
        files = checkpoint_files(path, args.rounds)
        base = args.label or (Path(path).name if Path(path).is_dir() else Path(path).parent.name)
        for f in files:
            ckpt = check_checkpoint(f)
            check_input_size(ckpt, args.input_size)
            if audio:  # both go through the one input pipeline, at the image checkpoint's size
                check_input_size(audio, args.input_size or ckpt["input_size"])
            if audio and ARCHS[audio["arch"]].feature_dim != ARCHS[ckpt["arch"]].feature_dim:
                raise EvalError(f"{f} ({ckpt['arch']}) and {audio['path']} ({audio['arch']}) "
                                "give features of different sizes; they cannot share a head")
            label = f"{base} + {audio['path'].parent.name}" if audio else base
            models.append((label, ckpt, audio))
    tasks = []
    for spec in args.task:
        try:
            tasks += open_tasks(spec, models[0][1]["run_config"], args.seed,
                                max(128, args.input_size or 0))
        except (TaskError, DatasetLayoutError) as exc:
            raise EvalError(f"--task {spec}: {exc}") from exc
    try:
        check_unique_names(tasks)  # was: a task scored twice, one row of the tables shown
    except TaskError as exc:
        raise EvalError(str(exc)) from exc
    for t in tasks:
        if len(t.classes) < 2:
            raise EvalError(f"task {t.name} has {len(t.classes)} class; nothing to classify")
        for line in index_note_lines(t.sources):  # what the readers left out, as flwr run logs
            logger.warning("task %s: %s", t.name, line)
    return models, tasks


def build_encoders(label: str, image: dict, audio: dict | None, device) -> Encoders:
    img_model = load_checkpoint(image["path"]).build_model().to(device)
    aud_model = load_checkpoint(audio["path"]).build_model().to(device) if audio else img_model
    return Encoders({"image": img_model, "audio": aud_model}, label, image["round"],
                    {"image": str(image["path"]), "audio": str((audio or image)["path"])},
                    image["arch"])


def output_dir(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    first = Path(args.paths[0])
    return (first if first.is_dir() else Path(".")) / f"eval-{stamp}"


def run(args: argparse.Namespace) -> Path:
    models, tasks = plan(args)
    device = pick_device(args.device)
    settings = EvalSettings(
        protocols=tuple(dict.fromkeys(args.protocol)), modes=tuple(dict.fromkeys(args.mode)),
        knn_k=args.knn_k, knn_t=args.knn_t, max_samples=args.max_samples, seed=args.seed,
        probe=ProbeSettings(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                            seed=args.seed), finetune_views=args.finetune_views,
        bn_stats=args.bn_stats)
    keep_views = "finetune" in settings.protocols and settings.finetune_views == "train"
    tasks = [t.subset(args.max_samples, args.seed) for t in tasks]
    out = make_folder(output_dir(args), lambda why: EvalError(f"--out: {why}"))
    logger.info("Evaluating %d model(s) on %d task(s) with %s on %s; output in %s", len(models),
                len(tasks), ", ".join(settings.protocols), device, out)
    inputs_cache: dict[tuple, dict] = {}
    results, plots = [], []
    for label, image, audio in models:
        enc = build_encoders(label, image, audio, device)
        if settings.bn_stats == "task":
            logger.info("%s: kNN / linear features with BatchNorm statistics re-estimated on "
                        "each task's training inputs (--bn-stats task)%s", label,
                        "" if any(has_batchnorm(m) for m in enc.models.values())
                        else "; this model has no BatchNorm, so nothing changes")
        spec = (audio or image)["audio_spec"]
        size = args.input_size or enc.models["image"].args.input_size
        pipeline = InputPipeline(InputSpec(input_size=size, audio=spec), device)
        tsne_groups = {}
        for i, task in enumerate(tasks):
            key = (i, tuple(sorted(spec.to_dict().items())))
            if key not in inputs_cache:
                try:
                    inputs_cache[key] = {s: load_split(task, s, pipeline, args.max_clip_seconds,
                                                       keep_views and s == "train")
                                         for s in ("train", "test")}
                except ValueError as exc:  # e.g. every file of a split is bad
                    raise EvalError(f"task {task.name}: {exc}") from exc
            data = inputs_cache[key]
            results += evaluate_task(enc, task, data, pipeline, settings, device)
            if args.tsne:
                tsne_groups.update(test_features(enc, task, data, pipeline, args.tsne_points,
                                                 args.seed))
        if tsne_groups:
            name = f"tsne-{_slug(label)}-round{enc.round}.png"
            plots.append(tsne_plot(tsne_groups, out / name,
                                   f"t-SNE of {label} features (round {enc.round})", args.seed))
    plots += _rounds_plots(results, out)
    meta = {"models": [{"label": m[0], "image-checkpoint": str(m[1]["path"]),
                        "audio-checkpoint": str((m[2] or m[1])["path"]), "round": m[1]["round"]}
                       for m in models],
            "tasks": [t.name for t in tasks], "settings": _settings_dict(settings),
            "device": str(device), "plots": [p.name for p in plots]}
    write_json(results, out / "results.json", meta)
    table = markdown(results)
    (out / "results.md").write_text(table)
    print(table)
    print(f"Wrote {out / 'results.json'}, {out / 'results.md'}"
          + "".join(f", {p}" for p in plots))
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60]


def _settings_dict(s: EvalSettings) -> dict:
    from dataclasses import asdict
    return asdict(s)


def _rounds_plots(results: list[dict], out: Path) -> list[Path]:
    """knn-over-rounds.png per method evaluated at more than one round."""
    plots = []
    for method in dict.fromkeys(r["method"] for r in results):
        knn = [r for r in results if r["method"] == method and r["protocol"] == "knn"]
        if len({r["round"] for r in knn}) < 2:
            continue
        series: dict[str, list] = {}
        for r in knn:
            series.setdefault(f"{r['task']} {r['mode']}", []).append((r["round"], r["top1"]))
        name = "knn-over-rounds.png" if len(plots) == 0 else f"knn-over-rounds-{_slug(method)}.png"
        plots.append(rounds_plot(series, out / name, f"kNN top-1 over rounds: {method}"))
    return plots


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        run(args)
    except EvalError as exc:
        print(f"fssuavl-evaluate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
