"""The training queue (`w2v_core.training_queue`, through `w2v_core.jobs`): at most N trainings at
once, the others wait in order in files under the runs root; Stop takes a run out; a finishing (or
killed) worker frees its slot; the queue survives a restart; the `queued` status's transitions.

Most tests run the real queue, locks and processes with a stand-in worker (`queue_stand_in.py`:
it takes the run's worker lock, writes one epoch record, finishes and starts the next queued run,
as `python -m w2v_core resume RUN --worker` does, without the seconds torch's import costs). The real worker is checked in the slow test at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from queue_stand_in import REPO_ROOT, STAND_IN, fake_spawn

from w2v_core import jobs, training_queue
from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.errors import ConfigError, RunFolderError
from w2v_core.io_utils import holding_lock
from w2v_core.run_folder import TRANSITIONS, ProgressRecord, RunFolder, RunStatus, process_alive
from w2v_core.training_queue import Capacity, TrainingQueue, capacity
from w2v_core.vocab import Vocabulary

WORDS = [f"w{i}" for i in range(12)]


# ---- helpers ---------------------------------------------------------------------------------------
def tiny_run(root: Path, title: str, epochs: int = 1, threads: int | None = None) -> RunFolder:
    vocab = Vocabulary(WORDS, list(range(60, 60 - len(WORDS), -1)))
    corpus = encode_documents([WORDS * 5, WORDS[::-1] * 5] * 3, vocab)
    config = TrainConfig(dim=8, epochs=epochs, negative=2, threads=threads)
    return RunFolder.create_unique(root, title, config, vocab, corpus, data=None, name=title)


def wait_until(condition, timeout: float, every: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


@pytest.fixture()
def fake_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_spawn", fake_spawn)


def set_slots(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setenv(training_queue.MAX_TRAININGS_ENV, str(n))


class AliveSampler:
    """Counts the live trainings under a root every few milliseconds: by worker locks held, and
    by `live_trainings` (locks, plus workers launched that have not taken theirs yet)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.max_locks = 0
        self.max_live = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        from w2v_core.io_utils import lock_is_held

        while not self._stop.is_set():
            locks = sum(lock_is_held(p / "worker.lock") for p in self.root.iterdir() if p.is_dir())
            self.max_locks = max(self.max_locks, locks)
            self.max_live = max(self.max_live, training_queue.live_trainings(self.root))
            self.samples += 1
            time.sleep(0.01)

    def __enter__(self) -> AliveSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def all_settled(runs: list[RunFolder]) -> bool:
    return all(not r.state().status.active for r in runs)


def check_each_trained_once_in_order(runs: list[RunFolder]) -> None:
    """Every run finished with exactly one record per epoch, and they started in queue order."""
    for run in runs:
        state = run.state()
        assert state.status == RunStatus.FINISHED, (run.name, state, run.log_tail())
        assert [r.epoch for r in run.metrics().epochs] == [1], run.name  # trained exactly once
    infos = [r.info() for r in runs]
    by_queue = sorted(infos, key=lambda i: i["queued"]["enqueued_ns"])
    by_start = sorted(infos, key=lambda i: i["launched_at"])
    assert [i["name"] for i in by_start] == [i["name"] for i in by_queue]


# ---- thirty Starts at once ---------------------------------------------------------------------------
def test_thirty_starts_at_once_from_thirty_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    """N=2: every Start is queued or running at once, none lost, none doubled, at most 2 alive at
    any moment, started in the order they were queued."""
    set_slots(monkeypatch, 2)
    runs = [tiny_run(tmp_path, f"run {i}") for i in range(30)]
    barrier = threading.Barrier(30)
    pids: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def press(run: RunFolder) -> None:
        barrier.wait()
        try:
            pids[run.name] = jobs.start(run.path)
        except BaseException as error:  # noqa: BLE001 - collected, asserted below
            errors.append(error)

    with AliveSampler(tmp_path) as sampler:
        began = time.perf_counter()
        threads = [threading.Thread(target=press, args=(r,)) for r in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        starts_seconds = time.perf_counter() - began
        assert not errors
        statuses = [r.state().status for r in runs]  # each queued, starting, running or done
        assert all(s.active or s == RunStatus.FINISHED for s in statuses), statuses
        assert sum(pid is not None for pid in pids.values()) >= 2  # two started at once
        queued = {r.name for r, s in zip(runs, statuses, strict=True) if s == RunStatus.QUEUED}
        assert {e.run for e in TrainingQueue.of(tmp_path).entries()} >= queued
        assert len(queued) >= 20  # the others wait (a few may have trained meanwhile)
        assert wait_until(lambda: all_settled(runs), 120, every=0.2)
    print(f"30 Starts from 30 threads: {starts_seconds:.2f} s; {sampler.samples} samples")
    assert sampler.max_locks <= 2 and sampler.max_live <= 2
    assert sampler.max_locks == 2  # and the two slots were used
    check_each_trained_once_in_order(runs)
    assert TrainingQueue.of(tmp_path).entries() == []


def test_thirty_starts_from_three_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_slots(monkeypatch, 2)
    runs = [tiny_run(tmp_path, f"run {i}") for i in range(30)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with AliveSampler(tmp_path) as sampler:
        starters = [
            subprocess.Popen(
                [sys.executable, str(STAND_IN), "start", *(str(r.path) for r in runs[k::3])],
                env=env,
            )  # fmt: skip
            for k in range(3)
        ]
        assert [p.wait(timeout=120) for p in starters] == [0, 0, 0]
        assert all(r.state().status.active or r.state().status == RunStatus.FINISHED for r in runs)
        assert wait_until(lambda: all_settled(runs), 120, every=0.2)
    assert sampler.max_locks <= 2 and sampler.max_live <= 2
    check_each_trained_once_in_order(runs)


# ---- stop, restart, a killed worker ------------------------------------------------------------------
def test_a_stop_takes_a_queued_run_out_of_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    busy, waiting = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "waiting")
    with holding_lock(busy.worker_lock_file):  # a training holds the one slot
        assert jobs.start(waiting.path) is None
        assert waiting.state().status == RunStatus.QUEUED
        with pytest.raises(RunFolderError, match="already waiting"):
            jobs.start(waiting.path)  # a second click queues it once
        assert jobs.request_stop(waiting.path) is True
        state = waiting.state()
        assert (state.status, state.stop_requested, state.can_resume) == (
            RunStatus.CREATED,
            False,
            True,
        )
        assert not TrainingQueue.of(tmp_path).holds(waiting.name)
    assert jobs.start_queued(tmp_path) == {}  # the slot is free, but nothing waits
    assert waiting.state().status == RunStatus.CREATED


def test_a_stopped_run_queued_again_and_stopped_is_stopped_with_its_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    busy, run = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "run", epochs=3)
    run.update(status="stopped", epochs_completed=1)
    with holding_lock(busy.worker_lock_file):
        jobs.start(run.path)
        assert run.state().status == RunStatus.QUEUED
        assert jobs.request_stop(run.path)
    assert (run.state().status, run.state().epochs_done) == (RunStatus.STOPPED, 1)


def test_a_failed_run_taken_out_of_the_queue_keeps_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    busy, run = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "run")
    run.update(status="failed", error="Training failed: out of memory")
    with holding_lock(busy.worker_lock_file):
        jobs.start(run.path)
        assert run.state().error is None  # queued: the old error is not shown
        jobs.request_stop(run.path)
    assert (run.state().status, run.state().error) == (
        RunStatus.FAILED,
        "Training failed: out of memory",
    )


def test_queued_runs_survive_a_restart_and_a_new_process_starts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    """The server queued three runs and stopped; the queue is files; a new process's first look
    (here `list_summaries`, as the Home page or `python -m w2v_core list`) starts them in order."""
    set_slots(monkeypatch, 1)
    busy = tiny_run(tmp_path, "busy")
    runs = [tiny_run(tmp_path, f"queued {i}") for i in range(3)]
    with holding_lock(busy.worker_lock_file):
        for run in runs:
            assert jobs.start(run.path) is None
    files = sorted(p.name for p in (tmp_path / training_queue.QUEUE_FOLDER).glob("*.json"))
    assert files == sorted(f"{r.name}.json" for r in runs)
    assert [e.run for e in TrainingQueue.of(tmp_path).entries()] == [r.name for r in runs]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    look = subprocess.run([sys.executable, str(STAND_IN), "look", str(tmp_path)], env=env,
                          timeout=60)  # fmt: skip
    assert look.returncode == 0
    assert wait_until(lambda: all_settled(runs), 60, every=0.2)
    check_each_trained_once_in_order(runs)


def test_a_killed_worker_frees_its_slot_for_the_next_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "60")
    first, second = tiny_run(tmp_path, "first"), tiny_run(tmp_path, "second")
    pid = jobs.start(first.path)
    assert pid is not None and jobs.start(second.path) is None
    assert wait_until(lambda: first.state().status == RunStatus.RUNNING, 30)
    assert jobs.run_view(second.path).status == RunStatus.QUEUED  # its slot is taken
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not process_alive(pid), 10)
    # its lock goes a moment after its memory (/proc's command line): the kernel closes files last
    assert wait_until(lambda: first.state().status == RunStatus.LOST, 10)
    assert wait_until(  # the Train page's next polls (a look checks the queue once a second)
        lambda: jobs.run_view(second.path).status in (RunStatus.STARTING, RunStatus.RUNNING), 10
    )
    assert jobs.request_stop(second.path)
    assert wait_until(lambda: not second.state().status.active, 30)


# ---- the place, the wait, the threads -------------------------------------------------------------
def test_place_and_wait_from_the_running_runs_eta(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    """One slot; the running run reports 120 s left at 100 words/s. Each queued run has 360
    tokens x 2 epochs = 720 words: 7.2 s at that speed. The first waits 120 s, the second
    120 + 7.2 s, the third 134.4 s."""
    set_slots(monkeypatch, 1)
    running = tiny_run(tmp_path, "running")
    queued = [tiny_run(tmp_path, f"queued {i}", epochs=2) for i in range(3)]
    assert queued[0].info()["n_tokens"] == 360  # 6 documents of 60 words
    now = time.time()
    with holding_lock(running.worker_lock_file):
        running.update(status="running", launched_at=now - 10)
        running.append_metrics(ProgressRecord(5, 1, 1, 0.5, 1.0, 1.0, 100.0, 120.0, 10.0, 0.025,
                                              "CPU", time=now))  # fmt: skip
        for run in queued:
            jobs.start(run.path)
        found = training_queue.places(tmp_path, now=now)
        waits = [found[r.name].wait_seconds for r in queued]
        assert waits == pytest.approx([120.0, 127.2, 134.4])
        assert [(found[r.name].place, found[r.name].of) for r in queued] == [(1, 3), (2, 3), (3, 3)]
        view = jobs.run_view(queued[1].path)
        assert view.queue_text == "Waiting for a free training slot: place 2 of 3, about 3 min"
        from w2v_ui import training_view

        assert training_view.progress_text(view)[1] == view.queue_text
        summaries = {s.name: s for s in jobs.list_summaries(tmp_path)}
        assert summaries[queued[2].name].status_text == "queued (3 of 3)"
        for run in queued:
            jobs.request_stop(run.path)


def test_the_wait_is_not_guessed_before_a_running_run_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    running, queued = tiny_run(tmp_path, "running"), tiny_run(tmp_path, "queued")
    with holding_lock(running.worker_lock_file):
        jobs.start(queued.path)
        place = training_queue.place_of(queued)
        assert (place.place, place.of, place.wait_seconds) == (1, 1, None)
        assert place.describe() == "Waiting for a free training slot: place 1 of 1"
        jobs.request_stop(queued.path)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "under a minute"), (59, "under a minute"), (61, "about 2 min"), (240, "about 4 min"),
     (5400, "about 1 h 30 min")],
)  # fmt: skip
def test_wait_wording(seconds: float, text: str) -> None:
    assert training_queue.describe_wait(seconds) == text


def test_capacity_from_the_environment_and_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert capacity({"W2V_MAX_TRAININGS": "3"}).trainings == 3
    with pytest.raises(ConfigError, match="W2V_MAX_TRAININGS must be a whole number"):
        capacity({"W2V_MAX_TRAININGS": "0"})
    with pytest.raises(ConfigError):
        capacity({"W2V_MAX_TRAININGS": "two"})
    monkeypatch.setattr(training_queue, "machine_cores", lambda: 16)
    monkeypatch.setattr(training_queue, "machine_memory_bytes", lambda: 64 * 2**30)
    assert capacity({}).trainings == 8  # half the cores
    monkeypatch.setattr(training_queue, "machine_memory_bytes", lambda: 6 * 2**30)
    assert capacity({}).trainings == 3  # half of 6 GiB at 1 GiB a training
    monkeypatch.setattr(training_queue, "machine_cores", lambda: 1)
    assert capacity({}).trainings == 1


def test_a_bad_max_trainings_is_said_at_start_and_breaks_no_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    run = tiny_run(tmp_path, "run")
    monkeypatch.setenv(training_queue.MAX_TRAININGS_ENV, "lots")
    with pytest.raises(ConfigError, match="W2V_MAX_TRAININGS"):
        jobs.start(run.path)
    assert run.state().status == RunStatus.CREATED and TrainingQueue.of(tmp_path).is_empty()
    assert [s.name for s in jobs.list_summaries(tmp_path)] == [run.name]  # Home still lists
    assert jobs.run_view(run.path).status == RunStatus.CREATED


@pytest.mark.parametrize(
    ("cores", "trainings", "requested", "given"),
    [
        (2, 1, None, None),  # one at a time on 2 cores: all cores, as before the queue
        (2, 2, None, 1),  # two at once: one core each
        (8, 2, None, 4),
        (8, 2, 2, None),  # asks for fewer than its share: left as asked
        (8, 2, 6, 4),  # asks for more: its share
    ],
)
def test_threads_fit_the_cores(cores, trainings, requested, given) -> None:
    assert Capacity(trainings, cores, "test").threads_for(requested) == given


def test_a_promoted_run_gets_its_share_of_threads_and_keeps_its_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4 cores, 2 at once: a run asking for all cores gets 2 threads (passed as --threads, which
    the worker records in its config), and run.json remembers that it asked for all of them."""
    monkeypatch.setattr(training_queue, "machine_cores", lambda: 4)
    set_slots(monkeypatch, 2)
    calls: list[list[str]] = []
    monkeypatch.setattr(jobs, "_spawn", lambda arguments, run, use_spare=True: calls.append(
        arguments) or fake_spawn(["resume", str(run.path)], run))  # fmt: skip
    run = tiny_run(tmp_path, "run")
    jobs.start(run.path)
    assert calls[0][-2:] == ["--threads", "2"]
    assert wait_until(lambda: not run.state().status.active, 30)
    info = run.info()
    assert info["threads_granted"] == {"requested": None, "granted": 2}
    run.update(config={**info["config"], "threads": 2})  # what `resume --threads 2` writes
    assert training_queue.requested_threads(run.info()) is None  # all cores, as asked


# ---- the queued status ------------------------------------------------------------------------------
def test_queued_transitions() -> None:
    for status in (RunStatus.CREATED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.FINISHED):
        assert RunStatus.QUEUED in TRANSITIONS[status]  # Start / Resume / train further
    for status in (RunStatus.STARTING, RunStatus.RUNNING):
        assert RunStatus.QUEUED in TRANSITIONS[status]  # a dead worker's run, queued again
    assert TRANSITIONS[RunStatus.QUEUED] >= {
        RunStatus.STARTING,  # promoted
        RunStatus.RUNNING,  # a command-line resume trains it at once
        RunStatus.CREATED,  # a Stop, back to where it was
        RunStatus.STOPPED,
        RunStatus.FINISHED,
        RunStatus.FAILED,
    }
    assert RunStatus.QUEUED.active and not RunStatus.QUEUED.ended
    assert RunStatus.QUEUED.label == "queued"


def test_a_training_run_cannot_be_queued(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, "run")
    run.update(status="running")
    with (
        holding_lock(run.worker_lock_file),
        pytest.raises(RunFolderError, match="already training"),
    ):
        jobs.start(run.path)
    assert not TrainingQueue.of(tmp_path).holds(run.name)


def test_a_queued_run_whose_entry_is_gone_shows_lost_and_can_be_queued_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    busy, run = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "run")
    with holding_lock(busy.worker_lock_file):
        jobs.start(run.path)
        TrainingQueue.of(tmp_path).remove(run.name)  # the queue folder was cleaned by hand
        state = run.state()
        assert (state.status, state.can_resume) == (RunStatus.LOST, True)
        assert "training queue" in state.error
        assert jobs.start(run.path) is None  # Resume queues it again
        assert run.state().status == RunStatus.QUEUED
        assert jobs.request_stop(run.path)
    assert run.state().status == RunStatus.CREATED  # where it was before the first queueing


def test_a_queued_run_cannot_be_deleted_until_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    busy, run = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "run")
    with holding_lock(busy.worker_lock_file):
        jobs.start(run.path)
        with pytest.raises(RunFolderError, match="waits in the training queue"):
            jobs.delete_run(run.path, tmp_path)
        jobs.request_stop(run.path)
        jobs.delete_run(run.path, tmp_path)
    assert not run.path.exists()


def test_an_entry_of_a_deleted_run_is_dropped(tmp_path: Path, fake_workers: None) -> None:
    queue = TrainingQueue.of(tmp_path)
    queue.path.mkdir()
    (queue.path / "gone.json").write_text(
        json.dumps({"run": "gone", "enqueued_ns": 1, "tie": "a", "epochs": None})
    )
    assert jobs.start_queued(tmp_path) == {}
    assert queue.entries() == []


def test_a_damaged_entry_is_dropped_and_its_run_can_be_queued_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    set_slots(monkeypatch, 1)
    busy, run = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "run")
    with holding_lock(busy.worker_lock_file):
        jobs.start(run.path)
        TrainingQueue.of(tmp_path).entry_file(run.name).write_text("{not json")
    assert jobs.start_queued(tmp_path) == {}  # a free slot, but no readable entry
    assert run.state().status == RunStatus.LOST
    assert jobs.start(run.path) is not None  # Resume queues it again, and it starts
    assert wait_until(lambda: run.state().status == RunStatus.FINISHED, 30), run.log_tail()


def test_status_and_list_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    fake_workers: None,
) -> None:
    from w2v_core import cli

    set_slots(monkeypatch, 1)
    busy, run = tiny_run(tmp_path, "busy"), tiny_run(tmp_path, "run")
    with holding_lock(busy.worker_lock_file):
        jobs.start(run.path)
        cli.main(["status", str(run.path)])
        assert "queue:    Waiting for a free training slot: place 1 of 1" in capsys.readouterr().out
        cli.main(["status", str(run.path), "--json"])
        report = json.loads(capsys.readouterr().out)
        assert (report["status"], report["queue_place"], report["queue_length"]) == ("queued", 1, 1)
        cli.main(["list", str(tmp_path)])
        assert "queued (1 of 1)" in capsys.readouterr().out
        cli.main(["stop", str(run.path)])
        assert "Taken out of the training queue" in capsys.readouterr().err


# ---- the real worker ------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_workers_train_queued_runs_one_after_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m w2v_core resume --worker` itself: with one slot, three Starts train one at a
    time, each finishing worker starting the next; one epoch record each."""
    set_slots(monkeypatch, 1)
    monkeypatch.setenv("W2V_SPARE_WORKER", "0")
    runs = [tiny_run(tmp_path, f"run {i}") for i in range(3)]
    with AliveSampler(tmp_path) as sampler:
        pids = [jobs.start(r.path) for r in runs]
        assert pids[0] is not None and pids[1:] == [None, None]
        assert wait_until(lambda: all_settled(runs), 300, every=0.5)
    assert sampler.max_locks == 1 and sampler.max_live == 1
    check_each_trained_once_in_order(runs)


def test_stopping_a_study_takes_its_queued_members_out_of_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    """A study's coordinator started two members with one slot: one trains, one waits. Stopping
    the study stops the first and takes the second out of the queue (else the study would wait
    for a run that has not begun)."""
    from w2v_core.stability import Study

    set_slots(monkeypatch, 1)
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "60")
    vocab = Vocabulary(WORDS, list(range(60, 60 - len(WORDS), -1)))
    corpus = encode_documents([WORDS * 5, WORDS[::-1] * 5] * 3, vocab)
    study = Study.create(tmp_path / "study", TrainConfig(dim=4, epochs=1, negative=2), vocab,
                         corpus, {}, n_runs=2, runs_root=tmp_path)  # fmt: skip
    first, second = (RunFolder(m.path) for m in study.members())
    assert jobs.start(first.path) is not None and jobs.start(second.path) is None
    statuses = [m.status for m in study.progress().members]
    assert statuses[0] in (RunStatus.STARTING, RunStatus.RUNNING)
    assert statuses[1] == RunStatus.QUEUED and statuses[1].active  # counts against `parallel`
    study.request_stop()
    assert second.state().status == RunStatus.CREATED
    assert not TrainingQueue.of(tmp_path).holds(second.name)
    assert wait_until(lambda: first.state().status == RunStatus.STOPPED, 30), first.log_tail()


def test_the_train_page_shows_a_queued_run_and_its_stop_takes_it_out(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch, fake_workers: None
) -> None:
    """The Train page of a run waiting behind another: the progress line says its place, Stop is
    there (queued counts as active), and Stop puts it back to stopped with its epochs."""
    from app_support import app_test, claim_for, make_run, worker_holding_lock

    set_slots(monkeypatch, 1)
    busy = make_run(runs_root, folder="20261121-120000-busy", status="running")
    path = make_run(runs_root, folder="20261121-120001-waiting", status="stopped")
    RunFolder(path).update(config={**RunFolder(path).info()["config"], "epochs": 4})
    with worker_holding_lock(busy):
        assert jobs.start(path) is None
        at = app_test(timeout=120).run()
        at.session_state["run"] = path.name
        claim_for(at, path)
        at.switch_page("app_pages/train.py").run()
        assert not at.exception, at.exception
        text = at.get("progress")[0].proto.text
        assert text.startswith("Waiting for a free training slot: place 1 of 1"), text
        sidebar = " ".join(m.value for m in at.sidebar.markdown)
        assert ":violet-badge[queued \\(1 of 1\\)]" in sidebar, sidebar  # its place, in violet
        at.switch_page("app_pages/home.py").run()
        table = at.dataframe[0].value
        assert sorted(table["Status"]) == ["queued (1 of 1)", "training"], table
        at.switch_page("app_pages/train.py").run()
        at.button(key="train.stop").click().run()
        assert not at.exception, at.exception
        state = RunFolder(path).state()
        assert (state.status, state.epochs_done) == (RunStatus.STOPPED, 2)
        assert not TrainingQueue.of(runs_root).holds(path.name)
