"""A stand-in training worker for tests/test_queue.py, run as a script: it takes the run's worker
lock, writes one epoch record per epoch (`FAKE_EPOCH_SECONDS` each; a STOP file stops it), finishes,
and starts the next queued run, as `python -m w2v_core resume RUN --worker` does, but in a fraction
of a second (no torch). Also a starter process (`start RUN...`: a Start on each, one thread each, at
once) and a look after a restart (`look ROOT`: `list_summaries`, which promotes the queue).

Imports only what the real worker's queue path imports (no pytest), so thirty of them stay cheap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO_ROOT))

from w2v_core import jobs  # noqa: E402
from w2v_core.run_folder import EpochRecord, RunFolder, RunStatus  # noqa: E402

STAND_IN = Path(__file__).resolve()


def fake_spawn(arguments: list[str], run, use_spare: bool = True) -> int:
    """`jobs._spawn` for the tests: this file as the worker. 'w2v_core' on its command line, as
    the real worker's, so `process_alive` recognises it."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with open(run.worker_log, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(STAND_IN), "worker", *arguments[1:], "w2v_core"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    return process.pid


def fake_worker(run_dir: str) -> int:
    """Train `run_dir` for pretend: one epoch record per epoch, `FAKE_EPOCH_SECONDS` each; a STOP
    file stops it; then, like the real worker, start the next queued run."""
    run = RunFolder.open(run_dir)
    seconds = float(os.environ.get("FAKE_EPOCH_SECONDS", "0.3"))
    try:
        with run.worker_lock():
            run.set_status(RunStatus.RUNNING, threads_used=run.config().cpu_threads)
            done = run.epochs_done()
            for epoch in range(done + 1, run.config().epochs + 1):
                deadline = time.time() + seconds
                while time.time() < deadline:
                    if run.stop_requested():
                        run.clear_stop_request()
                        run.set_status(RunStatus.STOPPED, epochs_completed=epoch - 1)
                        return 0
                    time.sleep(0.02)
                record = EpochRecord(epoch, run.config().epochs, epoch, 1.0, 1.0, seconds, 1.0,
                                     time.time())  # fmt: skip
                run.append_metrics(record)
                run.update(epochs_completed=epoch)
            run.set_status(RunStatus.FINISHED, epochs_completed=run.config().epochs)
    finally:
        jobs._spawn = fake_spawn
        jobs.start_queued(run.path.parent)
    return 0


def start_all(run_dirs: list[str]) -> int:
    """A second process pressing Start on each of `run_dirs`, one thread each, at once."""
    jobs._spawn = fake_spawn
    barrier = threading.Barrier(len(run_dirs))

    def press(path: str) -> None:
        barrier.wait()
        jobs.start(path)

    threads = [threading.Thread(target=press, args=(p,)) for p in run_dirs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "worker":
        sys.exit(fake_worker(rest[0]))
    if command == "start":
        sys.exit(start_all(rest))
    if command == "look":  # a new process after a restart: any look promotes the queue
        jobs._spawn = fake_spawn
        jobs.list_summaries(rest[0])
        sys.exit(0)
    sys.exit(f"unknown command {command}")
