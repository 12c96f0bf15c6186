"""The run's integrity: exclusive folders, one worker per run, liveness from the lock, stop at any
moment, damaged files met with one line, resume that never rewrites what was done, durable writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from app_support import cli, make_run, worker_holding_lock

from w2v_core import jobs
from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.errors import ConfigError, RunFolderError
from w2v_core.run_folder import RunFolder, RunStatus
from w2v_core.trainer import ProgressReport, resume, train
from w2v_core.vocab import Vocabulary


def one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def small_corpus(n_docs: int = 200):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    docs = [[words[j] for j in rng.integers(0, 40, 30)] for _ in range(n_docs)]
    vocab = Vocabulary.from_counts({w: sum(d.count(w) for d in docs) for w in words}, min_count=1)
    return vocab, encode_documents(docs, vocab)


# ---- exclusive folders, one worker ------------------------------------------------------------------
def test_two_creates_of_one_folder_at_once_give_one_run(tmp_path: Path) -> None:
    vocab, corpus = small_corpus(20)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            RunFolder.create(tmp_path / "same", TrainConfig(seed=i), vocab, corpus, name=f"n{i}")
            outcomes.append("created")
        except RunFolderError:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["refused"] * 7
    info = RunFolder(tmp_path / "same").info()
    assert info["config"]["seed"] == int(info["name"][1:])  # the winner's settings, whole


def test_starts_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    vocab, corpus = small_corpus(20)
    barrier = threading.Barrier(6)
    made: list[RunFolder] = []

    def start() -> None:
        barrier.wait()
        made.append(RunFolder.create_unique(tmp_path, "Quick demo", TrainConfig(), vocab, corpus))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({run.path for run in made}) == 6


def test_a_second_trainer_of_a_run_refuses(tmp_path: Path) -> None:
    path = make_run(tmp_path, status="stopped", epochs=2)
    RunFolder(path).update(config={**RunFolder(path).info()["config"], "epochs": 4})
    with worker_holding_lock(path), pytest.raises(RunFolderError, match="already being trained"):
        resume(RunFolder(path))
    assert RunFolder(path).metrics().epochs[-1].epoch == 2  # nothing was trained twice


def test_pressing_resume_twice_starts_one_worker(tmp_path: Path) -> None:
    path = make_run(tmp_path, status="stopped")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "w2v_core"])
    try:
        RunFolder(path).launch(lambda: sleeper.pid)
        with pytest.raises(RunFolderError, match="already training"):
            RunFolder(path).launch(lambda: pytest.fail("a second worker was started"))
    finally:
        sleeper.kill()
        sleeper.wait()


# ---- liveness comes from the lock ---------------------------------------------------------------
def test_a_killed_cli_run_shows_stopped_unexpectedly_and_stop_says_so(tmp_path: Path) -> None:
    path = make_run(tmp_path, status="running", epochs=2)
    RunFolder(path).update(config={**RunFolder(path).info()["config"], "epochs": 5})
    state = RunFolder(path).state()
    assert state.status == RunStatus.LOST and state.can_resume
    done = cli("stop", str(path))
    assert done.returncode == 0 and "not training" in done.stderr
    assert not RunFolder(path).stop_requested()
    status = cli("status", str(path), "--json")
    report = json.loads(status.stdout)
    assert (report["status"], report["can_resume"], report["worker_alive"]) == ("lost", True, False)


def test_list_and_status_commands(tmp_path: Path) -> None:
    make_run(tmp_path, folder="20260101-000000-a", title="First run", epochs=2)
    make_run(tmp_path, folder="20260101-000001-b", title="Second run", epochs=3, status="stopped")
    done = cli("list", str(tmp_path))
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.strip().splitlines()
    assert header.split() == ["NAME", "TITLE", "STATUS", "EPOCHS", "CREATED"]
    assert {row.split()[0] for row in rows} == {"20260101-000000-a", "20260101-000001-b"}
    assert any("Second run" in row and "stopped" in row and "3 / 3" in row for row in rows)
    status = cli("status", str(tmp_path / "20260101-000001-b"))
    assert "status:   stopped" in status.stdout and "3 of 3 done" in status.stdout
    assert cli("list", str(tmp_path / "nope")).returncode == 2


# ---- stop at any moment -------------------------------------------------------------------------
def test_a_stop_pressed_while_the_worker_starts_is_honoured(tmp_path: Path) -> None:
    vocab, corpus = small_corpus()
    run = RunFolder.create(tmp_path / "run", TrainConfig(epochs=50, dim=16), vocab, corpus)
    jobs.start(run.path)
    assert jobs.request_stop(run.path)  # at once: the worker is still importing torch
    deadline = time.time() + 120
    while run.state().status.active and time.time() < deadline:
        time.sleep(0.2)
    state = run.state()
    assert state.status == RunStatus.STOPPED, run.log_tail()
    assert state.epochs_done < 50 and not run.stop_requested()


def test_an_old_stop_request_does_not_stop_a_new_start(tmp_path: Path) -> None:
    vocab, corpus = small_corpus(20)
    run = RunFolder.create(tmp_path / "run", TrainConfig(epochs=1, dim=8), vocab, corpus)
    run.request_stop()  # left behind by a worker that died before honouring it
    sleeper = subprocess.Popen([sys.executable, "-c", "pass"])
    run.launch(lambda: sleeper.pid)
    sleeper.wait()
    assert not run.stop_requested()


# ---- damaged files: one line, never a traceback -----------------------------------------------
@pytest.fixture(scope="module")
def finished_cli_run(tmp_path_factory, lee_corpus_path) -> Path:
    out = tmp_path_factory.mktemp("integrity") / "run"
    done = cli("train", "--corpus", str(lee_corpus_path), "--out", str(out), "--epochs", "2",
               "--threads", "1", "--dim", "16", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def damaged_copy(source: Path, target: Path, damage) -> Path:
    import shutil

    shutil.copytree(source, target)
    damage(target)
    return target


def truncate(path: Path, keep: int = 40) -> None:
    path.write_bytes(path.read_bytes()[:keep])


DAMAGES = {
    "checkpoint": lambda r: truncate(r / "checkpoints" / "epoch_002.safetensors"),
    "vocab": lambda r: (r / "vocab.tsv").write_bytes(b"\xff\xfe\x00garbage\nno-tab-here\n"),
    "sidecar": lambda r: (r / "checkpoints" / "epoch_002.json").write_text("{oops"),
    "corpus": lambda r: truncate(r / "corpus.npz"),
    "run-json": lambda r: (r / "run.json").write_text("[1, 2"),
}


# Which command reads which file: exploring needs the vectors and vocabulary (not the settings or
# the encoded corpus); resuming needs everything; status needs run.json.
DAMAGE_CASES = [
    ("checkpoint", "neighbors"), ("checkpoint", "export"), ("checkpoint", "resume"),
    ("vocab", "neighbors"), ("vocab", "export"), ("vocab", "resume"),
    ("sidecar", "resume"), ("corpus", "resume"),
    ("run-json", "resume"), ("run-json", "status"),
]  # fmt: skip


@pytest.mark.parametrize(("damage", "command"), DAMAGE_CASES)
def test_a_damaged_run_folder_gives_one_line(finished_cli_run, tmp_path, damage, command) -> None:
    run = damaged_copy(finished_cli_run, tmp_path / "run", DAMAGES[damage])
    args = {
        "neighbors": ["neighbors", str(run), "the"],
        "export": ["export", str(run), "--out", str(tmp_path / "v.txt")],
        "resume": ["resume", str(run), "--epochs", "3", "--quiet"],
        "status": ["status", str(run)],
    }[command]
    one_line_error(cli(*args))


def test_damaged_metrics_lines_are_skipped(tmp_path: Path) -> None:
    path = make_run(tmp_path, epochs=2)
    with open(path / "metrics.jsonl", "ab") as handle:
        handle.write(b'\xff\xfe{"kind": "progress"}\n[1]\n{"kind": "epoch", "epoch": "x"\n')
    metrics = RunFolder(path).metrics()
    assert len(metrics.epochs) == 2 and len(metrics.progress) == 8


@pytest.mark.parametrize(
    ("option", "fragment"),
    [(["--seed", "-5"], "seed"), (["--device", "cuda"], "CUDA"), (["--threads", "0"], "Threads")],
)
def test_impossible_settings_leave_no_run_behind(tmp_path, lee_corpus_path, option, fragment):
    if option[1] == "cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    one_line_error(
        cli("train", "--corpus", str(lee_corpus_path), "--out", str(out), *option), fragment
    )
    assert not (out / "run.json").exists()


def test_a_device_that_vanished_marks_the_run_failed(tmp_path: Path) -> None:
    vocab, corpus = small_corpus(20)
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    run = RunFolder.create(tmp_path / "r", TrainConfig(device="cuda"), vocab, corpus)
    with pytest.raises(ConfigError, match="CUDA"):
        resume(run)
    assert run.state().status == RunStatus.FAILED and "CUDA" in run.state().error


def test_positive_options_reject_zero(finished_cli_run) -> None:
    line = one_line_error(cli("neighbors", str(finished_cli_run), "the", "--k", "0"), "--k")
    assert "at least 1" in line


# ---- resume adds, never rewrites ----------------------------------------------------------------
def test_resume_with_fewer_epochs_than_done_is_refused(finished_cli_run, tmp_path) -> None:
    run = damaged_copy(finished_cli_run, tmp_path / "run", lambda r: None)
    before = (run / "run.json").read_text()
    one_line_error(cli("resume", str(run), "--epochs", "1"), "already trained 2 epoch")
    assert (run / "run.json").read_text() == before


# ---- durable writes, temp files, retention ---------------------------------------------------------
def test_atomic_writes_fsync_the_file_and_the_folder(tmp_path, monkeypatch) -> None:
    from w2v_core import io_utils

    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").is_dir() else "?")
        real_fsync(fd)

    monkeypatch.setattr(io_utils.os, "fsync", spy)
    io_utils.atomic_write(tmp_path / "x.bin", lambda temp: temp.write_bytes(b"data"))
    assert any(p.endswith(".tmp") for p in synced)  # the data, before the rename
    assert str(tmp_path) in synced  # the folder, after it


def test_stale_temp_files_are_removed_when_a_worker_takes_the_run(tmp_path: Path) -> None:
    path = make_run(tmp_path, epochs=1)
    stale = path / "checkpoints" / ".epoch_002.safetensors.abc123.tmp"
    stale.write_bytes(b"\0" * 1000)
    fresh_other = path / "notes.txt"
    fresh_other.write_text("mine")
    with RunFolder(path).worker_lock():
        pass
    assert not stale.exists() and fresh_other.exists()


def test_keep_every_keeps_every_kth_epoch_and_the_last(tmp_path: Path) -> None:
    vocab, corpus = small_corpus(40)
    run = RunFolder.create(
        tmp_path / "r", TrainConfig(epochs=7, dim=8, keep_every=3), vocab, corpus
    )
    train(run.config(), vocab, corpus, run=run)
    assert run.checkpoint_epochs() == [3, 6, 7]
    assert [r.epoch for r in run.metrics().epochs] == [1, 2, 3, 4, 5, 6, 7]


# ---- what the trainer reports -----------------------------------------------------------------
def test_the_learning_rate_decays_once_over_the_whole_run(tmp_path: Path) -> None:
    """SGD's rate falls linearly from lr to lr * min_lr_fraction over all epochs, not per epoch:
    read from what train() reports at the start, the middle and the end."""
    vocab, corpus = small_corpus(200)
    config = TrainConfig(epochs=4, dim=8, threads=1, lr=0.02, min_lr_fraction=0.1)
    reports: list[ProgressReport] = []
    train(config, vocab, corpus, on_progress=reports.append, report_interval=0.0)

    def rate_near(fraction: float) -> float:
        return min(reports, key=lambda r: abs(r.fraction_done - fraction)).learning_rate

    assert reports[0].learning_rate == pytest.approx(0.02)
    assert rate_near(0.5) == pytest.approx(0.02 - 0.5 * 0.018, abs=0.002)
    assert reports[-1].learning_rate == pytest.approx(0.002, abs=1e-6)
    later_epochs = [r.learning_rate for r in reports if r.epoch >= 2]
    assert max(later_epochs) < 0.02 * 0.8  # the decay did not start over in epoch 2


def test_threads_used_are_recorded(tmp_path: Path) -> None:
    vocab, corpus = small_corpus(20)
    run = RunFolder.create(tmp_path / "r", TrainConfig(epochs=1, dim=8, threads=1), vocab, corpus)
    train(run.config(), vocab, corpus, run=run)
    assert run.info()["threads_used"] == 1


def test_a_cli_worker_killed_with_sigkill_is_lost_and_resumable(tmp_path, lee_corpus_path) -> None:
    import signal

    from app_support import REPO_ROOT

    out = tmp_path / "run"
    worker = subprocess.Popen(
        [sys.executable, "-m", "w2v_core", "train", "--corpus", str(lee_corpus_path), "--out",
         str(out), "--epochs", "400", "--dim", "16", "--threads", "1", "--quiet"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if (out / "run.json").is_file() and RunFolder(out).checkpoint_epochs():
                break
            time.sleep(0.1)
        assert RunFolder(out).state().status == RunStatus.RUNNING
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        worker.kill()
    state = RunFolder(out).state()
    assert state.status == RunStatus.LOST and state.can_resume and not state.worker_alive
    assert state.epochs_done >= 1
    done = cli("resume", str(out), "--epochs", str(state.epochs_done + 1), "--quiet")
    assert done.returncode == 0, done.stderr
    assert RunFolder(out).state().status == RunStatus.FINISHED
