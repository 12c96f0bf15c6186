"""Helpers for the app's tests: run folders with hand-made vectors, and an AppTest factory.

The vectors are built, not trained, so page tests run in a second and know the right answers: the
eight animal words point one way and the eight tool words another, with less noise in epoch 2 than
in epoch 1 (so neighbour lists change between epochs, as in real training).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.run_folder import EpochRecord, ProgressRecord, RunFolder
from w2v_core.vocab import Vocabulary

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "duck"]
TOOLS = ["hammer", "saw", "drill", "wrench", "chisel", "pliers", "file", "screw"]
WORDS = [w for pair in zip(ANIMALS, TOOLS, strict=True) for w in pair]  # mixed frequency order
DIM = 8


def topic_vectors(noise: float, seed: int) -> np.ndarray:
    """(16, DIM) vectors: animals along axis 0, tools along axis 1, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(scale=noise, size=(len(WORDS), DIM)).astype(np.float32)
    for i, word in enumerate(WORDS):
        vectors[i, 0 if word in ANIMALS else 1] += 1.0
    return vectors


def make_run(
    root: Path,
    folder: str = "20261121-120000-topics",
    title: str = "Topic test run",
    epochs: int = 2,
    status: str = "finished",
    seed: int = 0,
    error: str | None = None,
) -> Path:
    """A run folder under `root` with `epochs` saved checkpoints, metrics and the given status."""
    vocab = Vocabulary(WORDS, list(range(400, 400 - 10 * len(WORDS), -10)))
    documents = [ANIMALS * 3, TOOLS * 3] * 20
    corpus = encode_documents(documents, vocab)
    config = TrainConfig(dim=DIM, epochs=epochs, negative=3)
    run = RunFolder.create(
        root / folder,
        config,
        vocab,
        corpus,
        data={"label": "Topic words", "name": "topics"},
        name=title,
    )
    for epoch in range(1, epochs + 1):
        vectors = topic_vectors(noise=0.3 / epoch, seed=seed + epoch)
        tensors = {
            "input": torch.from_numpy(vectors),
            "output": torch.from_numpy(vectors[::-1].copy()),
        }
        run.save_checkpoint(epoch, tensors, {"epoch": epoch, "complete": True, "loss": 3.0 / epoch})
        for step in range(4):
            fraction = (epoch - 1 + (step + 1) / 4) / epochs
            run.append_metrics(
                ProgressRecord(
                    step=step,
                    epoch=epoch,
                    epochs=epochs,
                    fraction_done=fraction,
                    loss=3.2 / epoch - 0.1 * step,
                    epoch_loss=3.0 / epoch,
                    words_per_second=1000.0,
                    eta_seconds=1.0,
                    elapsed_seconds=float(step),
                    learning_rate=0.025,
                    device="CPU, 2 cores",
                    time=time.time(),
                )
            )
        run.append_metrics(
            EpochRecord(
                epoch=epoch,
                epochs=epochs,
                step=4 * epoch,
                fraction_done=epoch / epochs,
                loss=3.0 / epoch,
                seconds=1.0,
                words_per_second=1000.0,
                time=time.time(),
            )
        )
    if status == "created":  # prepared, never launched: no transition to make
        run.update(error=error, epochs_completed=epochs, device="CPU, 2 cores")
    else:
        run.set_status(status, error=error, epochs_completed=epochs, device="CPU, 2 cores")
    return run.path


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m w2v_core ARGS` as a script would run it."""
    return subprocess.run(
        [sys.executable, "-m", "w2v_core", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout,
    )  # fmt: skip


def progress_record(fraction: float, loss: float | None, epochs: int = 2) -> ProgressRecord:
    """A progress report at `fraction` of a run (the other fields do not matter to the caller)."""
    return ProgressRecord(
        step=int(fraction * 100), epoch=min(int(fraction * epochs) + 1, epochs), epochs=epochs,
        fraction_done=fraction, loss=loss, epoch_loss=loss, words_per_second=1000.0,
        eta_seconds=1.0, elapsed_seconds=1.0, learning_rate=0.025, device="CPU", time=time.time(),
    )  # fmt: skip


def epoch_record(epoch: int, loss: float | None, epochs: int = 2) -> EpochRecord:
    return EpochRecord(
        epoch=epoch, epochs=epochs, step=epoch * 100, fraction_done=epoch / epochs, loss=loss,
        seconds=1.0, words_per_second=1000.0, time=time.time(),
    )  # fmt: skip


@contextlib.contextmanager
def worker_holding_lock(run_dir: Path) -> Iterator[subprocess.Popen]:
    """A stand-in training worker: a process that holds the run's worker lock (and names w2v_core
    on its command line, as a real worker does) until the block ends."""
    code = (
        "import fcntl, sys, time; handle = open(sys.argv[1], 'a+b'); "
        "fcntl.flock(handle.fileno(), fcntl.LOCK_EX); print('locked', flush=True); time.sleep(120)"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code, str(run_dir / "worker.lock"), "w2v_core"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "locked"
        yield worker
    finally:
        worker.kill()
        worker.wait()


def app_test(timeout: float = 60):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=timeout)


def page(name: str) -> str:
    """Path of a page file as `AppTest.switch_page` wants it (relative to app.py)."""
    return f"app_pages/{name}.py"


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def read(elements) -> list[str]:
    """What a reader sees of each element's Markdown: backslash escapes shown as their character
    (user text is escaped before it is shown, so "1.5" is sent as "1\\.5"; the invisible word
    joiner that keeps Streamlit from linking URLs is not seen either)."""
    return [re.sub(r"\\(.)", r"\1", text).replace("\u2060", "") for text in texts(elements)]


def claim_for(at, *run_dirs: Path) -> None:
    """Make runs belong to the browser of AppTest `at` (as if that tab had started them): run.json's
    owner becomes the SHA-256 of the token its session holds (`w2v_ui.viewer`)."""
    from w2v_core.ownership import owner_id

    token = at.session_state["browser.token"]
    for run_dir in run_dirs:
        RunFolder(run_dir).update(owner=owner_id(token))
