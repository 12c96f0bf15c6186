"""Small file helpers shared by every module that writes to disk: atomic writes.

A file is written to a temporary name in the same folder (`.<name>.<random>.tmp`), fsynced, then
renamed over the target, and the folder is fsynced after the rename: a crash or a power cut leaves
either the old file or the complete new one, never an empty or half-written file behind a name a
later load would accept. A temp file a killed process left behind is removed by its owner
(`w2v_core.run_folder.RunFolder.remove_stale_temp_files`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temp_path)` then rename the temp file to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temp_path = Path(temp_name)
    try:
        write(temp_path)
        fsync_file(temp_path)
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_file(path: Path) -> None:
    """Flush a file's data to the disk (whatever wrote it: numpy, safetensors, our own code)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable. Not possible on every platform (Windows): skipped there."""
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


def atomic_write_text(path: Path, text: str) -> None:
    def write(temp: Path) -> None:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)

    atomic_write(path, write)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            handle.write(data)

    atomic_write(path, write)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
