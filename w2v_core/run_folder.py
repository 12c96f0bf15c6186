"""The run: one folder per training run, and everything that says what state it is in.

This module is the one owner of the run concept. The app, the CLI, the trainer, the explore pages and
the tests all read and write a run through `RunFolder`; nobody else knows a file name, a status
string or a metric-record key.

Layout::

    RUN_DIR/
      run.json                      settings, data description, seed, device, versions, status, times
      vocab.tsv                     word<TAB>count, id order
      corpus.npz                    the encoded corpus (plain arrays), so a run can be resumed
      metrics.jsonl                 one JSON object per `ProgressRecord` / `EpochRecord`
      checkpoints/epoch_NNN.safetensors + epoch_NNN.json   after a complete epoch (1-based)
      checkpoints/stopped.safetensors + stopped.json       where a stop request left the vectors
      evaluation.json               benchmark scores per checkpoint and vector kind (`w2v_core.evaluation`)
      STOP                          present while a stop has been requested
      worker.lock                   held (flock) by the process that trains the run, while it trains
      control.lock                  held for an instant around every read-modify-write of run.json
      worker.pid, worker.log        the background process the app started, and what it printed

Status machine (`RunStatus`): a run is created, then queued (it waits in the runs root's training
queue, `w2v_core.training_queue`, for a free slot), starting (a worker was launched), running,
and ends stopped, finished or failed; a stopped, failed or finished run can start again (resume, or
train further). A Stop while queued takes it out of the queue, back to the status it had. Two
statuses are never written, only seen: stopping (a stop was requested of a live worker) and lost
(run.json says a worker trains it, but no process holds its lock; or says queued, but the queue
holds no entry for it).

Whether a worker is alive comes from `worker.lock` alone (plus, in the instant between a launch and
the worker taking the lock, the launched pid), so runs from the app and from the CLI are judged alike,
and a worker killed with -9 releases its lock with its life.

Every file is written atomically and fsynced (file and folder). Checkpoints are safetensors (never
pickle) with a JSON sidecar written last, so a checkpoint without a sidecar is incomplete and ignored.
Optimizer state (every tensor but the vectors) is kept only where resuming reads it: the newest
complete epoch and "stopped"; older epochs are rewritten with their vectors only.
Leaves out: what the tensors mean (`w2v_core.embeddings`), when to write them (`w2v_core.trainer`),
and starting processes (`w2v_core.jobs`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import RunFolderError
from w2v_core.io_utils import (
    Folder,
    InFolder,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    file_stamp,
    holding_lock,
    lock_is_held,
    publish_json_once,
    read_json,
)
from w2v_core.ownership import OWNER_KEY, PRIVATE_KEY, Ownership
from w2v_core.vocab import Vocabulary

try:  # POSIX; elsewhere a worker's liveness falls back to its pid
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import torch

# torch and safetensors are imported where checkpoints are read or written, not at module import:
# the app's pages list runs and read metrics without paying torch's import time (~1 s).

FORMAT_VERSION = 1
STOPPED = "stopped"  # the checkpoint label of "where it stopped"
# The tensors that are the vectors; every other tensor of a checkpoint is training state (optimizer
# moments, steps) that only resuming reads, so only the newest complete epoch and "stopped" keep it.
VECTOR_TENSORS = ("input", "output")
Epoch = int | Literal["stopped"]
RUNS_DIR_ENV = "W2V_RUNS_DIR"
WORKER_LOCK_WAIT_SECONDS = 2.0  # a probe holds the lock for microseconds; a real worker for hours
CONTROL_LOCK_WAIT_SECONDS = 30.0  # held for one read-modify-write of run.json: milliseconds
STALE_TEMP_SECONDS = 60.0  # a temp file this old with no live worker is a crash's leftover


class RunStatus(str, Enum):
    """What a run is doing. `STOPPING` and `LOST` are derived, never written to run.json."""

    CREATED = "created"  # folder written, no worker launched yet
    QUEUED = "queued"  # waiting in the runs root's training queue for a free slot
    STARTING = "starting"  # a worker was launched and has not begun training yet
    RUNNING = "running"
    STOPPING = "stopping"  # derived: a stop was requested and the worker is still alive
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"
    LOST = "lost"  # derived: run.json says starting/running, but no worker is alive

    @property
    def active(self) -> bool:
        """A worker is (or is about to be) training this run; a queued run counts: it will be, and
        pages treat it as starting (Stop shown, polled, not deletable)."""
        return self in (RunStatus.QUEUED, RunStatus.STARTING, RunStatus.RUNNING, RunStatus.STOPPING)

    @property
    def ended(self) -> bool:
        return self in (RunStatus.STOPPED, RunStatus.FINISHED, RunStatus.FAILED, RunStatus.LOST)

    @property
    def label(self) -> str:
        """What a person reads: the app's badges and the CLI's tables."""
        return _STATUS_LABELS[self]


_S = RunStatus
_STATUS_LABELS = {
    _S.CREATED: "not started",
    _S.QUEUED: "queued",
    _S.STARTING: "starting",
    _S.RUNNING: "training",
    _S.STOPPING: "stopping",
    _S.STOPPED: "stopped",
    _S.FINISHED: "finished",
    _S.FAILED: "failed",
    _S.LOST: "stopped unexpectedly",
}
# Written statuses and where each may go. A dead worker's starting/running may be taken over (or
# queued again). A queued run starts (or a command-line `resume` trains it at once), or a Stop takes
# it out of the queue, back to where it was (`RunFolder.leave_queue`).
_ENDS = {_S.STOPPED, _S.FINISHED, _S.FAILED}
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _S.CREATED: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, *_ENDS}),
    _S.QUEUED: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, _S.CREATED, *_ENDS}),
    _S.STARTING: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, _S.STOPPED, _S.FAILED}),
    _S.RUNNING: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, *_ENDS}),
    _S.STOPPED: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, *_ENDS}),
    _S.FAILED: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, *_ENDS}),
    _S.FINISHED: frozenset({_S.QUEUED, _S.STARTING, _S.RUNNING, _S.FINISHED, _S.FAILED}),
}
# Where a Stop takes a queued run: back to what it was; a dead worker's run to stopped.
_LEFT_QUEUE_TO = {_S.CREATED, _S.STOPPED, _S.FINISHED, _S.FAILED}
WRITTEN_STATUSES = frozenset(TRANSITIONS)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_runs_root() -> Path:
    """Where runs live unless told otherwise: `$W2V_RUNS_DIR`, else `./runs`."""
    return Path(os.environ.get(RUNS_DIR_ENV) or "runs").expanduser().resolve()


def library_versions() -> dict[str, str]:
    import numpy
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    versions["numpy"] = numpy.__version__
    try:
        import numba

        versions["numba"] = numba.__version__
    except ImportError:  # numba is optional for the batched engine
        pass
    from w2v_core import __version__

    versions["w2v_core"] = __version__
    return versions


# ---- metric records: written by the trainer, read by every page through the same classes -------
@dataclass(frozen=True)
class ProgressRecord:
    """A progress report during training (at most one a second)."""

    KIND: ClassVar[str] = "progress"
    step: int  # chunks of work done since the run began (continues across a resume)
    epoch: int  # the epoch in progress, 1-based
    epochs: int
    fraction_done: float  # of the whole run, 0..1
    loss: float | None  # mean loss per example since the previous report
    epoch_loss: float | None  # mean loss per example so far in this epoch
    words_per_second: float  # corpus words (before subsampling) per second, this session
    eta_seconds: float | None
    elapsed_seconds: float  # this session
    learning_rate: float
    device: str
    time: float = 0.0  # Unix time of the report
    # The d2l book's loss (mean BCE per context/noise position, averaged over centres; see
    # `ChunkResult.d2l_loss_sum`) since the previous report; None from engines without it and in
    # metrics files written before it existed.
    d2l_loss: float | None = None

    @property
    def latest_loss(self) -> float | None:
        return self.loss if self.loss is not None else self.epoch_loss


@dataclass(frozen=True)
class EpochRecord:
    """Written once an epoch is complete and its checkpoint saved."""

    KIND: ClassVar[str] = "epoch"
    epoch: int  # 1-based
    epochs: int
    step: int
    fraction_done: float
    loss: float | None  # the epoch's mean loss per example; None if no step ran
    seconds: float
    words_per_second: float | None
    time: float = 0.0
    d2l_loss: float | None = None  # the epoch's mean of the d2l book's loss (as ProgressRecord's)

    @property
    def latest_loss(self) -> float | None:
        return self.loss


MetricRecord = ProgressRecord | EpochRecord
_RECORD_CLASSES: dict[str, type] = {
    ProgressRecord.KIND: ProgressRecord,
    EpochRecord.KIND: EpochRecord,
}


def record_to_json(record: MetricRecord) -> str:
    return json.dumps({"kind": record.KIND, **dataclasses.asdict(record)}, default=float) + "\n"


def record_from_dict(values: dict[str, Any]) -> MetricRecord | None:
    """The typed record of one metrics line; None for a line of another (or a future) kind."""
    cls = _RECORD_CLASSES.get(values.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in values.items() if k in names})
    except TypeError:  # a field missing: a damaged line
        return None


@dataclass(frozen=True)
class Metrics:
    """All records of a run, split by kind, in order."""

    progress: list[ProgressRecord]
    epochs: list[EpochRecord]

    def latest_loss(self, since: float = 0.0) -> float | None:
        """The newest loss reported at or after `since` (a progress report, else an epoch's mean)."""
        records = [r for r in [*self.progress, *self.epochs] if r.time >= since]
        for record in sorted(records, key=lambda r: r.time, reverse=True):
            if record.latest_loss is not None:
                return record.latest_loss
        return None

    def latest_d2l_loss(self, since: float = 0.0) -> float | None:
        """The newest d2l-book loss reported at or after `since`; None when no engine computed it."""
        records = [r for r in [*self.progress, *self.epochs] if r.time >= since]
        for record in sorted(records, key=lambda r: r.time, reverse=True):
            if record.d2l_loss is not None:
                return record.d2l_loss
        return None


class MetricsReader:
    """One metrics.jsonl read incrementally: each `read` parses only the lines appended since the
    previous one, so a page polling a live run every second does not parse its whole history again.

    The file read again from the start when it was replaced (resume rewrites it: a new inode),
    shortened, or rewritten in place (the bytes before the last offset changed). A torn last line
    (the writer mid-append) waits for its newline; a damaged line is skipped, as in a full read.
    """

    _CHECK_BYTES = 64  # the bytes just before the offset, compared to notice an in-place rewrite

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._reset(None)

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self._identity = identity
        self._offset = 0
        self._tail = b""
        self._progress: list[ProgressRecord] = []
        self._epochs: list[EpochRecord] = []

    def read(self) -> Metrics:
        with self._lock:
            try:
                with open(self.path, "rb") as handle:
                    info = os.fstat(handle.fileno())
                    identity = (info.st_dev, info.st_ino)
                    if identity != self._identity or info.st_size < self._offset:
                        self._reset(identity)
                    elif self._offset:
                        handle.seek(self._offset - len(self._tail))
                        if handle.read(len(self._tail)) != self._tail:
                            self._reset(identity)
                    handle.seek(self._offset)
                    appended = handle.read(max(info.st_size - self._offset, 0))
            except OSError:  # no file (yet), or unreadable: no records
                self._reset(None)
                return Metrics([], [])
            complete = appended[: appended.rfind(b"\n") + 1]
            for line in complete.splitlines():
                try:
                    values = json.loads(line.decode("utf-8", errors="replace"))
                except ValueError:
                    continue
                record = record_from_dict(values) if isinstance(values, dict) else None
                if isinstance(record, ProgressRecord):
                    self._progress.append(record)
                elif record is not None:
                    self._epochs.append(record)
            self._offset += len(complete)
            self._tail = (self._tail + complete)[-self._CHECK_BYTES :]
            return Metrics(list(self._progress), list(self._epochs))


_METRICS_READERS: dict[Path, MetricsReader] = {}  # one per metrics file this process reads
_METRICS_READERS_MAX = 256
_METRICS_READERS_LOCK = threading.Lock()


def _metrics_reader(path: Path) -> MetricsReader:
    with _METRICS_READERS_LOCK:
        reader = _METRICS_READERS.pop(path, None) or MetricsReader(path)
        _METRICS_READERS[path] = reader  # most recently used last
        while len(_METRICS_READERS) > _METRICS_READERS_MAX:
            _METRICS_READERS.pop(next(iter(_METRICS_READERS)))
        return reader


# ---- what a run looks like from outside ------------------------------------------------------------
@dataclass(frozen=True)
class RunState:
    """One consistent read of a run: status (with the derived ones), epochs, stop request, worker."""

    status: RunStatus
    written_status: RunStatus
    error: str | None
    stop_requested: bool
    worker_alive: bool
    epochs_total: int
    epochs_done: int
    saved_epochs: list[Epoch]  # complete epochs ascending, then "stopped" if there is one
    launched_at: float | None  # Unix time of the newest launch (app Start/Resume), if any

    @property
    def can_resume(self) -> bool:
        return (
            self.status in (RunStatus.CREATED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.LOST)
            and self.epochs_done < self.epochs_total
        )

    @property
    def has_vectors(self) -> bool:
        return bool(self.saved_epochs)


@dataclass(frozen=True)
class _CheckpointListing:
    epochs: tuple[int, ...]  # complete epochs (a sidecar and its tensors), ascending
    stopped: bool  # a complete "stopped" checkpoint


_LISTINGS: dict[Path, tuple[int, bool, float, _CheckpointListing]] = {}
_LISTINGS_MAX = 1024
_LISTINGS_LOCK = threading.Lock()
# The kernel's file times are coarse: a folder changed again within the same clock tick keeps its
# mtime. A listing read while the folder's mtime was this recent is therefore not trusted for
# long, only for _RECENT_LISTING_SECONDS after it was read.
_LISTING_SETTLED_NS = 1_000_000_000
_RECENT_LISTING_SECONDS = 1.0


def _checkpoint_listing(folder: Path) -> _CheckpointListing:
    """Which checkpoints a run's folder holds, from one directory listing (no stat per file).

    Every page lists every run's checkpoints, and a long run on a small corpus keeps thousands
    (8,000 files: 3 ms to list, in every session's every rerun; 10-30% of the server's samples
    under load, docs/BENCHMARKS.md). So a listing is kept while the folder's mtime is unchanged;
    one read while the folder was changing (a run training) is reused for at most a second, as
    another process sees it. A checkpoint this process writes or removes drops its folder's
    listing at once (`_forget_listing`), so a writer always sees its own change.
    """
    try:
        changed = os.stat(folder).st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        return _CheckpointListing((), False)
    with _LISTINGS_LOCK:
        kept = _LISTINGS.get(folder)
    if kept is not None and kept[0] == changed:
        _, settled, read_at, listing = kept
        if settled or time.monotonic() - read_at < _RECENT_LISTING_SECONDS:
            return listing
    read_at = time.monotonic()
    settled = time.time_ns() - changed > _LISTING_SETTLED_NS
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return _CheckpointListing((), False)
    files = set(names)
    epochs = []
    for name in names:
        stem = name.removesuffix(".json")
        number = stem.removeprefix("epoch_")
        paired = f"{stem}.safetensors" in files
        if name.startswith("epoch_") and name.endswith(".json") and number.isdigit() and paired:
            epochs.append(int(number))
    stopped = {f"{STOPPED}.json", f"{STOPPED}.safetensors"} <= files
    listing = _CheckpointListing(tuple(sorted(epochs)), stopped)
    with _LISTINGS_LOCK:
        if folder not in _LISTINGS and len(_LISTINGS) >= _LISTINGS_MAX:
            _LISTINGS.pop(next(iter(_LISTINGS)))
        _LISTINGS[folder] = (changed, settled, read_at, listing)
    return listing


def _forget_listing(folder: Path) -> None:
    with _LISTINGS_LOCK:
        _LISTINGS.pop(folder, None)


_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")


class RunFolder(Folder):
    """Read and write one run folder."""

    # ---- paths: the layout, one line a file -------------------------------------------------
    run_json = InFolder("run.json")
    vocab_tsv = InFolder("vocab.tsv")
    corpus_npz = InFolder("corpus.npz")
    metrics_jsonl = InFolder("metrics.jsonl")
    checkpoint_dir = InFolder("checkpoints")
    evaluation_json = InFolder("evaluation.json")
    stop_file = InFolder("STOP")
    worker_lock_file = InFolder("worker.lock")
    control_lock_file = InFolder("control.lock")
    worker_pid_file = InFolder("worker.pid")
    worker_log = InFolder("worker.log")

    # ---- creation / opening -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        config: TrainConfig,
        vocab: Vocabulary,
        corpus: EncodedCorpus,
        data: dict[str, Any] | None = None,
        name: str | None = None,
        owner: str | None = None,
    ) -> RunFolder:
        """Start a new run folder. Exclusive: of two processes creating the same folder at the same
        moment, exactly one succeeds; the other gets a `RunFolderError`, and nothing is overwritten.
        `owner`: the owner id (`w2v_core.ownership.owner_id`) of the browser that started it; None
        for the command line.
        """
        run = cls(path)
        run.path.mkdir(parents=True, exist_ok=True)
        info = {
            "format_version": FORMAT_VERSION,
            "name": name or run.path.name,
            OWNER_KEY: owner,
            PRIVATE_KEY: False,
            "status": RunStatus.CREATED.value,
            "error": None,
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "finished_at": None,
            "config": config.to_dict(),
            "data": data or {},
            "vocab_size": len(vocab),
            "n_tokens": corpus.n_tokens,
            "n_documents": corpus.n_documents,
            "device": None,
            "engine": None,
            "threads_used": None,
            "epochs_completed": 0,
            "library_versions": library_versions(),
            "host": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        }
        run._claim(info)
        run.checkpoint_dir.mkdir(exist_ok=True)
        vocab.save_tsv(run.vocab_tsv)
        corpus.save(run.corpus_npz)
        return run

    def _claim(self, info: dict[str, Any]) -> None:
        """Publish run.json only if there is none: a hard link fails when the name exists, so the
        claim is atomic even between processes (unlike checking first, then writing)."""
        if not publish_json_once(self.run_json, info):
            raise RunFolderError(
                f"'{self.path}' already holds a run. Choose a new output folder, or resume that run."
            )

    @classmethod
    def create_unique(
        cls,
        root: str | Path,
        label: str,
        config: TrainConfig,
        vocab: Vocabulary,
        corpus: EncodedCorpus,
        data: dict[str, Any] | None = None,
        name: str | None = None,
        owner: str | None = None,
    ) -> RunFolder:
        """A new run under `root` named `<YYYYmmdd-HHMMSS>-<slug of label>` (with -2, -3, ... when
        taken): two Starts in the same second get two folders, never one."""
        root = Path(root)
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(label)}"
        for n in range(1, 1000):
            candidate = root / (base if n == 1 else f"{base}-{n}")
            if (candidate / "run.json").exists():
                continue
            try:
                return cls.create(
                    candidate, config, vocab, corpus, data=data, name=name, owner=owner
                )
            except RunFolderError:
                if not (candidate / "run.json").exists():
                    raise
                continue  # another Start took this name a moment ago: try the next
        raise RunFolderError(f"Could not find a free folder name for '{label}' under '{root}'.")

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        run = cls(path)
        if not run.run_json.is_file():
            raise RunFolderError(f"'{run.path}' is not a run folder (it has no run.json).")
        return run

    # ---- run.json ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        try:
            info = read_json(self.run_json)
        except (OSError, ValueError) as error:
            raise RunFolderError(
                f"Cannot read the settings of run '{self.name}' (run.json is missing or damaged: "
                f"{error}). The folder cannot be used as a run."
            ) from error
        if not isinstance(info, dict):
            raise RunFolderError(f"run.json of run '{self.name}' is damaged (not a JSON object).")
        return info

    @contextlib.contextmanager
    def _control_lock(self) -> Iterator[None]:
        """Serialise read-modify-writes of run.json between the worker, the app and the CLI."""
        with holding_lock(self.control_lock_file, wait_seconds=CONTROL_LOCK_WAIT_SECONDS):
            yield

    def update(self, **fields: Any) -> dict[str, Any]:
        with self._control_lock():
            info = self.info()
            info.update(fields)
            info["updated_at"] = now_iso()
            atomic_write_json(self.run_json, info)
            return info

    # ---- who it belongs to, what it is called (w2v_core.ownership has the rules) ----------------
    def ownership(self) -> Ownership:
        return Ownership.of(self.info())

    def title(self) -> str:
        """The name the person gave the run (the folder name when none)."""
        return str(self.info().get("name") or self.name)

    def rename(self, title: str) -> str:
        """Give the run a new name (its folder, and so its links, stay); returns the clean name."""
        cleaned = clean_title(title)
        self.update(name=cleaned)
        return cleaned

    def set_private(self, private: bool) -> None:
        """Private: only its owner and the operator see it (`w2v_core.ownership.may_view`)."""
        self.update(**{PRIVATE_KEY: bool(private)})

    def written_status(self, info: dict[str, Any] | None = None) -> RunStatus:
        value = (info or self.info()).get("status") or RunStatus.CREATED.value
        try:
            status = RunStatus(value)
        except ValueError:
            raise RunFolderError(
                f"run.json of run '{self.name}' has an unknown status '{value}'."
            ) from None
        return status if status in WRITTEN_STATUSES else RunStatus.CREATED

    def set_status(self, status: RunStatus | str, error: str | None = None, **fields: Any) -> None:
        """Move to `status`, checked against `TRANSITIONS` (a programming error raises ValueError)."""
        status = RunStatus(status)
        with self._control_lock():
            info = self.info()
            current = self.written_status(info)
            if status not in TRANSITIONS[current]:
                raise ValueError(f"A run cannot go from {current.value} to {status.value}.")
            info.update(fields)
            info.update(status=status.value, error=error, updated_at=now_iso())
            if status in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED):
                info["finished_at"] = now_iso()
            elif status in (RunStatus.STARTING, RunStatus.RUNNING):
                info["finished_at"] = None
            atomic_write_json(self.run_json, info)

    def config(self) -> TrainConfig:
        try:
            return TrainConfig.from_dict(self.info()["config"])
        except (KeyError, TypeError) as error:
            raise RunFolderError(
                f"run.json of run '{self.name}' has no readable settings ({error})."
            ) from None

    def vocab(self) -> Vocabulary:
        if not self.vocab_tsv.is_file():
            raise RunFolderError(f"Run '{self.name}' has no vocab.tsv.")
        try:
            return Vocabulary.load_tsv(self.vocab_tsv)
        except (ValueError, UnicodeDecodeError, IndexError, OSError) as error:
            raise RunFolderError(
                f"The vocabulary of run '{self.name}' (vocab.tsv) is damaged: {error}."
            ) from None

    def corpus(self) -> EncodedCorpus:
        if not self.corpus_npz.is_file():
            raise RunFolderError(f"Run '{self.name}' has no corpus.npz, so it cannot be resumed.")
        try:
            return EncodedCorpus.load(self.corpus_npz)
        except Exception as error:  # noqa: BLE001 - numpy/zipfile raise many kinds on a bad file
            raise RunFolderError(
                f"The encoded corpus of run '{self.name}' (corpus.npz) is damaged, so it cannot be "
                f"resumed ({type(error).__name__}). Its saved epochs can still be explored."
            ) from None

    # ---- metrics ------------------------------------------------------------------------------
    def append_metrics(self, record: MetricRecord) -> None:
        """Append one JSON line. A line is written whole with one write call."""
        with open(self.metrics_jsonl, "a", encoding="utf-8") as handle:
            handle.write(record_to_json(record))

    def metrics(self) -> Metrics:
        """All complete records; a torn last line (writer mid-append) or a damaged one is skipped.
        Read incrementally (`MetricsReader`): only what was appended since this process last asked."""
        return _metrics_reader(self.metrics_jsonl.absolute()).read()

    def _records(self) -> list[MetricRecord]:
        if not self.metrics_jsonl.is_file():
            return []
        records: list[MetricRecord] = []
        with open(self.metrics_jsonl, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break
                try:
                    values = json.loads(line)
                except ValueError:
                    continue
                record = record_from_dict(values) if isinstance(values, dict) else None
                if record is not None:
                    records.append(record)
        return records

    def truncate_metrics_after_epoch(self, epoch: int) -> None:
        """Drop records of epochs after `epoch` (1-based, complete), used when resuming."""
        kept = [r for r in self._records() if r.epoch <= epoch]
        atomic_write_text(self.metrics_jsonl, "".join(record_to_json(r) for r in kept))

    # ---- checkpoints --------------------------------------------------------------------------
    @staticmethod
    def checkpoint_label(epoch: Epoch | str) -> str:
        return STOPPED if epoch == STOPPED else f"epoch_{int(epoch):03d}"

    def _sidecar(self, epoch: Epoch | str) -> Path:
        return self.checkpoint_dir / f"{self.checkpoint_label(epoch)}.json"

    def _tensor_file(self, epoch: Epoch | str) -> Path:
        return self.checkpoint_dir / f"{self.checkpoint_label(epoch)}.safetensors"

    def save_checkpoint(
        self, epoch: Epoch | str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
    ) -> Path:
        """Write `checkpoints/<label>.safetensors`, then its JSON sidecar (which marks it complete)."""
        from safetensors.torch import save_file

        label = self.checkpoint_label(epoch)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        target = self._tensor_file(epoch)
        contiguous = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
        atomic_write(target, lambda temp: save_file(contiguous, str(temp)))
        sidecar = {"label": label, "saved_at": now_iso(), "tensors": sorted(contiguous), **meta}
        atomic_write_json(self._sidecar(epoch), sidecar)
        _forget_listing(self.checkpoint_dir)
        return target

    def checkpoint_epochs(self) -> list[int]:
        """Complete epochs with a checkpoint, ascending (1-based)."""
        return list(_checkpoint_listing(self.checkpoint_dir).epochs)

    def has_stopped_checkpoint(self) -> bool:
        return _checkpoint_listing(self.checkpoint_dir).stopped

    def saved_epochs(self) -> list[Epoch]:
        """Every checkpoint in training order: complete epochs, then "stopped" if there is one (the
        trainer deletes it once a later epoch completes, so it is always the newest)."""
        listing = _checkpoint_listing(self.checkpoint_dir)  # one look at the folder for both
        return [*listing.epochs, *([STOPPED] if listing.stopped else [])]

    def latest_checkpoint(self) -> Epoch | None:
        """The newest vectors: "stopped" if there is such a checkpoint, else the last complete
        epoch, else None."""
        saved = self.saved_epochs()
        return saved[-1] if saved else None

    def epochs_done(self, info: dict[str, Any] | None = None) -> int:
        """Complete epochs: what run.json says, or the checkpoints if they say more (a worker killed
        between writing a checkpoint and run.json)."""
        info = info if info is not None else self.info()
        epochs = self.checkpoint_epochs()
        return max(int(info.get("epochs_completed") or 0), epochs[-1] if epochs else 0)

    def remove_checkpoint(self, epoch: Epoch | str) -> None:
        """Delete a checkpoint, sidecar first (so a half-deleted one is never taken as complete)."""
        self._sidecar(epoch).unlink(missing_ok=True)
        self._tensor_file(epoch).unlink(missing_ok=True)
        _forget_listing(self.checkpoint_dir)

    def checkpoint_meta(self, epoch: Epoch | str) -> dict[str, Any]:
        try:
            meta = read_json(self._sidecar(epoch))
        except (OSError, ValueError) as error:
            raise RunFolderError(
                f"The record of checkpoint '{self.checkpoint_label(epoch)}' of run '{self.name}' "
                f"is damaged ({error})."
            ) from None
        return meta if isinstance(meta, dict) else {}

    def load_checkpoint(
        self, epoch: Epoch | str, names: list[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Tensors of a checkpoint (all, or only `names`), on CPU."""
        label = self.checkpoint_label(epoch)
        path = self._tensor_file(epoch)
        if not self._sidecar(epoch).is_file() or not path.is_file():
            available = ", ".join(str(e) for e in self.saved_epochs()) or "none"
            raise RunFolderError(
                f"Run '{self.name}' has no checkpoint '{label}' (epochs saved: {available})."
            )
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                available = list(handle.keys())
                wanted = available if names is None else [k for k in available if k in names]
                return {name: handle.get_tensor(name) for name in wanted}
        except (SafetensorError, OSError, ValueError, RuntimeError) as error:
            raise RunFolderError(
                f"Checkpoint '{label}' of run '{self.name}' is damaged and cannot be read ({error}). "
                "Choose another epoch; resuming continues from the last complete one."
            ) from None

    def drop_training_state(self, epoch: int) -> bool:
        """Rewrite a complete checkpoint with its vectors only (`VECTOR_TENSORS`), without the
        training state (optimizer moments and steps) that only resuming reads. Atomic: readers see
        the old file or the new one. True when there was something to drop."""
        meta = self.checkpoint_meta(epoch)
        if set(meta.get("tensors", ())) <= set(VECTOR_TENSORS):
            return False
        from safetensors.torch import save_file

        vectors = self.load_checkpoint(epoch, names=list(VECTOR_TENSORS))
        atomic_write(self._tensor_file(epoch), lambda temp: save_file(vectors, str(temp)))
        atomic_write_json(
            self._sidecar(epoch), {**meta, "tensors": sorted(vectors), "training_state": False}
        )
        return True

    def keep_training_state_only_in(self, newest_epoch: int) -> None:
        """Drop the training state from every complete checkpoint but `newest_epoch`: resuming
        starts from the newest complete epoch (the "stopped" checkpoint keeps its own), so the
        moments of older epochs are dead weight: with Adam they double or triple each file (689 MB
        for 100 epochs of 3k words)."""
        for epoch in self.checkpoint_epochs():
            if epoch != newest_epoch:
                self.drop_training_state(epoch)

    def prune_checkpoints(self, keep_every: int, last_epoch: int) -> None:
        """Keep every `keep_every`-th epoch and the newest one (`last_epoch`); delete the others."""
        if keep_every <= 1:
            return
        for epoch in self.checkpoint_epochs():
            if epoch != last_epoch and epoch % keep_every != 0:
                self.remove_checkpoint(epoch)

    # ---- change stamps: cheap values that change whenever what a page shows would ----------------
    def checkpoint_stamp(self, epoch: Epoch | None) -> float:
        """Modification time of a checkpoint's sidecar (a later stop rewrites "stopped")."""
        if epoch is None:
            epoch = self.latest_checkpoint()
        if epoch is None:
            return 0.0
        try:
            return self._sidecar(epoch).stat().st_mtime
        except OSError:
            return 0.0

    def checkpoints_stamp(self) -> tuple:
        """Changes whenever a checkpoint is saved or removed."""
        saved = self.saved_epochs()
        newest = max((self.checkpoint_stamp(e) for e in saved), default=0.0)
        return (tuple(saved), newest)

    def metrics_stamp(self) -> tuple[int, float]:
        """Size and time of metrics.jsonl: changes with every record."""
        return file_stamp(self.metrics_jsonl)

    # ---- evaluation records (evaluation.json) ---------------------------------------------------
    # {"format_version": 1, "checkpoints": {label: {vector kind: record}}}. What a record holds is
    # `w2v_core.evaluation.CheckpointEvaluation` (its `to_dict`); this section owns only the file: a
    # read-modify-write under the control lock (the worker and the app may both add scores), an
    # atomic write, and a damaged file read as empty, so its scores are simply computed again.
    def evaluation_records(self) -> dict[str, dict[str, Any]]:
        """Checkpoint label -> vector kind -> stored record (plain dicts); {} if none or damaged."""
        try:
            values = read_json(self.evaluation_json)
        except (OSError, ValueError):
            return {}
        checkpoints = values.get("checkpoints") if isinstance(values, dict) else None
        return checkpoints if isinstance(checkpoints, dict) else {}

    def save_evaluation_record(self, label: str, kind: str, record: dict[str, Any]) -> None:
        """Store (or replace) the record of checkpoint `label`'s `kind` vectors."""
        with self._control_lock():
            checkpoints = self.evaluation_records()
            entry = checkpoints.get(label)
            checkpoints[label] = {**(entry if isinstance(entry, dict) else {}), kind: record}
            atomic_write_json(
                self.evaluation_json, {"format_version": FORMAT_VERSION, "checkpoints": checkpoints}
            )

    def evaluation_stamp(self) -> tuple[int, float]:
        """Size and time of evaluation.json: changes with every stored record."""
        return file_stamp(self.evaluation_json)

    # ---- stop requests ------------------------------------------------------------------------
    def request_stop(self) -> None:
        atomic_write_text(self.stop_file, str(time.time()))

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    def clear_stop_request(self) -> None:
        self.stop_file.unlink(missing_ok=True)

    # ---- the worker: lock, pid, log -------------------------------------------------------------
    @contextlib.contextmanager
    def worker_lock(self) -> Iterator[None]:
        """Held for as long as this process trains the run. A second trainer refuses."""
        with contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(
                    holding_lock(self.worker_lock_file, wait_seconds=WORKER_LOCK_WAIT_SECONDS)
                )
            except BlockingIOError:
                raise RunFolderError(
                    f"Run '{self.name}' is already being trained by another process; "
                    "stop it first (or wait for it to finish)."
                ) from None
            if handle is not None:  # who holds it, for a person looking at the folder
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()}\n".encode())
                handle.flush()
            self.remove_stale_temp_files(min_age_seconds=0.0)  # we own the folder now
            yield

    def worker_holds_lock(self) -> bool:
        """Whether some process is training this run right now (it holds `worker.lock`)."""
        if fcntl is None:  # pragma: no cover
            return self._launched_pid_alive()
        return lock_is_held(self.worker_lock_file)

    def launch(self, spawn: Callable[[], int]) -> int:
        """Mark the run starting and call `spawn()` (which starts a worker and returns its pid),
        unless a worker is alive or was just launched: then a `RunFolderError`. Clears an old stop
        request first, so it cannot stop the new worker; a stop requested from now on is honoured."""
        with self._control_lock():
            return self._launch_locked(self.info(), spawn, {})

    def launch_from_queue(self, spawn: Callable[[], int], **fields: Any) -> int | None:
        """`launch`, for the training queue's promoter: only while the run is still queued (a Stop
        may have taken it out a moment ago); None when it is not. `fields` go into run.json."""
        with self._control_lock():
            info = self.info()
            if self.written_status(info) != RunStatus.QUEUED:
                return None
            return self._launch_locked(info, spawn, fields)

    def _launch_locked(
        self, info: dict[str, Any], spawn: Callable[[], int], fields: dict[str, Any]
    ) -> int:
        if self.worker_alive(info):
            raise RunFolderError(f"Run '{self.name}' is already training.")
        current = self.written_status(info)
        if RunStatus.STARTING not in TRANSITIONS[current]:
            raise ValueError(f"A run cannot go from {current.value} to starting.")
        self.clear_stop_request()
        info.update(fields)
        info.update(
            status=RunStatus.STARTING.value,
            error=None,
            launched_at=time.time(),
            finished_at=None,
            updated_at=now_iso(),
        )
        atomic_write_json(self.run_json, info)
        try:
            pid = spawn()
        except OSError as error:
            info.update(status=RunStatus.FAILED.value, error=f"Could not start training: {error}")
            atomic_write_json(self.run_json, info)
            raise RunFolderError(f"Could not start training run '{self.name}': {error}") from None
        atomic_write_text(self.worker_pid_file, f"{pid}\n")
        return pid

    # ---- waiting in the training queue (the queue's files: `w2v_core.training_queue`) ------------
    def enqueue(self, add_entry: Callable[[], None], **record: Any) -> None:
        """Mark the run queued, calling `add_entry()` (which writes its queue entry, exclusively)
        under the control lock. Refused with a `RunFolderError` while a worker trains it (or was just
        launched), and by `add_entry` when it is queued already. Clears an old stop request, as
        `launch` does; remembers the status it had (for a Stop while it waits) and `record` (when
        it was queued) in run.json's `queued`."""
        with self._control_lock():
            info = self.info()
            if self.worker_alive(info):
                raise RunFolderError(f"Run '{self.name}' is already training.")
            current = self.written_status(info)
            if RunStatus.QUEUED not in TRANSITIONS[current]:
                raise ValueError(f"A run cannot go from {current.value} to queued.")
            add_entry()
            self.clear_stop_request()
            if current == RunStatus.QUEUED and isinstance(info.get("queued"), dict):
                before = dict(info["queued"])  # its entry was lost: it keeps where it came from
            else:
                status = current if current in _LEFT_QUEUE_TO else RunStatus.STOPPED
                before = {"from": status.value, "error": info.get("error")}
            info["queued"] = {**before, **record}
            info.update(status=RunStatus.QUEUED.value, error=None, updated_at=now_iso())
            atomic_write_json(self.run_json, info)

    def leave_queue(self, remove_entry: Callable[[], None]) -> bool:
        """Take a queued run out of the queue (a Stop while it waits): back to the status it had
        before (created, stopped, finished, or failed with its error), then `remove_entry()`.
        False when it is not queued (it started meanwhile, or never was)."""
        with self._control_lock():
            info = self.info()
            if self.written_status(info) != RunStatus.QUEUED:
                return False
            before = info.get("queued") if isinstance(info.get("queued"), dict) else {}
            try:
                status = RunStatus(before.get("from"))
            except ValueError:
                status = RunStatus.STOPPED if self.epochs_done(info) else RunStatus.CREATED
            if status not in _LEFT_QUEUE_TO:
                status = RunStatus.STOPPED
            error = before.get("error") if status == RunStatus.FAILED else None
            info.update(status=status.value, error=error, updated_at=now_iso())
            atomic_write_json(self.run_json, info)
            remove_entry()
            return True

    def _queue_entry_exists(self) -> bool:
        from w2v_core.training_queue import TrainingQueue

        return TrainingQueue.of_run(self).holds(self.name)

    def _launched_pid(self) -> int | None:
        try:
            return int(self.worker_pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _launched_pid_alive(self) -> bool:
        """Whether the process the app launched last still runs (reaped if it is our dead child)."""
        pid = self._launched_pid()
        if pid is None:
            return False
        return process_alive(pid)

    def worker_alive(self, info: dict[str, Any] | None = None) -> bool:
        """A worker trains the run, or was launched and has not taken the lock yet."""
        if self.worker_holds_lock():
            return True
        if not self._launched_pid_alive():  # first: cheaper than reading run.json (the queue's
            return False  # count of live trainings asks this of every run in the runs root)
        info = info if info is not None else self.info()
        return self.written_status(info) == RunStatus.STARTING

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            with open(self.worker_log, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - max_chars))
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    # ---- deleting ------------------------------------------------------------------------------
    def move_away(self, trash: Path) -> None:
        """Delete this run folder: refused while a worker trains it or is about to. Under the control
        lock (which `launch` takes too) the folder is renamed into `trash` (same file system), so
        from that instant no one can open or start it; then it is removed. Whether this viewer may
        delete it, and that it is a run of the runs root, is `w2v_core.jobs.delete_run`'s part."""
        import secrets
        import shutil

        target = Path(trash) / f"{self.name}.{secrets.token_hex(4)}"
        with self._control_lock():
            if self.worker_alive():
                raise RunFolderError(
                    f"Run '{self.title()}' is training: stop it first, then delete it."
                )
            if self.written_status() == RunStatus.QUEUED:
                raise RunFolderError(
                    f"Run '{self.title()}' waits in the training queue: stop it first, then "
                    "delete it."
                )
            os.rename(self.path, target)
        shutil.rmtree(target, ignore_errors=True)

    # ---- housekeeping --------------------------------------------------------------------------
    def remove_stale_temp_files(self, min_age_seconds: float = STALE_TEMP_SECONDS) -> int:
        """Delete temp files an interrupted write left behind; returns how many. Only call with a
        nonzero age while no worker is alive, or with 0 while holding the worker lock."""
        removed = 0
        now = time.time()
        for folder in (self.path, self.checkpoint_dir):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if not _TEMP_NAME.match(path.name):
                    continue
                try:
                    if now - path.stat().st_mtime >= min_age_seconds:
                        path.unlink()
                        removed += 1
                except OSError:
                    continue
        return removed

    # ---- the whole state in one read ------------------------------------------------------------
    def _look_again_after_launch(self) -> tuple[dict[str, Any], bool]:
        """(run.json, worker alive) read again for a run that says starting or running while no
        worker was seen. A launch writes 'starting' before its worker exists and the worker's pid
        after, both under the control lock: waiting for that lock (milliseconds) tells a start
        under way from a worker that died. A worker may also have written its last status
        between the first reads. A lock that cannot be had (a read-only folder): read again."""
        with contextlib.ExitStack() as stack:
            with contextlib.suppress(OSError):  # BlockingIOError (held 30 s), PermissionError
                stack.enter_context(self._control_lock())
            info = self.info()
            return info, self.worker_alive(info)

    def state(self) -> RunState:
        info = self.info()
        written = self.written_status(info)
        alive = self.worker_alive(info)
        stop = self.stop_requested()
        if written in (RunStatus.STARTING, RunStatus.RUNNING) and not alive:
            info, alive = self._look_again_after_launch()
            written = self.written_status(info)
        queue_lost = written == RunStatus.QUEUED and not self._queue_entry_exists()
        if queue_lost:
            info = self.info()  # promoted (or stopped) between our reads: its entry just went
            written = self.written_status(info)
            queue_lost = written == RunStatus.QUEUED and not self._queue_entry_exists()
        status = written
        error = info.get("error")
        if queue_lost:
            status = RunStatus.LOST
            error = (
                "The training queue holds no entry for this run (its queue folder was removed, or "
                "the server stopped while queueing it). Resume puts it back in the queue."
            )
        if written in (RunStatus.STARTING, RunStatus.RUNNING):
            if not alive:
                status = RunStatus.LOST
                error = error or (
                    "The training process ended without saying why (it may have run out of memory "
                    "or been killed). Resume continues from the last saved epoch."
                )
            elif stop:
                status = RunStatus.STOPPING
        config = info.get("config") or {}
        launched = info.get("launched_at")
        return RunState(
            status=status,
            written_status=written,
            error=error,
            stop_requested=stop,
            worker_alive=alive,
            epochs_total=int(config.get("epochs") or 0),
            epochs_done=self.epochs_done(info),
            saved_epochs=self.saved_epochs(),
            launched_at=float(launched) if isinstance(launched, (int, float)) else None,
        )


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (reaped if it is our exited child) and is a w2v_core process."""
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
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # no /proc (macOS): trust os.kill
    try:
        if (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return False
        return b"w2v_core" in (proc / "cmdline").read_bytes()  # not a reused pid
    except OSError:
        return False


TITLE_MAX_CHARS = 120


def clean_title(title: str) -> str:
    """A run name as stored: one line, no control characters, at most `TITLE_MAX_CHARS`."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in str(title)).split())
    if not cleaned:
        raise RunFolderError("A run's name cannot be empty: type a name.")
    if len(cleaned) > TITLE_MAX_CHARS:
        raise RunFolderError(
            f"A run's name can have at most {TITLE_MAX_CHARS} characters (this one has "
            f"{len(cleaned)}): shorten it."
        )
    return cleaned


def slug(text: str, limit: int = 40) -> str:
    """A folder-safe version of `text`: letters, digits and dashes."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:limit].strip("-") or "run"


def list_runs(root: str | Path) -> list[RunFolder]:
    """Run folders directly under `root`, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [RunFolder(p) for p in root.iterdir() if (p / "run.json").is_file()]

    def created(run: RunFolder) -> float:
        try:
            return run.run_json.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(runs, key=created, reverse=True)
