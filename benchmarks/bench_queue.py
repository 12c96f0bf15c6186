"""What the training queue costs: 30 Starts pressed at once, and one look at a queued run.

    .venv/bin/python benchmarks/bench_queue.py [--starts 30] [--finished 200] [--slots 2]

A temp runs folder gets `--finished` finished runs (as a class's server accumulates), then
`--starts` tiny runs are started from as many threads at once with `--slots` trainings allowed. The
workers are stand-ins that sleep (a real worker's start-up is not what is measured here), so the
figures are the queue's own: the wall time of the Starts (queue lock, exclusive entry files, fsyncs,
spawning the first `--slots` processes), then the time of what every poll of the Train page does
for a queued run (`jobs.run_view`: a promotion check that finds no free slot, and the place and
estimated wait, each at most once a second per process: the median is the cached look, the max
the fresh one), of `jobs.list_summaries` (Home, the CLI's list), of `start_queued` alone (a
promotion check that finds no free slot: what every look pays at most once a second), and of
`training_queue.places` (place and wait of every queued run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from w2v_core import jobs, training_queue  # noqa: E402
from w2v_core.config import TrainConfig  # noqa: E402
from w2v_core.corpus import encode_documents  # noqa: E402
from w2v_core.run_folder import RunFolder  # noqa: E402
from w2v_core.vocab import Vocabulary  # noqa: E402

WORDS = [f"w{i}" for i in range(12)]
SLEEPERS: list[subprocess.Popen] = []


def sleeper_spawn(arguments: list[str], run, use_spare: bool = True) -> int:
    """A stand-in worker that only lives (its command line names w2v_core, as a worker's does)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", "w2v_core"],
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    SLEEPERS.append(process)
    return process.pid


def tiny_run(root: Path, title: str) -> RunFolder:
    vocab = Vocabulary(WORDS, list(range(60, 60 - len(WORDS), -1)))
    corpus = encode_documents([WORDS * 5, WORDS[::-1] * 5] * 3, vocab)
    config = TrainConfig(dim=8, epochs=1, negative=2)
    return RunFolder.create_unique(root, title, config, vocab, corpus, name=title)


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--finished", type=int, default=200)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.environ[training_queue.MAX_TRAININGS_ENV] = str(args.slots)
    jobs._spawn = sleeper_spawn
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            for i in range(args.finished):
                tiny_run(root, f"finished {i}").update(status="finished", epochs_completed=1)
            runs = [tiny_run(root, f"queued {i}") for i in range(args.starts)]
            barrier = threading.Barrier(len(runs))

            def press(run: RunFolder) -> None:
                barrier.wait()
                jobs.start(run.path)

            threads = [threading.Thread(target=press, args=(r,)) for r in runs]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            starts = time.perf_counter() - began
            queued = len(training_queue.TrainingQueue.of(root).entries())
            last = root / training_queue.TrainingQueue.of(root).entries()[-1].run
            look = timed(lambda: jobs.run_view(last), args.repeats)
            listing = timed(lambda: jobs.list_summaries(root), max(args.repeats // 4, 3))
            promote = timed(lambda: jobs.start_queued(root), args.repeats)
            place = timed(lambda: training_queue.places(root), args.repeats)
            alive = training_queue.live_trainings(root)
    finally:
        for process in SLEEPERS:
            process.kill()
            process.wait()

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"

    print(f"runs folder: {args.finished} finished runs + {args.starts} started, {args.slots} slots")
    print(f"{args.starts} Starts from {args.starts} threads at once: {starts:.2f} s wall")
    print(f"  then: {alive} alive, {queued} queued")
    print(f"run_view of a queued run (a Train page poll): {ms(look)}")
    print(f"list_summaries (Home, `list`): {ms(listing)}")
    print(f"start_queued with no free slot: {ms(promote)}")
    print(f"places (all {queued} queued runs): {ms(place)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
