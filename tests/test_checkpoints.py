"""Checkpoints stay small: optimizer state only where resuming reads it, and resuming stays exact."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.embeddings import Embeddings
from w2v_core.run_folder import VECTOR_TENSORS, RunFolder
from w2v_core.trainer import resume, train
from w2v_core.vocab import Vocabulary


@pytest.fixture
def small() -> tuple[Vocabulary, EncodedCorpus]:
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 12, 600).astype(np.int32)
    vocab = Vocabulary([f"w{i}" for i in range(12)], np.bincount(ids, minlength=12))
    return vocab, EncodedCorpus(ids, np.arange(0, 601, 20), np.arange(30))


def state_names(run: RunFolder, epoch) -> set[str]:
    """Names of the tensors a checkpoint holds beyond the vectors (read from the file itself)."""
    return set(run.load_checkpoint(epoch)) - set(VECTOR_TENSORS)


SETTINGS = [
    {"loss": "softmax", "optimizer": "adamw"},  # the blog preset's engine
    {"loss": "negative", "optimizer": "adam"},  # the d2l preset's engine
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(s.values()))
def test_only_the_newest_checkpoint_keeps_the_moments_and_resume_is_exact(
    tmp_path, small, settings
):
    vocab, corpus = small
    config = TrainConfig(epochs=5, dim=8, threads=1, seed=4, batch_size=32, **settings)
    run_a = RunFolder.create(tmp_path / "a", config, vocab, corpus)
    uninterrupted = train(config, vocab, corpus, run=run_a)
    assert run_a.checkpoint_epochs() == [1, 2, 3, 4, 5]
    assert state_names(run_a, 5), "the newest epoch must keep what resuming needs"
    for epoch in (1, 2, 3, 4):
        assert state_names(run_a, epoch) == set()
        assert set(run_a.checkpoint_meta(epoch)["tensors"]) == set(VECTOR_TENSORS)
    # the vectors of an older epoch are untouched by dropping its moments
    Embeddings.from_run(run_a.path, epoch=2, kind="output")

    # 3 epochs, then 2 more: epoch 3 was the newest, so it still had its moments to resume from
    run_b = RunFolder.create(tmp_path / "b", config.replace(epochs=3), vocab, corpus)
    train(config.replace(epochs=3), vocab, corpus, run=run_b)
    assert state_names(run_b, 3) and not state_names(run_b, 2)
    resumed = resume(RunFolder.open(run_b.path), config_changes={"epochs": 5})
    assert np.array_equal(resumed.input_vectors, uninterrupted.input_vectors)
    assert np.array_equal(resumed.output_vectors, uninterrupted.output_vectors)
    assert [e for e in run_b.checkpoint_epochs() if state_names(run_b, e)] == [5]
    for epoch in (1, 2, 3, 4, 5):
        a, b = run_a.load_checkpoint(epoch), run_b.load_checkpoint(epoch)
        assert torch.equal(a["input"], b["input"]) and torch.equal(a["output"], b["output"])


def test_a_stop_keeps_the_moments_of_the_stopped_and_the_newest_complete_checkpoint(
    tmp_path, small
):
    vocab, corpus = small
    config = TrainConfig(
        epochs=4, dim=8, threads=1, seed=4, batch_size=8, loss="softmax", optimizer="adamw"
    )
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    stop = threading.Event()
    train(
        config,
        vocab,
        corpus,
        run=run,
        stop_event=stop,
        report_interval=0.0,
        on_progress=lambda r: stop.set() if r.epoch == 3 and r.step > 0 else None,
    )
    assert run.checkpoint_epochs() == [1, 2] and run.has_stopped_checkpoint()
    assert state_names(run, 2) and state_names(run, "stopped") and not state_names(run, 1)
