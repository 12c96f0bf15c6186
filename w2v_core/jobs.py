"""Training jobs: launching, listing and stopping runs, for the app and the CLI alike.

A job is a separate process, `python -m w2v_core resume RUN_DIR --quiet --worker` (progress goes to
metrics.jsonl, not to a progress bar in the log), started in its own session so it goes on when the
tab closes, the page changes or the Streamlit script reruns, and so one person's training never blocks
another person's page. It runs at a lower CPU priority than the web server, which keeps pages
answering on a 2-core machine.

Starts go through the runs root's training queue (`w2v_core.training_queue`): at most N trainings at
once, each with its share of the cores; the other runs wait, in order, in files that survive a
server restart. Whoever looks next starts the head of the queue when a slot is free: a Start, a
worker that finishes, the Train page (`run_view`), the runs list (`list_summaries`), the command
line.

Everything about a job is read back from its run folder (`w2v_core.run_folder` owns the files, the
status machine and the lock), so a page, a new tab, another user or `python -m w2v_core status` all
see the same thing. Nothing here calls Streamlit.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from w2v_core.config import LOSS_LABELS, MODEL_LABELS, OPTIMIZER_LABELS, TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import AccessError, ConfigError, RunFolderError
from w2v_core.io_utils import atomic_write_json, read_json
from w2v_core.ownership import Ownership, Viewer, check_manage, may_view
from w2v_core.run_folder import (
    EpochRecord,
    ProgressRecord,
    RunFolder,
    RunState,
    RunStatus,
    list_runs,
    now_iso,
)
from w2v_core.training_queue import (
    Capacity,
    QueueEntry,
    QueuePlace,
    TrainingQueue,
    capacity,
    recent_places,
    requested_threads,
)
from w2v_core.vocab import Vocabulary

WORKER_NICENESS = 10  # how much lower than the server the worker runs (Unix nice increment)
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # holds w2v_core/, so `-m w2v_core` imports
PROMOTE_WAIT_SECONDS = 5.0  # a look that finds a promotion under way waits, then leaves it to it


# ---- launching ------------------------------------------------------------------------------------
def start(run_dir: str | Path, epochs: int | None = None) -> int | None:
    """Train a prepared run, or continue a stopped/failed/lost one from its last complete epoch
    (`epochs` may raise the total), through the training queue: it starts now when a slot is free,
    else it waits its turn (status queued). Returns the worker's pid, or None while it waits.

    Exclusive: while a worker trains the run, or one was launched and has not begun yet, or the run
    waits in the queue, a second start is refused with a `RunFolderError` (two Resume clicks start
    one worker, not two).
    """
    run = RunFolder.open(run_dir)
    capacity()  # a bad W2V_MAX_TRAININGS is said (ConfigError) before anything is queued
    queue = TrainingQueue.of_run(run)
    try:
        with queue.locked():
            queue.add(run, epochs)
            started = queue.promote(_queued_launcher(use_spare=True))
    except BlockingIOError:
        raise RunFolderError(
            "The training queue is busy (many Starts at once): press Start again in a moment."
        ) from None
    return started.get(run.name)


def start_queued(runs_root: str | Path, use_spare: bool = False) -> dict[str, int]:
    """Start the head of `runs_root`'s training queue while slots are free; {run name: pid}.
    Cheap when nothing waits (one folder listing). A promotion under way elsewhere is waited for
    a few seconds, then left to finish the job. `use_spare`: hand a run to the app's waiting
    spare worker (only the process that keeps the spares does: a spare started by a worker or by
    the command line would exit with it)."""
    queue = TrainingQueue.of(runs_root)
    if queue.is_empty():
        return {}
    try:
        with queue.locked(wait_seconds=PROMOTE_WAIT_SECONDS):
            return queue.promote(_queued_launcher(use_spare))
    except BlockingIOError:
        return {}


LOOK_EVERY_SECONDS = 1.0  # a page's look checks the queue at most this often per runs root
_last_looks: dict[Path, float] = {}
_last_looks_lock = threading.Lock()


def _look_at_queue(runs_root: str | Path) -> dict[str, int]:
    """`start_queued` for a page's look (the Train page polls every second in every tab): at most
    once every `LOOK_EVERY_SECONDS` per runs root in this process. A Start and a finishing worker
    promote at once; a look only matters when a worker died without promoting (killed)."""
    root = Path(runs_root).resolve()
    now = time.monotonic()
    with _last_looks_lock:
        if now - _last_looks.get(root, -LOOK_EVERY_SECONDS) < LOOK_EVERY_SECONDS:
            return {}
        if len(_last_looks) > 64:
            _last_looks.clear()
        _last_looks[root] = now
    try:
        return start_queued(root)
    except ConfigError:  # a bad W2V_MAX_TRAININGS: said by Start, never breaks a page's look
        return {}


def _queue_places(runs_root: str | Path) -> dict[str, QueuePlace]:
    try:
        return recent_places(runs_root)
    except ConfigError:
        return {}


def _queued_launcher(use_spare: bool):
    """`launch(run, entry, capacity)` for `TrainingQueue.promote`: the worker's command, with the
    run's share of the cores as `--threads` when its own setting asks for more."""

    def launch(run: RunFolder, entry: QueueEntry, capacity: Capacity) -> int | None:
        arguments = ["resume", str(run.path.resolve()), "--quiet", "--worker"]
        if entry.epochs is not None:
            arguments += ["--epochs", str(int(entry.epochs))]
        requested = requested_threads(run.info())
        granted = capacity.threads_for(requested)
        if granted is not None:
            arguments += ["--threads", str(granted)]
        return run.launch_from_queue(
            lambda: _spawn(arguments, run, use_spare=use_spare),
            threads_granted={"requested": requested, "granted": granted},
        )

    return launch


def request_stop(run_dir: str | Path) -> bool:
    """Ask the worker to stop; it saves `checkpoints/stopped` and exits within about a second.
    Honoured at any moment after a start, also before the worker has begun. A run waiting in the
    training queue leaves it, back to the status it had. False when no worker is alive and nothing
    waits (nothing to stop)."""
    run = RunFolder.open(run_dir)
    if TrainingQueue.of_run(run).withdraw(run):  # it was waiting: out of the queue, nothing lost
        return True
    if not run.worker_alive():
        return False
    run.request_stop()
    return True


def create_and_start(
    root: str | Path,
    title: str,
    config: TrainConfig,
    vocab: Vocabulary,
    corpus: EncodedCorpus,
    data: dict[str, Any],
    owner: str | None = None,
) -> RunFolder:
    """Write a new run folder under `root` (a fresh name, never an existing run) and start it.
    `owner`: the owner id of the browser that started it (`w2v_core.ownership`).

    Settings are checked first (`w2v_core.trainer.check_trainable`), so an impossible combination is
    a `ConfigError` here rather than a failed job.
    """
    from w2v_core.trainer import check_trainable

    check_trainable(config, vocab, corpus)
    run = RunFolder.create_unique(
        root, title, config, vocab, corpus, data=data, name=title, owner=owner
    )
    start(run.path)
    return run


def start_study(study_dir: str | Path) -> int:
    """Train a stability study in the background: one detached process
    (`python -m w2v_core stability STUDY_DIR --worker`) that starts its member runs with `start`,
    at most the study's `parallel` at a time. Refused while one is alive. Returns its pid."""
    from w2v_core.stability import Study

    study = Study.open(study_dir)
    arguments = ["stability", str(study.path.resolve()), "--worker"]
    return study.launch(lambda: _spawn(arguments, study))


def request_study_stop(study_dir: str | Path) -> None:
    """Ask a study to stop: its live runs save their vectors and stop; it can continue later."""
    from w2v_core.stability import Study

    Study.open(study_dir).request_stop()


def ensure_spare_worker(runs_root: str | Path) -> int | None:
    """Keep a spare worker waiting under `runs_root` (`w2v_core.spare_worker`), so the next Start
    trains within a second instead of paying a fresh process's start-up. The app calls it once."""
    from w2v_core import spare_worker

    return spare_worker.ensure_spare(runs_root, niceness=WORKER_NICENESS)


def _spawn(arguments: list[str], run: Any, use_spare: bool = True) -> int:
    """Start `python -m w2v_core ARGUMENTS` detached, or hand them to a spare worker waiting under
    the run's runs root (then start the next spare); `run` (a RunFolder, or a stability Study)
    names the log it writes to (`worker_log`)."""
    from w2v_core import spare_worker

    if use_spare and isinstance(run, RunFolder) and arguments[0] == "resume":
        pid = spare_worker.hand_over(run.path.parent, arguments)
        if pid is not None:
            spare_worker.start_spare(
                run.path.parent,
                delay=spare_worker.REPLACEMENT_DELAY_SECONDS,
                niceness=WORKER_NICENESS,
            )
            return pid
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"  # the log shows messages as they happen
    with open(run.worker_log, "ab") as log:
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
    return process.pid


# ---- what a page (or `status`) shows ----------------------------------------------------------------
@dataclass
class RunView:
    """A run as the Train page and `python -m w2v_core status` show it, read in one go."""

    name: str
    state: RunState
    device: str | None
    progress: list[ProgressRecord] = field(default_factory=list)  # in order
    epochs: list[EpochRecord] = field(default_factory=list)  # in order
    log: str = ""
    queue_place: QueuePlace | None = None  # while it waits in the training queue

    @property
    def queue_text(self) -> str:
        """'Waiting for a free training slot: place 2 of 3, about 4 min' (queued runs)."""
        if self.queue_place is None:
            return "Waiting for a free training slot…"
        return self.queue_place.describe()

    @property
    def status(self) -> RunStatus:
        return self.state.status

    @property
    def active(self) -> bool:
        return self.state.status.active

    @property
    def latest(self) -> ProgressRecord | None:
        """The newest progress report of the worker now running; None before it reports (after a
        Resume the previous worker's last report is not the new one's)."""
        if not self.progress or self.status == RunStatus.QUEUED:
            return None
        latest = self.progress[-1]
        launched = self.state.launched_at
        if self.active and launched is not None and latest.time < launched:
            return None
        return latest

    @property
    def latest_loss(self) -> float | None:
        """The newest loss: the last report's, or the last epoch's mean when reports carry none
        (an epoch shorter than a report interval)."""
        since = (self.state.launched_at or 0.0) if self.active else 0.0
        from w2v_core.run_folder import Metrics

        return Metrics(self.progress, self.epochs).latest_loss(since)

    @property
    def latest_d2l_loss(self) -> float | None:
        """The newest d2l-book loss (`ProgressRecord.d2l_loss`), as `latest_loss`; None when the
        run's engine does not compute it."""
        since = (self.state.launched_at or 0.0) if self.active else 0.0
        from w2v_core.run_folder import Metrics

        return Metrics(self.progress, self.epochs).latest_d2l_loss(since)

    @property
    def training_seconds(self) -> float:
        return sum(r.seconds for r in self.epochs)


def run_view(run_dir: str | Path) -> RunView:
    """The run as a page shows it. A queued run's look starts the queue's head when a slot is
    free (a worker killed with -9 could not), and says its place and wait."""
    run = RunFolder.open(run_dir)
    state = run.state()
    place = None
    if state.status == RunStatus.QUEUED:
        if _look_at_queue(run.path.parent):
            state = run.state()
        if state.status == RunStatus.QUEUED:
            place = _queue_places(run.path.parent).get(run.name)
    metrics = run.metrics()
    return RunView(
        name=run.name,
        state=state,
        device=run.info().get("device"),
        progress=metrics.progress,
        epochs=metrics.epochs,
        log=run.log_tail() if state.status in (RunStatus.FAILED, RunStatus.LOST) else "",
        queue_place=place,
    )


# ---- listing --------------------------------------------------------------------------------------
def describe_settings(config: dict[str, Any]) -> str:
    """'skip-gram, negative sampling (5), 100 dims, window 5, SGD' from a run's config dict."""
    model = MODEL_LABELS.get(config.get("model"), str(config.get("model")))
    loss = LOSS_LABELS.get(config.get("loss"), str(config.get("loss")))
    if config.get("loss") == "negative":
        loss = f"{loss} ({config.get('negative')})"
    optimizer = OPTIMIZER_LABELS.get(config.get("optimizer"), str(config.get("optimizer")))
    return f"{model}, {loss}, {config.get('dim')} dims, window {config.get('window')}, {optimizer}"


def describe_data(data: dict[str, Any]) -> str:
    """The corpus name a person recognises, from a run's `data` dict."""
    label = data.get("label") or data.get("name")
    if label:
        return str(label)
    if data.get("path"):
        return Path(str(data["path"])).name  # a CLI run: the file it was trained on
    return str(data.get("source") or "unknown data")


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs table (the app's Home page, `python -m w2v_core list`)."""

    name: str  # folder name, what links and session state carry
    title: str  # the name the person gave it
    corpus: str
    settings: str
    status: RunStatus
    epochs_done: int
    epochs_total: int
    vocab_size: int
    created: str  # local time, 'YYYY-mm-dd HH:MM'
    error: str | None
    has_vectors: bool
    ownership: Ownership = Ownership(None)
    study_member: str | None = None  # 'run 2 of 5 of a stability study', when it is one
    queue_place: QueuePlace | None = None  # while it waits in the training queue

    @property
    def status_text(self) -> str:
        """The status label, with the queue place of a queued run: 'queued (2 of 3)'."""
        if self.status == RunStatus.QUEUED and self.queue_place is not None:
            return f"{self.status.label} ({self.queue_place.place} of {self.queue_place.of})"
        return self.status.label

    @property
    def epochs(self) -> str:
        return f"{self.epochs_done} / {self.epochs_total}"

    @property
    def private(self) -> bool:
        return self.ownership.private


def _local_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def summarize(run: RunFolder, queue_places: dict[str, QueuePlace] | None = None) -> RunSummary:
    """One row of the runs table; `queue_places` (`training_queue.places`) for queued runs, looked
    up here when not given and the run is queued."""
    info = run.info()
    state = run.state()
    config = info.get("config") or {}
    if queue_places is None and state.status == RunStatus.QUEUED:
        queue_places = _queue_places(run.path.parent)
    return RunSummary(
        name=run.name,
        title=str(info.get("name") or run.name),
        corpus=describe_data(info.get("data") or {}),
        settings=describe_settings(config),
        status=state.status,
        epochs_done=state.epochs_done,
        epochs_total=state.epochs_total,
        vocab_size=int(info.get("vocab_size") or 0),
        created=_local_time(info.get("created_at")),
        error=state.error,
        has_vectors=state.has_vectors,
        ownership=Ownership.of(info),
        study_member=describe_study_member(info.get("data") or {}),
        queue_place=(queue_places or {}).get(run.name) if state.status.active else None,
    )


def describe_study_member(data: dict[str, Any]) -> str | None:
    """'run 2 of 5 of a stability study' from a run's `data` dict; None for an ordinary run."""
    study = data.get("study")
    if not isinstance(study, dict):
        return None
    return f"run {study.get('member')} of {study.get('of')} of a stability study"


def list_summaries(root: str | Path, viewer: Viewer | None = None) -> list[RunSummary]:
    """Summaries of every readable run under `root`, newest first; unreadable folders skipped.
    With `viewer`: only the runs they may see (`w2v_core.ownership.may_view`). Starts the head of
    the training queue first when a slot is free."""
    _look_at_queue(root)
    queue_places = _queue_places(root)
    summaries = []
    for run in list_runs(root):
        try:
            summary = summarize(run, queue_places)
        except (RunFolderError, OSError, ValueError):
            continue  # a run being created or a broken folder must not break the list
        if viewer is None or may_view(summary.ownership, viewer):
            summaries.append(summary)
    return summaries


# ---- managing: rename, private, delete (the owner or the operator) ------------------------------------
def rename_run(run_dir: str | Path, title: str, viewer: Viewer = Viewer.OPERATOR) -> str:
    """Give a run a new name; returns the name as stored. `AccessError` unless `viewer` may."""
    run = RunFolder.open(run_dir)
    check_manage(run.info(), viewer, "rename", run.title())
    return run.rename(title)


def set_private(run_dir: str | Path, private: bool, viewer: Viewer = Viewer.OPERATOR) -> None:
    """Make a run private (only its owner and the operator see it) or visible to everyone."""
    run = RunFolder.open(run_dir)
    check_manage(run.info(), viewer, "make private or public", run.title())
    if private and run.ownership().from_command_line:
        raise AccessError(
            f"Run '{run.title()}' was started from the command line and has no owner: "
            "making it private would hide it from everyone but the operator."
        )
    run.set_private(private)


DELETED_DIR = ".deleted"  # under the runs root: a run folder moves here, then is removed


def delete_run(
    run_dir: str | Path,
    root: str | Path,
    viewer: Viewer = Viewer.OPERATOR,
    allow_study_member: bool = False,
) -> str:
    """Remove exactly one run's folder; returns its name (title).

    Refused (`RunFolderError` / `AccessError`, saying why) when the folder is not a run directly
    under `root` (a link, a path elsewhere), when `viewer` may not manage it, when a worker trains
    it or is about to (stop it first), or when it is a member of a stability study (unless
    `allow_study_member`). The folder is first renamed away under the control lock, so no Resume
    can start it meanwhile, then deleted; a pinned class run that it was is unpinned.
    """
    given = Path(run_dir)
    root_path = Path(root).resolve()
    if given.is_symlink() or given.resolve().parent != root_path:
        raise RunFolderError(
            f"'{given}' is not a run folder directly inside the runs folder '{root_path}': "
            "only those can be deleted."
        )
    run = RunFolder.open(given.resolve())
    info = run.info()
    title = run.title()
    check_manage(info, viewer, "delete", title)
    member = describe_study_member(info.get("data") or {})
    if member and not allow_study_member:
        raise RunFolderError(
            f"Run '{title}' is {member}: deleting it would leave that study incomplete. Delete "
            "the study instead, or (command line) pass --study-member to delete this run anyway."
        )
    pinned = class_run(root_path) == run.name
    trash = root_path / DELETED_DIR
    trash.mkdir(exist_ok=True)
    run.move_away(trash)
    if pinned:
        unpin_class_run(root_path)
    return title


# ---- the class run: one run the operator pins on Home for everyone ----------------------------------
CLASS_RUN_FILE = "class_run.json"


def class_run(root: str | Path) -> str | None:
    """The folder name of the pinned class run, when one is pinned and still exists."""
    try:
        values = read_json(Path(root) / CLASS_RUN_FILE)
    except (OSError, ValueError):
        return None
    name = values.get("run") if isinstance(values, dict) else None
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        return None
    return name if (Path(root) / name / "run.json").is_file() else None


def pin_class_run(root: str | Path, run_dir: str | Path, viewer: Viewer = Viewer.OPERATOR) -> None:
    """Pin a run for the whole class (operator only; a private run cannot be pinned)."""
    if not viewer.operator:
        raise AccessError("Only the operator can pin the class run.")
    run = RunFolder.open(run_dir)
    if run.path.resolve().parent != Path(root).resolve():
        raise RunFolderError(
            f"Run '{run.title()}' is not in the runs folder, so it cannot be pinned."
        )
    if run.ownership().private:
        raise AccessError(
            f"Run '{run.title()}' is private, so the class could not open it: make it public first."
        )
    atomic_write_json(Path(root) / CLASS_RUN_FILE, {"run": run.name, "pinned_at": now_iso()})


def unpin_class_run(root: str | Path, viewer: Viewer = Viewer.OPERATOR) -> None:
    if not viewer.operator:
        raise AccessError("Only the operator can unpin the class run.")
    (Path(root) / CLASS_RUN_FILE).unlink(missing_ok=True)
