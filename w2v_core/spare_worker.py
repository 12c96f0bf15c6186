"""A spare training worker: a process that has already paid for its start-up and waits for a run.

A fresh worker spends seconds before it trains the first word: starting Python, importing torch
(2-3 s on 2 cores), loading the compiled kernels from numba's cache, importing the evaluation's
gensim and scipy. The app keeps one spare per runs root that did all of that in advance, so Start
hands it the run and the first epoch follows within a second (the Quick demo's start-up,
`benchmarks/bench_app.py`).

The hand-over is a named pipe `<runs root>/.spare-workers/<pid>.fifo` that the spare keeps open for
reading. A launcher claims a spare by renaming its pipe (atomic: two Starts at once never get the
same spare), writes one JSON line (the run folder and the `resume` arguments) and gets the spare's
pid as the worker's pid. The spare then becomes exactly the worker `python -m w2v_core resume RUN
--worker` would have been: same code path, the run's `worker.log` as its output, the worker lock.
No spare (none started, one that died, Windows), and the launcher starts a worker as before.

A spare exits when the process that started it (the app's server) is gone, or after
`SPARE_IDLE_SECONDS` without work. After a hand-over the launcher starts the next spare, which waits
`REPLACEMENT_DELAY_SECONDS` before its own start-up so that it does not compete with the run just
handed over for the CPU.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SPARES_FOLDER = ".spare-workers"  # under the runs root; list_runs skips it (no run.json)
SPARE_IDLE_SECONDS = 6 * 3600
REPLACEMENT_DELAY_SECONDS = 20.0
CLAIMED_WAIT_SECONDS = 30.0  # a claimed spare waits this long for the launcher's message
ENABLE_ENV = "W2V_SPARE_WORKER"  # "0": never start spares (the CLI never does)
_PIPE_SUFFIX = ".fifo"
_POLL_SECONDS = 2.0
_MESSAGE_MAX_BYTES = 64 * 1024


def spares_folder(runs_root: str | Path) -> Path:
    return Path(runs_root) / SPARES_FOLDER


def enabled() -> bool:
    return hasattr(os, "mkfifo") and os.environ.get(ENABLE_ENV, "1") != "0"


# ---- the launcher's side ---------------------------------------------------------------------------
def hand_over(runs_root: str | Path, arguments: Sequence[str]) -> int | None:
    """Give `python -m w2v_core ARGUMENTS` to a waiting spare; its pid, or None when no spare
    took it (then start a worker the usual way)."""
    folder = spares_folder(runs_root)
    if not hasattr(os, "mkfifo") or not folder.is_dir():
        return None
    message = (json.dumps({"arguments": list(arguments)}) + "\n").encode()
    for pipe in sorted(folder.glob(f"*{_PIPE_SUFFIX}")):
        pid = _pid_of(pipe)
        claimed = pipe.with_name(f"{pipe.name}.claimed-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.rename(pipe, claimed)  # atomic: only one launcher wins this spare
        except OSError:
            continue
        try:
            descriptor = os.open(claimed, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:  # ENXIO: nobody reads it, the spare is gone
            with contextlib.suppress(OSError):
                claimed.unlink()
            if error.errno not in (errno.ENXIO, errno.ENOENT):
                raise
            continue
        try:
            os.write(descriptor, message)  # far below the pipe's buffer: never blocks
        finally:
            os.close(descriptor)
        if pid is not None:
            return pid
    return None


def start_spare(runs_root: str | Path, delay: float = 0.0, niceness: int = 0) -> int | None:
    """Start a spare for `runs_root` in the background (detached, at `niceness`); its pid."""
    if not enabled():
        return None
    folder = spares_folder(runs_root)
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    project_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    with open(folder / "spare.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "w2v_core.spare_worker", str(Path(runs_root).resolve()),
             "--delay", str(delay), "--parent", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=project_root,
            env=env, start_new_session=True, close_fds=True,
        )  # fmt: skip
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, process.pid, niceness)
    return process.pid


def waiting_spares(runs_root: str | Path) -> list[int]:
    """Pids of the spares waiting under `runs_root` (their pipe exists and they are alive)."""
    from w2v_core.run_folder import process_alive

    folder = spares_folder(runs_root)
    pids = [_pid_of(p) for p in folder.glob(f"*{_PIPE_SUFFIX}")] if folder.is_dir() else []
    return [pid for pid in pids if pid is not None and process_alive(pid)]


def ensure_spare(runs_root: str | Path, niceness: int = 0) -> int | None:
    """Start a spare unless one waits already (once when the app starts)."""
    if not enabled():
        return None
    waiting = waiting_spares(runs_root)
    if waiting:
        return waiting[0]
    _remove_dead_pipes(runs_root)
    return start_spare(runs_root, niceness=niceness)


def _pid_of(pipe: Path) -> int | None:
    try:
        return int(pipe.name.split(".", 1)[0])
    except ValueError:
        return None


def _remove_dead_pipes(runs_root: str | Path) -> None:
    from w2v_core.run_folder import process_alive

    folder = spares_folder(runs_root)
    for pipe in folder.glob(f"*{_PIPE_SUFFIX}*") if folder.is_dir() else []:
        pid = _pid_of(pipe)
        if pid is None or not process_alive(pid):
            with contextlib.suppress(OSError):
                pipe.unlink()


# ---- the spare's side ------------------------------------------------------------------------------
def warm_up() -> None:
    """Everything a worker would otherwise do before its first word: torch, the trainer, the
    compiled kernels of the common shapes (numba compiles one per vector size), the evaluation."""
    import numpy as np
    import torch

    import w2v_core.evaluation  # noqa: F401  (gensim, scipy: the first evaluation's imports)
    import w2v_core.trainer  # noqa: F401
    from w2v_core.backends import engine_class
    from w2v_core.backends.base import initial_vectors
    from w2v_core.config import TrainConfig
    from w2v_core.corpus import encode_documents
    from w2v_core.vocab import Vocabulary

    engine = engine_class("fused-cpu")
    if engine is None:  # no numba here: the batched engine needs no compilation
        return
    words = [f"w{i}" for i in range(16)]
    vocab = Vocabulary(words, list(range(100, 100 - len(words), -1)))
    corpus = encode_documents([words * 4, words[::-1] * 4], vocab)
    counts = np.asarray(vocab.counts, dtype=np.int64)
    for model in ("skipgram", "cbow"):
        for dim in (50, 100):  # the presets' sizes; others compile on first use as before
            config = TrainConfig(model=model, dim=dim, negative=3, epochs=1)
            vectors = initial_vectors(len(words), dim, seed=0)
            engine(config, counts, corpus, *vectors, torch.device("cpu"))


def _become_worker(message: bytes, runs_root: Path) -> int:
    """Run the handed-over command as this process, output to the run's worker.log."""
    from w2v_core import cli

    arguments = [str(a) for a in json.loads(message.decode())["arguments"]]
    run_dir = Path(arguments[1])
    if arguments[0] != "resume" or run_dir.resolve().parent != runs_root.resolve():
        print(f"Refused a hand-over outside {runs_root}: {arguments[:2]}", flush=True)
        return 2
    log = os.open(run_dir / "worker.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return cli.main(arguments)


def _wait_for_work(pipe: Path, parent: int) -> bytes | None:
    """The handed-over message, or None when the spare should exit (parent gone, idle too long)."""
    descriptor = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    # Keep a writer of our own open, so select() does not report end-of-file forever after a
    # launcher closes its end.
    keep_open = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
    idle_since = time.monotonic()
    received = b""
    claimed_at: float | None = None
    try:
        while True:
            readable, _, _ = select.select([descriptor], [], [], _POLL_SECONDS)
            if readable:
                with contextlib.suppress(BlockingIOError):
                    received += os.read(descriptor, _MESSAGE_MAX_BYTES)
                if b"\n" in received:
                    return received.split(b"\n", 1)[0]
                if len(received) > _MESSAGE_MAX_BYTES:
                    return None
            if os.getppid() != parent:  # the server that started this spare is gone
                return None
            if not pipe.exists():  # a launcher renamed the pipe: its message is on the way
                claimed_at = claimed_at or time.monotonic()
                if time.monotonic() - claimed_at > CLAIMED_WAIT_SECONDS:  # it never came
                    return None
            elif time.monotonic() - idle_since > SPARE_IDLE_SECONDS:
                return None
    finally:
        os.close(keep_open)
        os.close(descriptor)


def serve(runs_root: Path, delay: float, parent: int) -> int:
    """The spare's life: wait `delay`, warm up, offer itself through a pipe, then either train the
    run handed over or exit."""
    wake_at = time.monotonic() + max(delay, 0.0)
    while True:
        if os.getppid() != parent:
            return 0
        if time.monotonic() >= wake_at:
            break
        time.sleep(min(1.0, wake_at - time.monotonic()))
    warm_up()
    folder = spares_folder(runs_root)
    folder.mkdir(parents=True, exist_ok=True)
    pipe = folder / f"{os.getpid()}{_PIPE_SUFFIX}"
    os.mkfifo(pipe, 0o600)
    message = None
    try:
        message = _wait_for_work(pipe, parent)
    finally:
        for leftover in [pipe, *folder.glob(f"{pipe.name}.claimed-*")]:
            with contextlib.suppress(OSError):
                leftover.unlink()
    if message is None:
        return 0
    return _become_worker(message, runs_root)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m w2v_core.spare_worker")
    parser.add_argument("runs_root", type=Path)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--parent", type=int, default=os.getppid())
    args = parser.parse_args(argv)
    return serve(args.runs_root, args.delay, args.parent)


if __name__ == "__main__":
    sys.exit(main())
