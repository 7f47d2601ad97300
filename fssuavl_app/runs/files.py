"""Files that survive a crash: written to a temporary file, flushed to disk, renamed over the
target, and the folder flushed too, so after a kill or a power cut the target is either the
old file or the new one, never a torn mix."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_folder(path: Path, error: Callable[[str], Exception]) -> Path:
    """`mkdir -p path`; a failure (a file in the way, no write access, a full disk) is raised
    as `error(message)`, the command's own user error, instead of an OSError traceback."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file of that name is in the way" if path.is_file() else exc.strerror or exc
        raise error(f"cannot create the folder {path}: {why}") from exc
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` by `data` atomically and durably."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(path: Path, obj, indent: int | None = 1) -> None:
    write_atomic(path, json.dumps(obj, indent=indent, sort_keys=True).encode())
