"""The spare worker (`w2v_core.spare_worker`): a process that did a worker's start-up in advance
and trains the next run it is handed; with no spare, or a dead one, runs start as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from w2v_core import jobs, spare_worker
from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.run_folder import RunFolder, RunStatus, process_alive
from w2v_core.vocab import Vocabulary

WORDS = [f"w{i}" for i in range(12)]


def tiny_run(root: Path, title: str) -> RunFolder:
    vocab = Vocabulary(WORDS, list(range(60, 60 - len(WORDS), -1)))
    corpus = encode_documents([WORDS * 5, WORDS[::-1] * 5] * 3, vocab)
    config = TrainConfig(dim=8, epochs=2, negative=2, threads=1)
    return RunFolder.create_unique(root, title, config, vocab, corpus, data=None, name=title)


def wait_until(condition, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_no_spare_means_no_hand_over(tmp_path: Path) -> None:
    assert spare_worker.hand_over(tmp_path, ["resume", str(tmp_path / "run"), "--worker"]) is None


def test_the_pipe_of_a_dead_spare_is_not_used(tmp_path: Path) -> None:
    """A pipe nobody reads (its spare died): the launcher skips and removes it."""
    folder = spare_worker.spares_folder(tmp_path)
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    os.mkfifo(folder / f"{dead.pid}.fifo")
    assert spare_worker.hand_over(tmp_path, ["resume", "x", "--worker"]) is None
    assert list(folder.iterdir()) == []
    assert spare_worker.waiting_spares(tmp_path) == []


def test_a_spare_whose_server_is_gone_exits_without_warming_up(tmp_path: Path) -> None:
    started = time.perf_counter()
    assert spare_worker.main([str(tmp_path), "--parent", str(os.getpid() + 1)]) == 0
    assert time.perf_counter() - started < 5


def test_a_hand_over_outside_the_runs_root_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "other" / "run"
    message = json.dumps({"arguments": ["resume", str(elsewhere), "--worker"]}).encode()
    assert spare_worker._become_worker(message, tmp_path / "runs") == 2
    assert not (elsewhere / "worker.log").exists()


@pytest.mark.slow
def test_a_spare_trains_the_next_run_and_the_one_after_starts_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("W2V_MAX_TRAININGS", "2")  # both at once, not one after the other
    spare = spare_worker.start_spare(tmp_path)
    replacements: list[Path] = []
    monkeypatch.setattr(spare_worker, "start_spare", lambda root, **kw: replacements.append(root))
    assert spare is not None
    assert wait_until(lambda: spare_worker.waiting_spares(tmp_path) == [spare], 180)
    assert spare_worker.ensure_spare(tmp_path) == spare  # one spare, not two

    first, second = tiny_run(tmp_path, "first"), tiny_run(tmp_path, "second")
    assert jobs.start(first.path) == spare  # handed over
    assert replacements == [tmp_path]  # the next spare is asked for
    cold = jobs.start(second.path)  # no spare waits now: a fresh worker
    assert cold != spare
    for run in (first, second):
        assert wait_until(lambda run=run: not jobs.run_view(run.path).active, 180)
        assert jobs.run_view(run.path).status == RunStatus.FINISHED, run.log_tail()
        assert run.saved_epochs() == [1, 2]
        assert "Finished 2 epoch(s)" in run.worker_log.read_text()
    assert wait_until(lambda: not process_alive(spare), 30)  # the spare was that worker
    assert not list(spare_worker.spares_folder(tmp_path).glob("*.fifo*"))
