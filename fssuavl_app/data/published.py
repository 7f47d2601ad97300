"""The size of each dataset's official release, to tell a partial or altered copy.

A copy that lacks files (a failed extraction, taken-down clips, a subset
made by hand) still reads, and trains, and gives figures that are not the
paper's. `published_note(source)` compares a reader's counts with the
release's and says how they differ, or returns None when they match or the
release has no fixed size (VGGSound, EPIC-SOUNDS, own folders, built-in
data). Counts are items per split as the reader splits them (ESC-50: fold 5
as test; Speech Commands: its validation clips are in neither split;
TinyImageNet: `val/` as test; ADVANCE has no official split, so only its
total counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .base import SPLITS, Source


@dataclass(frozen=True)
class Release:
    """What the official release holds, as the app's reader gives it."""

    name: str  # which release, as a user would name it
    classes: int
    splits: tuple[tuple[str, int], ...] | None = None  # (split, items), train then test
    total: int | None = None  # items over both splits, where the split is the app's own


RELEASES: Mapping[str, Release] = MappingProxyType({
    "mnist": Release("MNIST", 10, (("train", 60000), ("test", 10000))),
    "fashion-mnist": Release("Fashion-MNIST", 10, (("train", 60000), ("test", 10000))),
    "cifar10": Release("CIFAR-10, python version", 10, (("train", 50000), ("test", 10000))),
    "tiny-imagenet": Release("Tiny ImageNet, val/ as test", 200,
                             (("train", 100000), ("test", 10000))),
    "speech-commands": Release("Speech Commands v0.02, its 9,981 validation clips in neither "
                               "split", 35, (("train", 84843), ("test", 11005))),
    "esc50": Release("ESC-50, one fold as test", 50, (("train", 1600), ("test", 400))),
    "fsdd": Release("FSDD, 3,000 recordings of 6 speakers as in the paper", 10,
                    (("train", 2700), ("test", 300))),
    "advance-images": Release("ADVANCE, 5,075 pairs", 13, total=5075),
    "advance-sounds": Release("ADVANCE, 5,075 pairs", 13, total=5075),
})


def _counts(counts: Mapping[str, int]) -> str:
    return " / ".join(f"{split} {n:,}" for split, n in counts.items())


def release_summary(release: Release) -> str:
    """'<release>: train 50,000 / test 10,000 in 10 classes'."""
    held = (f"{release.total:,} items" if release.splits is None
            else _counts(dict(release.splits)))
    return f"{release.name}: {held} in {release.classes} classes"


def published_note(source: Source) -> str | None:
    """How the copy behind `source` differs from its official release, in one sentence;
    None when it matches or the dataset has no fixed release."""
    release = RELEASES.get(source.name)
    if release is None:
        return None
    have = {s: len(source.labels(s)) for s in SPLITS}
    if release.splits is not None:
        got, same = _counts(have), dict(release.splits) == have
    else:
        got, same = f"{sum(have.values()):,} items", release.total == sum(have.values())
    if same and release.classes == len(source.classes):
        return None
    return (f"this copy holds {got} in {len(source.classes)} classes, not the official "
            f"release's ({release_summary(release)}); figures from it are not comparable "
            "with the full set's")
