"""Background training jobs: start, stop, resume, and read how a job is doing.

A job is a separate process, `python -m w2v_core train --from-run RUN_DIR --quiet` (or `resume`;
`--quiet` because progress goes to metrics.jsonl, not to a progress bar in the log),
started in its own session so it goes on when the tab closes, the page changes or the Streamlit
script reruns, and so one person's training never blocks another person's page. It runs at a lower
CPU priority than the web server, which keeps pages answering on a 2-core machine.

Everything about a job is read back from its run folder: `run.json` (status, error), `metrics.jsonl`
(progress and epoch records), `checkpoints/`, plus two files this module adds: `worker.log` (the
process's stdout and stderr) and `worker.pid`. That is what lets a page, a new tab or another user
reattach to a live run. Nothing here calls `st.*`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from w2v_core.io_utils import atomic_write_text
from w2v_core.run_folder import RunFolder

WORKER_LOG = "worker.log"
WORKER_PID = "worker.pid"
WORKER_NICENESS = 10  # how much lower than the server the worker runs (Unix nice increment)
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # holds w2v_core/, so `-m w2v_core` imports
ACTIVE_STATUSES = ("created", "running")


def start_training(run_dir: str | Path) -> int:
    """Start training a run folder made by `RunFolder.create`; returns the worker's process id."""
    return _launch(["train", "--from-run", str(Path(run_dir).resolve()), "--quiet"], Path(run_dir))


def start_resume(run_dir: str | Path) -> int:
    """Continue a stopped or failed run from its last complete epoch; returns the process id."""
    run = RunFolder.open(run_dir)
    run.clear_stop_request()  # a STOP left behind would stop the resumed job at once
    return _launch(["resume", str(run.path.resolve()), "--quiet"], run.path)


def request_stop(run_dir: str | Path) -> None:
    """Ask the worker to stop; it saves `checkpoints/stopped` and exits within about a second."""
    RunFolder.open(run_dir).request_stop()


def _launch(arguments: list[str], run_dir: Path) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"  # the log shows messages as they happen
    with open(run_dir / WORKER_LOG, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "w2v_core", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(PROJECT_ROOT),
            env=env,
            start_new_session=True,  # survives the tab, the script thread and Ctrl-C in the terminal
            close_fds=True,
        )
    # Threads the worker starts later inherit this priority (torch starts them on first use).
    # Windows, or not permitted: the worker runs at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, process.pid, WORKER_NICENESS)
    atomic_write_text(run_dir / WORKER_PID, f"{process.pid}\n")
    return process.pid


# ---- is the worker alive? -------------------------------------------------------------------------
def _is_our_worker(pid: int) -> bool:
    """False when /proc says the pid is a zombie or a different program (pid reused)."""
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no /proc (macOS): trust os.kill
    try:
        stat = (proc / "stat").read_text()
        if stat.rpartition(")")[2].split()[0] == "Z":
            return False
        return b"w2v_core" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def worker_alive(run_dir: str | Path) -> bool | None:
    """Whether the run's worker process still runs; None when no worker was ever started."""
    pid_file = Path(run_dir) / WORKER_PID
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if hasattr(os, "WNOHANG"):
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it if it has exited
            if reaped == pid:
                return False
        except ChildProcessError:
            pass  # not our child (the server restarted) or already reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _is_our_worker(pid)


def log_tail(run_dir: str | Path, max_chars: int = 4000) -> str:
    path = Path(run_dir) / WORKER_LOG
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_chars))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


# ---- what a page shows ----------------------------------------------------------------------------
@dataclass
class JobView:
    """A run as the Train page shows it, read from its folder in one go."""

    name: str
    status: str  # run.json status; "lost": the worker died silently; "not started": never launched
    error: str | None
    stop_requested: bool
    epochs_total: int
    epochs_done: int
    device: str | None
    progress: list[dict[str, Any]] = field(default_factory=list)  # "progress" records, in order
    epochs: list[dict[str, Any]] = field(default_factory=list)  # "epoch" records, in order
    log: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def latest(self) -> dict[str, Any] | None:
        return self.progress[-1] if self.progress else None

    @property
    def can_resume(self) -> bool:
        return (
            self.status in ("stopped", "failed", "lost", "not started")
            and self.epochs_done < self.epochs_total
        )


def _launched_after_last_status(run: RunFolder) -> bool:
    """True when worker.pid is newer than run.json: a worker started after the last status change."""
    try:
        return (run.path / WORKER_PID).stat().st_mtime >= run.run_json.stat().st_mtime
    except OSError:
        return False


def job_view(run_dir: str | Path) -> JobView:
    run = RunFolder.open(run_dir)
    info = run.info()
    status = str(info.get("status") or "created")
    error = info.get("error")
    alive = worker_alive(run.path)
    if status == "created" and alive is None:
        status = "not started"  # prepared, but no worker was ever launched (or it failed to launch)
    if alive and status in ("stopped", "failed") and _launched_after_last_status(run):
        status = "created"  # Resume was pressed: the new worker has not written "running" yet
    if status in ACTIVE_STATUSES and alive is False:
        # Re-read: the worker may have written its final status between our two reads.
        info = run.info()
        status, error = str(info.get("status") or "created"), info.get("error")
        if status in ACTIVE_STATUSES:
            status = "lost"
            error = error or (
                "The training process ended without saying why (it may have run out of memory or "
                "been killed). Its log is below; Resume continues from the last saved epoch."
            )
    records = run.read_metrics()
    config = info.get("config") or {}
    done = max(int(info.get("epochs_completed") or 0), len(run.checkpoint_epochs()))
    return JobView(
        name=run.path.name,
        status=status,
        error=error,
        stop_requested=run.stop_requested(),
        epochs_total=int(config.get("epochs") or 0),
        epochs_done=done,
        device=info.get("device"),
        progress=[r for r in records if r.get("kind") == "progress"],
        epochs=[r for r in records if r.get("kind") == "epoch"],
        log=log_tail(run.path) if status in ("failed", "lost") else "",
    )


def create_and_start(config, vocab, corpus, data: dict[str, Any], name: str, folder: Path) -> Path:
    """Write a new run folder (settings, vocabulary, encoded corpus) and start training it.

    `folder` must be new (see `w2v_ui.runs.new_run_dir`): a finished run is never overwritten.
    Settings are checked first (`w2v_core.trainer.check_trainable`), so an impossible combination
    becomes a `ConfigError` message here rather than a failed job.
    """
    from w2v_core.trainer import check_trainable

    check_trainable(config, vocab, corpus)
    run = RunFolder.create(folder, config, vocab, corpus, data=data, name=name)
    start_training(run.path)
    return run.path
