"""Downstream tasks: what `fssuavl-evaluate --task SPEC` names, with aligned labels.

SPEC forms:
  NAME=ROOT                 any dataset the readers support (`fssuavl-data list`);
                            `esc50=ROOT` expands to its 5 folds (esc50-fold1..5)
  advance=ROOT              paired ADVANCE: each aerial image with its sound
  mnist+fsdd=MNIST,FSDD     paired as in the paper: every FSDD clip with an MNIST
                            image of the same digit (train 2700 / test 300)
  IMAGES+AUDIO=ROOT1,ROOT2  any image dataset and audio dataset with the same class
                            names, paired by label the same way (e.g.
                            image-folder+audio-folder=/data/digits,/data/spoken)
  ALIAS:SPEC                the same task named ALIAS in the tables (e.g.
                            fmnist:image-folder=/data/fashion)
  synthetic-shapes, synthetic-sounds, synthetic-pairs
                            the built-in data of the checkpoint's run (pairs: each
                            sound with a shape of the same class index)
  A one-root ROOT may hold commas; of two roots holding commas, the split is
  at the one comma that leaves two existing folders.

A task lists, per split, aligned positions into one source per modality and
one label per row: a unimodal task has one modality, a paired task both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.modalities import NAMES
from ..data import (
    Builtin,
    Source,
    advance_pair,
    dataset_infos,
    esc50_folds,
    open_dataset,
    seeded_subset,
)

PAIRED = ("advance", "mnist+fsdd", "synthetic-pairs")


class TaskError(ValueError):
    """A task spec that cannot be served (unknown name, missing root, ...)."""


@dataclass
class Task:
    name: str
    classes: list[str]
    sources: dict[str, Source]  # modality -> reader; both for paired tasks
    rows: dict[str, dict[str, np.ndarray]]  # split -> modality -> positions in that split
    labels: dict[str, np.ndarray]  # split -> (N,) int64

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in NAMES if m in self.sources)

    @property
    def paired(self) -> bool:
        return len(self.sources) == 2

    def subset(self, max_rows: int, seed: int) -> "Task":
        """The same task with at most `max_rows` rows per split (seeded; 0 = all)."""
        rows, labels = {}, {}
        for split, lab in self.labels.items():
            keep = seeded_subset(len(lab), max_rows, seed)
            rows[split] = {m: r[keep] for m, r in self.rows[split].items()}
            labels[split] = lab[keep]
        return Task(self.name, self.classes, self.sources, rows, labels)


def unimodal_task(name: str, source: Source) -> Task:
    rows = {s: {source.modality: np.arange(len(source.labels(s)))} for s in ("train", "test")}
    return Task(name, list(source.classes), {source.modality: source}, rows,
                {s: source.labels(s) for s in ("train", "test")})


def pair_by_label(image_labels: np.ndarray, audio_labels: np.ndarray, seed: int,
                  classes: Sequence[str] = (), where: str = "") -> np.ndarray:
    """For each audio item, the position of an image of the same label: within a label,
    the k-th clip gets the k-th image of a seeded permutation (cycling if images run out).
    `classes` and `where` (e.g. "task/test") only name what is missing in the error."""
    out = np.zeros(len(audio_labels), dtype=np.int64)
    rng = np.random.default_rng([seed, 505])
    for label in np.unique(audio_labels):
        images = rng.permutation(np.flatnonzero(image_labels == label))
        clips = np.flatnonzero(audio_labels == label)
        if len(images) == 0:
            named = f"class {classes[label]!r}" if label < len(classes) else f"label {label}"
            raise TaskError(f"{where + ': ' if where else ''}no image of {named} to pair with "
                            f"its {len(clips)} audio clip(s)")
        out[clips] = images[np.arange(len(clips)) % len(images)]
    return out


def paired_by_label_task(name: str, images: Source, audio: Source, seed: int,
                         same_names: bool = True) -> Task:
    """Each audio item of a split paired with an image of the same label from that split.

    With `same_names` the two class lists must agree (MNIST and FSDD digits);
    otherwise classes pair by index and are named "image-class/audio-class".
    """
    if same_names and list(images.classes) != list(audio.classes):
        raise TaskError(f"{name}: image classes {list(images.classes)[:5]} and audio classes "
                        f"{list(audio.classes)[:5]} differ; cannot pair by label")
    rows, labels = {}, {}
    for split in ("train", "test"):
        a_lab = audio.labels(split)
        rows[split] = {"image": pair_by_label(images.labels(split), a_lab, seed,
                                              audio.classes, f"{name}/{split}"),
                       "audio": np.arange(len(a_lab))}
        labels[split] = a_lab
    classes = (list(audio.classes) if same_names else
               [f"{i}/{a}" for i, a in zip(images.classes, audio.classes, strict=True)])
    return Task(name, classes, {"image": images, "audio": audio}, rows, labels)


def paired_by_id_task(name: str, images: Source, audio: Source) -> Task:
    """Readers that list the same ids in the same order (ADVANCE): row i pairs item i."""
    rows, labels = {}, {}
    for split in ("train", "test"):
        if images.item_ids(split) != audio.item_ids(split):
            raise TaskError(f"{name}: image and sound ids differ in the {split} split")
        n = len(images.labels(split))
        rows[split] = {"image": np.arange(n), "audio": np.arange(n)}
        labels[split] = images.labels(split)
    return Task(name, list(images.classes), {"image": images, "audio": audio}, rows, labels)


def _split_spec(spec: str) -> tuple[str, str]:
    """(task name, the text after '=', stripped)."""
    name, _, roots = spec.partition("=")
    return name.strip(), roots.strip()


def _roots(text: str, count: int) -> list[str]:
    """The `count` roots in `text`. One root is the whole text, commas and all (a trailing
    comma dropped); two are split at the comma, or, when a path holds commas too, at the one
    comma that leaves two existing folders. Otherwise every comma splits, and
    `_need_roots` says what to pass."""
    text = text.strip()
    if count == 1 and _is_dir(text):  # a folder whose name ends in a comma is that folder
        return [text]
    text = text.rstrip(",").strip()
    if not text:
        return []
    parts = text.split(",")
    cuts = [(",".join(parts[:k]).strip(), ",".join(parts[k:]).strip())
            for k in range(1, len(parts))]
    folders = [c for c in cuts if all(_is_dir(r) for r in c)]
    if count == 1:  # two folders given to a one-root task are two roots (an error)
        return list(folders[0]) if folders and not _is_dir(text) else [text]
    if len(parts) > 2 and len(folders) == 1:
        return list(folders[0])
    return [r.strip() for r in parts if r.strip()]


def _is_dir(root: str) -> bool:
    return Path(root).expanduser().is_dir()


def _need_roots(name: str, roots: list[str], count: int, example: str) -> None:
    if len(roots) != count:
        raise TaskError(f"task {name!r} needs {count} root(s), got {len(roots)}: --task "
                        f"{example}" + (" (roots that hold commas: the split must leave two "
                                        "existing folders)" if count == 2 else ""))
    for root in roots:
        if not _is_dir(root):
            raise TaskError(f"task {name!r}: root {root} is not a folder")


def check_unique_names(tasks: list[Task]) -> None:
    """Refuse two tasks of one name: both would be scored and one row would hide the other."""
    names = [t.name for t in tasks]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise TaskError(f"task {', '.join(map(repr, twice))} given more than once; give each "
                        "a name of its own with ALIAS:SPEC (e.g. --task cifar10-b:cifar10=/b)")


def open_tasks(spec: str, run_config: dict, seed: int = 0, image_side: int = 128) -> list[Task]:
    """The task(s) one SPEC names (esc50 gives five); errors say what to pass."""
    head, sep, rest = spec.partition(":")
    if sep and "=" not in head and head.strip():
        tasks = open_tasks(rest, run_config, seed, image_side)
        alias = head.strip()
        return [Task(alias if len(tasks) == 1 else f"{alias}-{t.name}", t.classes, t.sources,
                     t.rows, t.labels) for t in tasks]
    name, text = _split_spec(spec)
    builtin = Builtin(int(run_config.get("seed", 0)),
                      int(run_config.get("synthetic-train-per-class", 300)),
                      int(run_config.get("synthetic-test-per-class", 50)))
    infos = {i.name: i for i in dataset_infos()}
    if text and (name == "synthetic-pairs" or (name in infos and not infos[name].needs_root)):
        raise TaskError(f"task {name!r} is built in and takes no root; pass --task {name}")
    if name == "synthetic-pairs":
        return [paired_by_label_task(name, open_dataset("synthetic-shapes", builtin=builtin),
                                     open_dataset("synthetic-sounds", builtin=builtin), seed,
                                     same_names=False)]
    roots = _roots(text, 2 if "+" in name else 1)
    if name == "advance":
        _need_roots(name, roots, 1, "advance=/data/ADVANCE")
        return [paired_by_id_task(name, *advance_pair(roots[0], image_side))]
    if "+" in name:
        images, audio = (part.strip() for part in name.split("+", 1))
        _need_roots(name, roots, 2, f"{name}=/data/{images},/data/{audio}")
        for dataset, wanted in zip((images, audio), NAMES, strict=True):  # image, then audio
            if dataset not in infos or infos[dataset].modality != wanted:
                raise TaskError(f"task {name!r}: {dataset!r} is not an {wanted} dataset "
                                "(IMAGES+AUDIO=ROOT1,ROOT2)")
        return [paired_by_label_task(name, open_dataset(images, roots[0], image_side),
                                     open_dataset(audio, roots[1]), seed)]
    if name == "esc50":
        _need_roots(name, roots, 1, "esc50=/data/ESC-50-master")
        return [unimodal_task(f"esc50-fold{k}", fold) for k, fold in esc50_folds(roots[0])]
    if name in infos and not infos[name].needs_root:
        return [unimodal_task(name, open_dataset(name, builtin=builtin))]
    if name in infos:
        _need_roots(name, roots, 1, f"{name}=/path/to/{name}")
        return [unimodal_task(name, open_dataset(name, roots[0], image_side))]
    known = ", ".join([*PAIRED, *infos])
    raise TaskError(f"unknown task {name!r}; known: {known}")
