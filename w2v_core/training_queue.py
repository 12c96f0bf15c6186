"""The training queue of a runs root: at most N trainings at once; the other runs wait their turn.

Layout::

    RUNS_ROOT/.queue/
      <run folder name>.json   one per queued run: when it was queued (ns), a random tie-break,
                               the epochs asked for; created exclusively (a run is queued once)
      queue.lock               held while an entry is added or the head is promoted

The queue lives on disk, so queued runs survive a server restart, and whoever next looks promotes
its head when a slot is free: the Start that queued a run, a worker that finishes (no server is
needed), the Train page polling, the command line's `list` and `status` (`w2v_core.jobs` calls
`promote` with its launcher). A slot is a live worker under the root: a run whose `worker.lock` is
held or whose worker was just launched (`RunFolder.worker_alive`), so trainings the command line
runs in the foreground count too, and a worker killed with -9 frees its slot with its life.
Promotion holds `queue.lock`, and a run goes from queued to starting under its own control lock
(`RunFolder.launch_from_queue`), so two promoters never start one run twice, nor more than N.

How many at once (`Capacity`): `W2V_MAX_TRAININGS` when the operator sets it, else half the cores
(at least one), bounded by half the memory over `WORKER_MEMORY_BYTES` per training; each training
gets `cores // N` threads (fewer if its own setting asks for fewer).

This module holds the entries, their order, the capacity, a queued run's place and estimated start;
it starts no process (`w2v_core.jobs` does) and leaves the run's status to `w2v_core.run_folder`.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from w2v_core.errors import ConfigError, RunFolderError
from w2v_core.io_utils import Folder, InFolder, holding_lock, publish_json_once, read_json
from w2v_core.run_folder import RunFolder

QUEUE_FOLDER = ".queue"  # under the runs root; list_runs skips it (no run.json)
MAX_TRAININGS_ENV = "W2V_MAX_TRAININGS"
# Memory one training takes: a worker that trained the Lee corpus (60k tokens, 100 dimensions, one
# epoch, with its evaluation) peaked at 434 MB resident; twice that leaves room for a larger corpus.
WORKER_MEMORY_BYTES = 1 << 30
MEMORY_SHARE = 0.5  # of the machine's memory, for trainings; the rest for the server and its caches
LOCK_WAIT_SECONDS = 30.0  # a promotion holds the lock for milliseconds (plus starting a process)


# ---- how many trainings at once ------------------------------------------------------------------
@dataclass(frozen=True)
class Capacity:
    """How many trainings may run at once under one runs root, and the threads each gets."""

    trainings: int
    cores: int
    reason: str  # for a person: where `trainings` comes from

    @property
    def threads_each(self) -> int:
        return max(1, self.cores // self.trainings)

    def threads_for(self, requested: int | None) -> int | None:
        """The thread count to give a run whose own setting is `requested` (None: all cores), or
        None when that setting already fits its share (then it is left as it is)."""
        wanted = requested or self.cores
        granted = min(wanted, self.threads_each)
        return granted if granted != wanted else None


def machine_cores() -> int:
    with contextlib.suppress(AttributeError, OSError):
        return max(1, len(os.sched_getaffinity(0)))  # the cores this process may use
    return os.cpu_count() or 1


def machine_memory_bytes() -> int | None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    return None


def capacity(environ: Mapping[str, str] | None = None) -> Capacity:
    """The capacity on this machine: `W2V_MAX_TRAININGS`, else from the cores and the memory.

    The memory bound uses the machine's total memory, not what is free this moment: free memory
    shrinks with the trainings themselves, and N must not change from one look to the next."""
    environ = os.environ if environ is None else environ
    cores = machine_cores()
    value = (environ.get(MAX_TRAININGS_ENV) or "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(
                f"{MAX_TRAININGS_ENV} must be a whole number of at least 1 (it is '{value}'): "
                "set it to how many trainings may run at once, or unset it."
            )
        return Capacity(int(value), cores, f"{MAX_TRAININGS_ENV}={int(value)}")
    by_cores = max(1, cores // 2)
    memory = machine_memory_bytes()
    by_memory = max(1, int(memory * MEMORY_SHARE) // WORKER_MEMORY_BYTES) if memory else by_cores
    trainings = min(by_cores, by_memory)
    gib = f", {memory / 2**30:.0f} GiB memory" if memory else ""
    return Capacity(trainings, cores, f"{cores} cores{gib}")


def requested_threads(info: dict[str, Any]) -> int | None:
    """The threads a run's own setting asks for (None: all cores). When the queue gave it fewer,
    its config holds the count given (what it trained with), and run.json's `threads_granted`
    remembers the request, so the next start uses the request again, not the share of a busy day."""
    config_threads = (info.get("config") or {}).get("threads")
    grant = info.get("threads_granted")
    granted = grant.get("granted") if isinstance(grant, dict) else None
    if granted is not None and config_threads == granted:
        return grant.get("requested")
    return config_threads


# ---- the entries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueEntry:
    """One queued run, as its file in the queue folder holds it."""

    run: str  # the run's folder name, directly under the runs root
    enqueued_ns: int  # time.time_ns() when it was queued
    tie: str  # random, breaks a tie of equal times
    epochs: int | None = None  # the new total asked for (train further), None: the run's own

    @property
    def order(self) -> tuple[int, str]:
        return (self.enqueued_ns, self.tie)

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "enqueued_ns": self.enqueued_ns, "tie": self.tie,
                "epochs": self.epochs}  # fmt: skip

    @classmethod
    def from_dict(cls, values: Any) -> QueueEntry | None:
        """None for a damaged entry (then it is skipped, and removed by the promoter)."""
        try:
            epochs = values.get("epochs")
            return cls(
                run=str(values["run"]),
                enqueued_ns=int(values["enqueued_ns"]),
                tie=str(values["tie"]),
                epochs=int(epochs) if epochs is not None else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None


class TrainingQueue(Folder):
    """The queue folder of one runs root."""

    lock_file = InFolder("queue.lock")

    @classmethod
    def of(cls, runs_root: str | Path) -> TrainingQueue:
        return cls(Path(runs_root) / QUEUE_FOLDER)

    @classmethod
    def of_run(cls, run: RunFolder) -> TrainingQueue:
        return cls.of(run.path.parent)

    @property
    def runs_root(self) -> Path:
        return self.path.parent

    def entry_file(self, run_name: str) -> Path:
        return self.path / f"{run_name}.json"

    def holds(self, run_name: str) -> bool:
        return self.entry_file(run_name).is_file()

    def is_empty(self) -> bool:
        """Cheap (one folder listing): what every look checks before anything else."""
        try:
            return not any(p.suffix == ".json" and not p.name.startswith(".")
                           for p in self.path.iterdir())  # fmt: skip
        except OSError:
            return True

    def entries(self) -> list[QueueEntry]:
        """The queued runs in order: first queued first (ties broken at random, once)."""
        return self._read()[0]

    def _read(self) -> tuple[list[QueueEntry], list[Path]]:
        """(the entries in order, the files of damaged ones)."""
        found, damaged = [], []
        with contextlib.suppress(OSError):
            for path in self.path.glob("*.json"):
                if path.name.startswith("."):
                    continue  # a temp file of an entry being written
                try:
                    entry = QueueEntry.from_dict(read_json(path))
                except (OSError, ValueError):
                    entry = None
                if entry is not None and entry.run == path.stem:
                    found.append(entry)
                else:
                    damaged.append(path)
        return sorted(found, key=lambda e: e.order), damaged

    @contextlib.contextmanager
    def locked(self, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
        """Hold `queue.lock` (adding an entry, promoting); `BlockingIOError` after `wait_seconds`."""
        self.path.mkdir(parents=True, exist_ok=True)
        with holding_lock(self.lock_file, wait_seconds=wait_seconds):
            yield

    def add(self, run: RunFolder, epochs: int | None = None) -> QueueEntry:
        """Queue `run` (hold `locked()`): its entry is written exclusively, and the run marked
        queued (`RunFolder.enqueue`), both under its control lock. `RunFolderError` when it is
        queued or training already."""
        if run.path.parent.resolve() != self.runs_root.resolve():
            raise RunFolderError(f"Run '{run.name}' is not in the runs folder '{self.runs_root}'.")
        entry = QueueEntry(run.name, time.time_ns(), secrets.token_hex(4), epochs)

        def write_entry() -> None:
            if not publish_json_once(self.entry_file(run.name), entry.to_dict()):
                raise RunFolderError(
                    f"Run '{run.title()}' is already waiting in the training queue."
                )

        run.enqueue(write_entry, enqueued_ns=entry.enqueued_ns)
        return entry

    def remove(self, run_name: str) -> None:
        self.entry_file(run_name).unlink(missing_ok=True)

    def withdraw(self, run: RunFolder) -> bool:
        """Take `run` out of the queue (a Stop while it waits), back to the status it had; False
        when it is not queued. Needs no queue lock: the run's control lock orders it against a
        promotion of the same run."""
        return run.leave_queue(lambda: self.remove(run.name))

    def promote(self, launch: Callable[[RunFolder, QueueEntry, Capacity], int | None]) -> dict:
        """Start queued runs, first first, while fewer than N trainings are alive (hold
        `locked()`). `launch(run, entry, capacity)` starts one (`RunFolder.launch_from_queue`) and
        returns its worker's pid, or None when the run is no longer queued. An entry whose run is
        gone, no longer queued, or fails to start is removed. Returns {run name: pid} started."""
        started: dict[str, int] = {}
        if self.is_empty():
            return started
        limit = capacity()
        busy = live_trainings(self.runs_root)
        if busy >= limit.trainings:
            return started  # the usual answer while runs wait: no entry read
        entries, damaged = self._read()
        for path in damaged:  # its run shows lost ("Resume puts it back in the queue")
            path.unlink(missing_ok=True)
        for entry in entries:
            run = RunFolder(self.runs_root / entry.run)
            if not run.run_json.is_file():
                self.remove(entry.run)  # deleted meanwhile
                continue
            if busy >= limit.trainings:
                break
            try:
                pid = launch(run, entry, limit)
            except BlockingIOError:  # its control lock is held for long: try again next look
                break
            except (RunFolderError, ValueError, OSError):
                pid = None  # could not start (run.json says why); not retried forever
            self.remove(entry.run)
            if pid is not None:
                started[entry.run] = pid
                busy += 1
        return started


def live_trainings(runs_root: str | Path) -> int:
    """How many runs under `runs_root` a live worker trains (or was just launched to)."""
    count = 0
    with contextlib.suppress(OSError):
        for path in Path(runs_root).iterdir():
            if (path / "run.json").is_file():
                with contextlib.suppress(RunFolderError, OSError):
                    count += RunFolder(path).worker_alive()
    return count


# ---- a queued run's place and estimated start ----------------------------------------------------
@dataclass(frozen=True)
class QueuePlace:
    """Where a queued run stands: place `place` of `of`, and about when it starts."""

    place: int  # 1-based
    of: int
    trainings: int  # how many run at once
    wait_seconds: float | None  # None: not known yet (no running training has reported a speed)

    def describe(self) -> str:
        """'Waiting for a free training slot: place 2 of 3, about 4 min'."""
        text = f"Waiting for a free training slot: place {self.place} of {self.of}"
        return (
            f"{text}, {describe_wait(self.wait_seconds)}" if self.wait_seconds is not None else text
        )


def describe_wait(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


def places(runs_root: str | Path, now: float | None = None) -> dict[str, QueuePlace]:
    """Every queued run's place and estimated wait, from the running runs' ETAs (their newest
    progress record's `eta_seconds`, less the time since) and, for the runs ahead in the queue,
    their words left (tokens x epochs to go) at the running runs' mean speed."""
    queue = TrainingQueue.of(runs_root)
    if queue.is_empty():
        return {}
    entries = queue.entries()
    now = time.time() if now is None else now
    limit = capacity()
    lefts, speeds = _running_seconds_left(Path(runs_root), now)
    speed = sum(speeds) / len(speeds) if speeds else None
    # Replay the queue: a run starts when fewer than N trainings would still be running; each
    # started run then ends after its words left at the mean speed. One unknown end (a training
    # that has not reported yet, with no speed to guess from) leaves every later start unknown.
    running = [left for left in lefts if left is not None]
    known = len(running) == len(lefts)
    heapq.heapify(running)
    clock = 0.0
    result = {}
    for number, entry in enumerate(entries, start=1):
        wait = None
        if known:
            while len(running) >= limit.trainings:
                clock = max(clock, heapq.heappop(running))
            wait = clock
            duration = _seconds_to_train(
                RunFolder(Path(runs_root) / entry.run), entry.epochs, speed
            )
            if duration is None:
                known = False
            else:
                heapq.heappush(running, clock + duration)
        result[entry.run] = QueuePlace(number, len(entries), limit.trainings, wait)
    return result


def place_of(run: RunFolder) -> QueuePlace | None:
    return places(run.path.parent).get(run.name)


PLACES_MAX_AGE_SECONDS = 2.0
_recent_places: dict[Path, tuple[int, float, dict[str, QueuePlace]]] = {}
_recent_places_lock = threading.Lock()


def recent_places(runs_root: str | Path) -> dict[str, QueuePlace]:
    """`places`, computed at most every `PLACES_MAX_AGE_SECONDS` per runs root in this process
    unless an entry came or went: every open Train tab of a queued run asks each second, and the
    answer costs a read of every live run's metrics and every entry's run.json."""
    root = Path(runs_root).resolve()
    try:
        stamp = TrainingQueue.of(root).path.stat().st_mtime_ns  # changes with every entry
    except OSError:
        return {}
    now = time.monotonic()
    with _recent_places_lock:
        cached = _recent_places.get(root)
        if cached is not None and cached[0] == stamp and now - cached[1] < PLACES_MAX_AGE_SECONDS:
            return cached[2]
    found = places(root)
    with _recent_places_lock:
        if len(_recent_places) > 64:
            _recent_places.clear()
        _recent_places[root] = (stamp, now, found)
    return found


def _running_seconds_left(root: Path, now: float) -> tuple[list[float | None], list[float]]:
    """(seconds left of each live training, None where unknown; their words/s)."""
    lefts: list[float | None] = []
    speeds: list[float] = []
    pending: list[RunFolder] = []
    for path in root.iterdir():
        if not (path / "run.json").is_file():
            continue
        run = RunFolder(path)
        try:
            if not run.worker_alive():
                continue
            launched = run.info().get("launched_at") or 0.0
        except (RunFolderError, OSError):
            continue
        progress = run.metrics().progress
        latest = progress[-1] if progress and progress[-1].time >= launched else None
        if latest is None or latest.eta_seconds is None:
            pending.append(run)  # not reporting yet: estimated below, from the others' speed
            continue
        lefts.append(max(latest.eta_seconds - (now - latest.time), 0.0))
        if latest.words_per_second > 0:
            speeds.append(latest.words_per_second)
    speed = sum(speeds) / len(speeds) if speeds else None
    for run in pending:
        lefts.append(_seconds_to_train(run, None, speed))
    return lefts, speeds


def _seconds_to_train(run: RunFolder, epochs: int | None, speed: float | None) -> float | None:
    if not speed:
        return None
    try:
        info = run.info()
        total = epochs or int((info.get("config") or {}).get("epochs") or 0)
        words = int(info.get("n_tokens") or 0) * max(total - run.epochs_done(info), 0)
    except (RunFolderError, OSError, ValueError, TypeError):
        return None
    return words / speed
