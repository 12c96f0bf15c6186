"""The d2l book's loss on its way from the engine to the person: trainer records, metrics files old
and new, the Train page's chart and line, and `python -m w2v_core status`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_support import cli

from w2v_core import jobs
from w2v_core.config import TrainConfig
from w2v_core.corpus import build_from_text_file
from w2v_core.run_folder import EpochRecord, ProgressRecord, RunFolder, record_from_dict
from w2v_core.trainer import train
from w2v_ui import charts, training_view


@pytest.fixture(scope="module")
def adam_run(tmp_path_factory, lee_corpus_path) -> Path:
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=2)
    config = TrainConfig(dim=16, epochs=2, threads=1, optimizer="adam", lr=0.005, batch_size=128)
    path = tmp_path_factory.mktemp("d2l") / "run"
    train(config, vocab, corpus, RunFolder.create(path, config, vocab, corpus), report_interval=0)
    return path


def test_epoch_records_carry_the_d2l_loss_and_it_falls(adam_run):
    epochs = RunFolder.open(adam_run).metrics().epochs
    d2l = [record.d2l_loss for record in epochs]
    assert all(value is not None for value in d2l)
    assert d2l[1] < d2l[0] < 0.6932  # below log 2, the loss of a score of 0
    # the book's figure averages a pair's 1 + 5 terms; ours adds them: about 6 times larger
    assert all(3 * r.d2l_loss < r.loss < 7 * r.d2l_loss for r in epochs)


def test_metrics_written_before_the_d2l_loss_still_read():
    old_progress = {"kind": "progress", "step": 3, "epoch": 1, "epochs": 2, "fraction_done": 0.1,
                    "loss": 2.5, "epoch_loss": 2.6, "words_per_second": 1000.0, "eta_seconds": 9.0,
                    "elapsed_seconds": 1.0, "learning_rate": 0.01, "device": "CPU", "time": 5.0}  # fmt: skip
    old_epoch = {"kind": "epoch", "epoch": 1, "epochs": 2, "step": 9, "fraction_done": 0.5,
                 "loss": 2.4, "seconds": 3.0, "words_per_second": 900.0, "time": 6.0}  # fmt: skip
    progress, epoch = record_from_dict(old_progress), record_from_dict(old_epoch)
    assert isinstance(progress, ProgressRecord) and progress.d2l_loss is None
    assert isinstance(epoch, EpochRecord) and epoch.d2l_loss is None
    assert record_from_dict({**old_epoch, "d2l_loss": 0.41}).d2l_loss == 0.41


def test_chart_shows_the_d2l_loss_beside_ours_only_when_reported(adam_run):
    view = jobs.run_view(adam_run)
    names = [trace.name for trace in charts.loss_chart(view.progress, view.epochs, 2).data]
    assert f"{charts.D2L_LOSS_LABEL}, epoch average" in names
    assert "average over the epoch" in names
    without = [
        ProgressRecord(1, 1, 2, 0.5, 2.0, 2.0, 100.0, 1.0, 1.0, 0.025, "CPU", time=1.0),
    ]
    assert all("d2l" not in t.name for t in charts.loss_chart(without, [], 2).data)


def test_train_page_line_names_the_books_scale(adam_run):
    view = jobs.run_view(adam_run)
    line = training_view.d2l_loss_line(view)
    expected = RunFolder.open(adam_run).metrics().epochs[-1].d2l_loss
    assert line is not None and f"{expected:.4f}" in line
    assert "mean per context/noise position" in line


def test_status_prints_the_d2l_loss(adam_run):
    done = cli("status", str(adam_run), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    expected = RunFolder.open(adam_run).metrics().epochs[-1].d2l_loss
    assert report["d2l_loss"] == pytest.approx(expected)
    text = cli("status", str(adam_run)).stdout
    assert f"d2l loss: {expected:.4f}" in text


def test_d2l_preset_has_the_books_settings_and_trains_with_the_fused_adam_engine():
    """d2l 15.4: batch_size 512, max_window_size 5, num_noise_words 5, embed_size 100, lr 0.002,
    num_epochs 5, Adam; 15.3: subsampling t = 1e-4. PTB valid+test is 122k words here."""
    import torch

    from w2v_core.backends import select_engine
    from w2v_ui.train_settings import preset_config

    config = preset_config("d2l", n_tokens=122_478, vocab_size=1_820)
    settings = (config.model, config.loss, config.window, config.negative, config.dim)
    assert settings == ("skipgram", "negative", 5, 5, 100)
    schedule = (config.optimizer, config.lr, config.batch_size, config.epochs)
    assert schedule == ("adam", 0.002, 512, 5)
    assert config.sample == 1e-4
    assert select_engine(config, torch.device("cpu")).name == "fused-adam-cpu"


def test_the_train_page_shows_the_d2l_loss_of_a_run_that_has_it(runs_root):
    import os
    import time

    from app_support import app_test, claim_for, make_run, page, texts

    plain = make_run(runs_root, folder="20261201-120000-sgd", epochs=2)
    with_d2l = make_run(runs_root, folder="20261201-120001-adam", epochs=2)
    RunFolder(with_d2l).append_metrics(
        EpochRecord(2, 2, 8, 1.0, 1.5, 1.0, 1000.0, time=time.time() + 1, d2l_loss=0.4321)
    )
    for run, expected in ((with_d2l, True), (plain, False)):
        at = app_test(timeout=120).run()
        at.session_state["run"] = run.name
        claim_for(at, Path(os.environ["W2V_RUNS_DIR"]) / run.name)
        at.switch_page(page("train")).run()
        assert not at.exception, at.exception
        shown = [t for t in texts(at.caption) if charts.D2L_LOSS_LABEL in t]
        assert bool(shown) == expected, shown
        if expected:
            assert "0.4321" in shown[0]
