"""Small file helpers shared by every module that writes to disk: atomic writes, exclusive
publishing, change stamps and advisory locks between processes.

A file is written to a temporary name in the same folder (`.<name>.<random>.tmp`), fsynced, then
renamed over the target, and the folder is fsynced after the rename: a crash or a power cut leaves
either the old file or the complete new one, never an empty or half-written file behind a name a
later load would accept. A temp file a killed process left behind is removed by its owner
(`w2v_core.run_folder.RunFolder.remove_stale_temp_files`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


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


def publish_json_once(path: Path, value: Any) -> bool:
    """Write `value` to `path` only if no file has that name; False when one has.

    Atomic between processes, unlike checking first and then writing: the complete file is written
    under a temporary name, then hard-linked to `path`, which fails when the name exists.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    atomic_write_json(temp, value)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    fsync_folder(path.parent)
    return True


def file_stamp(path: Path) -> tuple[int, float]:
    """(size, modification time) of a file, (0, 0.0) when it is missing: a cheap "has it changed"."""
    try:
        stat = Path(path).stat()
    except OSError:
        return (0, 0.0)
    return (stat.st_size, stat.st_mtime)


# ---- advisory locks between processes (flock; on systems without it they are no-ops) ------------
@contextlib.contextmanager
def holding_lock(path: Path, wait_seconds: float = 0.0, shared: bool = False) -> Iterator[Any]:
    """Hold an flock on `path` (created if needed) for the block; yields the open file.

    Waits up to `wait_seconds` (0: try once) and then raises `BlockingIOError`. The lock belongs to
    this open file: a second `holding_lock` on the same path conflicts even in the same process, and
    a process killed with -9 releases it with its life.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield None
        return
    handle = open(path, "a+b")  # noqa: SIM115 - held across the yield
    try:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        yield handle
    finally:
        handle.close()  # releases the lock


def lock_is_held(path: Path) -> bool:
    """Whether another open file holds an exclusive flock on `path` right now (probing takes a
    shared lock for an instant; False when there is no such file or no flock here)."""
    if fcntl is None or not Path(path).exists():  # pragma: no cover - Windows
        return False
    try:
        with holding_lock(path, shared=True):
            return False
    except BlockingIOError:
        return True


# ---- folders with a fixed layout (a run, a study) -------------------------------------------------
class Folder:
    """An object that is one folder on disk: its `path`, its `name`, and `InFolder` files."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name


class InFolder:
    """One entry of a folder's layout: declared `run_json = InFolder("run.json")`, read as
    `folder.run_json` == `folder.path / "run.json"`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, folder: Folder | None, owner: type) -> Any:
        return self if folder is None else folder.path / self.name
