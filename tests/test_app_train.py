"""Train page: presets scaled to the corpus, settings checked before a job starts, the live view of
finished, failed and stopped runs, and (slow) a real background training job."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from app_support import app_test, claim_for, make_run, page, texts

from w2v_core import jobs, sources
from w2v_core.run_folder import RunFolder, RunStatus


def open_train(run: str | None = None, data=None):
    """The Train page of a tab whose current run is `run`, as after that tab pressed Start (so the
    run is this browser's)."""
    at = app_test(timeout=120).run()
    if run:
        at.session_state["run"] = run
        claim_for(at, Path(os.environ["W2V_RUNS_DIR"]) / run)
    if data is not None:
        at.session_state["data_source"] = data
    at.switch_page(page("train")).run()
    assert not at.exception, at.exception
    return at


def test_quick_demo_is_scaled_to_the_default_corpus(runs_root: Path) -> None:
    at = open_train()
    assert at.radio(key="train.preset").value == "quick"
    # Lee corpus after default preprocessing: ~25k tokens; 1.5M words of work is capped at 15 epochs.
    assert at.number_input(key="train.epochs").value == 15
    at.radio(key="train.preset").set_value("classic").run()
    assert at.number_input(key="train.epochs").value == 20  # under 50k tokens: 20 passes
    assert at.select_slider(key="train.dim").value == 50  # and small vectors


def test_an_impossible_setting_is_refused_before_any_job_starts(runs_root: Path) -> None:
    tiny = sources.store_upload("four.txt", ("alpha beta gamma delta\n" * 20).encode())
    at = open_train(data=tiny)
    at.slider(key="train.negative").set_value(10).run()
    at.button(key="train.start").click().run()
    assert any("vocabulary larger than that" in text for text in texts(at.error))
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_a_finished_run_shows_its_loss_and_the_next_steps(runs_root: Path) -> None:
    path = make_run(runs_root, epochs=3)
    at = open_train(run=path.name)
    assert at.get("progress")[0].proto.text == "Finished all 3 epochs"
    assert len(at.get("plotly_chart")) == 1
    assert any("Vectors are ready" in text for text in texts(at.success))
    assert {link.proto.label for link in at.get("page_link")} >= {"Map", "Neighbours"}


def test_a_failed_run_says_what_happened_and_what_to_try(runs_root: Path) -> None:
    path = make_run(
        runs_root,
        status="failed",
        error="The loss became NaN or infinite in epoch 2: the learning rate is too high.",
    )
    RunFolder(path).worker_log.write_text("Traceback ...\nTrainingDivergedError\n")
    at = open_train(run=path.name)
    assert any("NaN" in text for text in texts(at.error))
    assert any("Lower the learning rate" in text for text in texts(at.markdown))
    assert at.expander and any("log" in e.label for e in at.expander)


def test_a_diverged_run_offers_a_new_run_with_a_lower_learning_rate_not_resume(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_run(
        runs_root,
        epochs=1,
        status="failed",
        error="The loss became NaN or infinite in epoch 2: the learning rate (0.025) is probably "
        "too high.",
    )
    RunFolder(path).update(config={**RunFolder(path).info()["config"], "epochs": 4})
    started: list[Path] = []
    monkeypatch.setattr(jobs, "start", lambda run_dir: started.append(Path(run_dir)))
    at = open_train(run=path.name)
    assert not [b for b in at.button if b.key == "train.resume"]
    restart = at.button(key="train.restart_lower_lr")
    assert restart.label == "Start again with a lower learning rate"
    restart.click().run()
    assert not at.exception, at.exception
    assert len(started) == 1 and started[0].name != path.name
    new, old = RunFolder(started[0]), RunFolder(path)
    assert new.config().learning_rate == pytest.approx(old.config().learning_rate / 10)
    assert new.config().epochs == 4 and new.config().dim == old.config().dim
    assert list(new.vocab().words) == list(old.vocab().words)
    assert at.session_state["run"] == started[0].name  # the Train page now shows the new run
    assert old.state().status == RunStatus.FAILED  # the diverged run stays as it was


def test_a_stopped_run_can_be_resumed(runs_root: Path) -> None:
    path = make_run(runs_root, epochs=2, status="stopped")
    RunFolder(path).update(config={**RunFolder(path).info()["config"], "epochs": 4})
    at = open_train(run=path.name)
    assert any("Stopped after 2 complete epoch" in text for text in texts(at.info))
    assert at.button(key="train.resume").label == "Resume"


@pytest.mark.slow
def test_start_trains_in_the_background_and_the_page_reattaches(runs_root: Path) -> None:
    at = open_train()
    at.number_input(key="train.epochs").set_value(2).run()
    at.checkbox(key="train.reproducible").check().run()
    at.button(key="train.start").click().run()
    assert not at.exception, at.exception
    name = at.session_state["run"]
    path = runs_root / name
    assert RunFolder(path).worker_pid_file.is_file()
    deadline = time.time() + 240
    while jobs.run_view(path).active and time.time() < deadline:
        time.sleep(1)
    assert jobs.run_view(path).status == RunStatus.FINISHED, RunFolder(path).log_tail()
    fresh = open_train(run=name)  # a new session (another tab) sees the finished run
    assert fresh.get("progress")[0].proto.text == "Finished all 2 epochs"
    assert RunFolder(path).checkpoint_epochs() == [1, 2]
    info = RunFolder(path).info()
    assert info["config"]["threads"] == 1 and info["threads_used"] == 1  # "reproducible" was ticked
