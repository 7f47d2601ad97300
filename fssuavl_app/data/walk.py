"""Walking a dataset's folders: the files a reader indexes, and the links it must not follow.

`walk_files` lists the wanted files below a folder, following symlinked
folders that stay inside it or lead outside the dataset, never one into
another class or split, the root or above it (those would read files under
the wrong label or split, or forever); `walk_classes` does that for each
class folder of a split. Hidden files and folders (and `__MACOSX`) are
skipped. Pure file-system code: nothing is decoded here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


# Folders a copy of a dataset may carry that hold no items: macOS zip resource forks.
SKIPPED_FOLDERS = ("__MACOSX",)


def is_hidden(name: str) -> bool:
    """A dot file or folder (.DS_Store, ._x.wav, .ipynb_checkpoints) or a SKIPPED_FOLDERS one."""
    return name.startswith(".") or name in SKIPPED_FOLDERS


def sorted_subdirs(path: Path, exclude: Sequence[str] = ()) -> list[str]:
    """Names of the visible sub-folders of `path` (symlinked ones too), sorted."""
    return sorted(p.name for p in path.iterdir()
                  if p.is_dir() and not is_hidden(p.name) and p.name not in exclude)


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")


@dataclass
class Walk:
    """What `walk_files` found below a folder (each list sorted)."""

    files: list[Path] = field(default_factory=list)  # readable files with a wanted suffix
    unreadable: list[Path] = field(default_factory=list)  # such names that are no readable
    # file (broken links), and folders that could not be listed
    skipped_links: list[Path] = field(default_factory=list)  # folders not read: reached a
    # second time, or a link elsewhere into the dataset root or above it


def wanted_file(name: str, suffixes: Sequence[str]) -> bool:
    """A visible file name with one of `suffixes` (any case)."""
    return not is_hidden(name) and Path(name).suffix.lower() in suffixes


def _inside(real: str, folder: str) -> bool:
    """Whether the real path `real` is `folder` or below it."""
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def walk_files(path: Path, suffixes: Sequence[str], within: Path | None = None,
               barriers: Sequence[Path] = ()) -> Walk:
    """The wanted files below `path`, recursively, following symlinked folders.

    A linked folder is followed only when it leads inside `path`, or neither
    into nor above `within` (the dataset root; default `path`) and each of
    `barriers` (the other class and split folders, which may live on another
    disk): otherwise it would read files under the wrong label or split, or
    forever. A folder reached a second time (a loop, two links to one
    folder) is read once. Both are listed in `skipped_links`. Hidden files
    and folders are skipped.
    """
    walk, seen = Walk(), set()
    home = os.path.realpath(path)
    stops = {os.path.realpath(f) for f in (within or path, *barriers)}

    def allowed(link: str) -> bool:
        real = os.path.realpath(link)
        return _inside(real, home) or not any(_inside(real, s) or _inside(s, real) for s in stops)

    def listing_failed(exc: OSError) -> None:
        walk.unreadable.append(Path(exc.filename or path))

    for top, dirs, names in os.walk(path, followlinks=True, onerror=listing_failed):
        real = os.path.realpath(top)
        if real in seen:  # reached a second time (a link loop, two links to one folder)
            walk.skipped_links.append(Path(top))
            dirs[:] = []
            continue
        seen.add(real)
        kept = []
        for d in sorted(d for d in dirs if not is_hidden(d)):
            folder = os.path.join(top, d)
            if os.path.islink(folder) and not allowed(folder):
                walk.skipped_links.append(Path(folder))
            else:
                kept.append(d)
        dirs[:] = kept
        for name in names:
            if wanted_file(name, suffixes):
                file = Path(top) / name
                (walk.files if file.is_file() else walk.unreadable).append(file)
    for found in (walk.files, walk.unreadable, walk.skipped_links):
        found.sort()
    return walk


def _linked_onto_another(folder: Path, within: Path, others: Sequence[Path]) -> bool:
    """Whether class folder `folder` is reached through a link and its real folder is, holds,
    or lies inside another of `others`, or holds the dataset root `within`.

    `root/cat -> dog` would otherwise read dog's files under both labels (and
    `test/cat -> ../train/cat` train's files as test items). A folder that is
    not itself a link keeps its files; class folders linked to another disk
    are fine as long as they do not overlap.
    """
    real = os.path.realpath(folder)
    if real == os.path.join(os.path.realpath(within), os.path.relpath(folder, within)):
        return False
    home = os.path.abspath(folder)
    if _inside(os.path.realpath(within), real):
        return True
    return any(_inside(real, o) or _inside(o, real)
               for o in {os.path.realpath(f) for f in others if os.path.abspath(f) != home})


def walk_classes(within: Path, folders: Sequence[Path], suffixes: Sequence[str],
                 barriers: Sequence[Path] = ()
                 ) -> tuple[list[tuple[str, int]], list[str], list[str]]:
    """([(id, label)], unreadable ids, skipped folders) of class folders, the label of a file
    being its folder's position in `folders` and ids posix paths relative to `within`.

    Each folder is walked by `walk_files` with the others and `barriers` (the
    other split's class folders) as barriers, so no link reads one class's
    files under another's label; a folder that does not exist gives nothing.
    """
    found, unreadable, skipped = [], [], []
    rel = lambda p: p.relative_to(within).as_posix()  # noqa: E731
    for label, folder in enumerate(folders):
        if _linked_onto_another(folder, within, [*folders, *barriers]):
            skipped.append(rel(folder) + "/")
        elif folder.is_dir():
            walk = walk_files(folder, suffixes, within, [*folders, *barriers])
            found += [(rel(p), label) for p in walk.files]
            unreadable += [rel(p) for p in walk.unreadable]
            skipped += [rel(p) + "/" for p in walk.skipped_links]
    return found, unreadable, skipped


def files_under(path: Path, suffixes: Sequence[str]) -> list[Path]:
    """The readable files of `walk_files` (links out of `path` followed, not back into it)."""
    return walk_files(path, suffixes).files


__all__ = ["AUDIO_SUFFIXES", "IMAGE_SUFFIXES", "SKIPPED_FOLDERS", "Walk", "files_under",
           "is_hidden", "sorted_subdirs", "walk_classes", "walk_files", "wanted_file"]
