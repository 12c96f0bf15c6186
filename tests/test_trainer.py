"""The training loop over both engines: learning, reports, stop, checkpoints, resume, bad settings."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from w2v_core.backends import select_engine
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus, build_from_text_file
from w2v_core.errors import ConfigError, CorpusError, TrainingDivergedError
from w2v_core.run_folder import STOPPED, RunFolder
from w2v_core.trainer import resume, train
from w2v_core.vocab import Vocabulary

ENGINES = ["fused-cpu", "batched-torch"]


@pytest.fixture(scope="module")
def lee(lee_corpus_path):
    return build_from_text_file(lee_corpus_path, min_count=5)


def neighbours(vectors: np.ndarray, vocab: Vocabulary, word: str, k: int) -> list[str]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit[vocab.id_of(word)]
    return [vocab.words[i] for i in np.argsort(-sims)[1 : k + 1]]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_planted_topics_are_learned(topic_corpus_file, engine, model):
    vocab, corpus = build_from_text_file(topic_corpus_file, min_count=1)
    config = TrainConfig(
        model=model, dim=16, window=3, epochs=3, engine=engine, threads=1, sample=0
    )
    result = train(config, vocab, corpus)
    animals = {"cat", "dog", "horse", "cow", "sheep", "goat", "pig", "duck"}
    for word in vocab.words:
        topic = animals if word in animals else set(vocab.words) - animals
        assert set(neighbours(result.input_vectors, vocab, word, 3)) <= topic, word


@pytest.mark.parametrize(
    "settings",
    [
        {"engine": "fused-cpu"},
        {"engine": "batched-torch"},
        {"engine": "batched-torch", "model": "cbow"},
        {"optimizer": "adam"},
        {"optimizer": "adamw", "loss": "softmax"},
        {"loss": "softmax", "model": "cbow"},
    ],
    ids=lambda s: "-".join(s.values()),
)
def test_loss_falls_on_real_text(lee, settings):
    vocab, corpus = lee
    epoch_losses = {}

    def record(report):
        if report.epoch_loss is not None:
            epoch_losses[report.epoch] = report.epoch_loss

    train(
        TrainConfig(epochs=3, threads=1, **settings),
        vocab,
        corpus,
        on_progress=record,
        report_interval=0.0,
    )
    assert epoch_losses[3] < epoch_losses[1] * 0.97


def test_negative_sampling_loss_starts_at_its_untrained_value(lee):
    """Output vectors start at zero, so every score is 0 and each term is -log σ(0) = log 2.

    A positive pair with 5 noise words therefore costs 6 * log 2 = 4.159 before learning.
    """
    vocab, corpus = lee
    first = []
    train(
        TrainConfig(epochs=1, engine="batched-torch", batch_size=16, threads=1),
        vocab,
        corpus,
        on_progress=lambda r: first.append(r.loss) if r.loss is not None else None,
        report_interval=0.0,
    )
    assert abs(first[0] - 6 * np.log(2)) < 0.02


def test_reports_arrive_at_least_every_second(lee):
    vocab, corpus = lee
    times = []
    train(
        TrainConfig(epochs=2, engine="batched-torch", threads=1),
        vocab,
        corpus,
        on_progress=lambda r: times.append(time.perf_counter()),
    )
    assert len(times) >= 3
    assert max(np.diff(times)) < 1.5


@pytest.mark.parametrize("engine", ENGINES)
def test_same_seed_gives_same_vectors(lee, engine):
    vocab, corpus = lee
    config = TrainConfig(epochs=1, engine=engine, threads=1, seed=7)
    a = train(config, vocab, corpus).input_vectors
    b = train(config, vocab, corpus).input_vectors
    c = train(config.replace(seed=8), vocab, corpus).input_vectors
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "settings",
    [{"engine": "fused-cpu"}, {"engine": "batched-torch"}, {"optimizer": "adam"}],
    ids=lambda s: "-".join(s.values()),
)
def test_resume_equals_uninterrupted(tmp_path, lee, settings):
    vocab, corpus = lee
    config = TrainConfig(epochs=3, threads=1, seed=3, **settings)
    uninterrupted = train(
        config, vocab, corpus, run=RunFolder.create(tmp_path / "a", config, vocab, corpus)
    )

    # Interrupt run b during epoch 2: stop as soon as epoch 2 reports.
    stop = threading.Event()
    run_b = RunFolder.create(tmp_path / "b", config, vocab, corpus)
    stopped = train(
        config,
        vocab,
        corpus,
        run=run_b,
        stop_event=stop,
        report_interval=0.0,
        on_progress=lambda r: stop.set() if r.epoch == 2 and r.step > 0 else None,
    )
    assert stopped.status == "stopped"
    assert run_b.checkpoint_epochs() == [1]
    assert run_b.has_stopped_checkpoint()
    assert run_b.info()["status"] == "stopped"

    resumed = resume(RunFolder.open(tmp_path / "b"))
    assert resumed.status == "finished"
    assert np.array_equal(resumed.input_vectors, uninterrupted.input_vectors)
    assert np.array_equal(resumed.output_vectors, uninterrupted.output_vectors)
    assert run_b.checkpoint_epochs() == [1, 2, 3]
    assert not run_b.has_stopped_checkpoint()
    epochs_logged = [r.epoch for r in run_b.metrics().epochs]
    assert epochs_logged == [1, 2, 3]


@pytest.mark.parametrize("engine", ENGINES)
def test_stop_request_is_honoured_within_a_second(tmp_path, lee, engine):
    vocab, corpus = lee
    config = TrainConfig(epochs=200, engine=engine, threads=1)
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.update(result=train(config, vocab, corpus, run=run))
    )
    worker.start()
    deadline = time.time() + 60
    while not run.checkpoint_epochs() and time.time() < deadline:
        time.sleep(0.05)
    asked = time.perf_counter()
    run.request_stop()  # the STOP file, as the app and `python -m w2v_core stop` do
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert time.perf_counter() - asked < 1.0 + 0.5  # + checkpoint writing
    assert outcome["result"].status == "stopped"
    tensors = run.load_checkpoint(STOPPED)
    assert tensors["input"].shape == (len(vocab), 100)
    assert torch.isfinite(tensors["input"]).all()
    assert not run.stop_requested()


def test_checkpoint_round_trip(tmp_path, lee):
    vocab, corpus = lee
    config = TrainConfig(epochs=2, engine="batched-torch", threads=1)
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus, data={"source": "test"})
    result = train(config, vocab, corpus, run=run)
    reopened = RunFolder.open(tmp_path / "run")
    tensors = reopened.load_checkpoint(2)
    assert np.array_equal(tensors["input"].numpy(), result.input_vectors)
    assert reopened.vocab() == vocab
    assert np.array_equal(reopened.corpus().token_ids, corpus.token_ids)
    info = reopened.info()
    assert info["status"] == "finished"
    assert info["epochs_completed"] == 2
    assert info["config"]["epochs"] == 2
    assert info["device"] == "CPU, 1 core"
    assert info["library_versions"]["torch"] == torch.__version__
    assert reopened.checkpoint_meta(2)["complete"] is True


def test_auto_engine_is_fused_for_sgd_negative_sampling_on_cpu():
    cpu = torch.device("cpu")
    assert select_engine(TrainConfig(), cpu).name == "fused-cpu"
    assert select_engine(TrainConfig(optimizer="adam"), cpu).name == "fused-adam-cpu"
    assert select_engine(TrainConfig(loss="softmax"), cpu).name == "softmax-torch"
    with pytest.raises(ConfigError):
        select_engine(TrainConfig(engine="fused-cpu", optimizer="adamw"), cpu)


# ---- bad settings and bad corpora -----------------------------------------------------------


def tiny_corpus(n_words: int) -> tuple[Vocabulary, EncodedCorpus]:
    words = [f"w{i}" for i in range(n_words)]
    vocab = Vocabulary(words, [10] * n_words)
    ids = np.arange(n_words * 10, dtype=np.int32) % n_words
    return vocab, EncodedCorpus(ids, np.array([0, len(ids)]), np.array([0]))


@pytest.mark.parametrize(
    ("settings", "n_words", "message"),
    [
        ({"window": 0}, 10, "Window must be at least 1"),
        ({"negative": 10}, 10, "needs a vocabulary larger"),
        ({}, 1, "at least two distinct words"),
        ({"lr": 1e6}, 10, "far too high"),
        ({"epochs": 0}, 10, "Epochs must be at least 1"),
        ({"dim": 0}, 10, "Vector size"),
    ],
)
def test_impossible_settings_are_explained(settings, n_words, message):
    vocab, corpus = tiny_corpus(n_words)
    with pytest.raises(ConfigError, match=message):
        train(TrainConfig(**settings), vocab, corpus)


def test_documents_too_short_to_pair_are_explained():
    vocab = Vocabulary(["a", "b", "c"], [5, 5, 5])
    corpus = EncodedCorpus(np.array([0, 1], dtype=np.int32), np.array([0, 1, 2]), np.array([0, 1]))
    with pytest.raises(CorpusError, match="fewer than two"):
        train(TrainConfig(negative=1), vocab, corpus)


@pytest.mark.parametrize("settings", [{"engine": "batched-torch"}, {"engine": "fused-cpu"}])
def test_diverging_learning_rate_stops_with_a_plain_reason(tmp_path, lee, settings):
    vocab, corpus = lee
    config = TrainConfig(lr=9.0, epochs=3, threads=1, dim=50, **settings)
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    with pytest.raises(TrainingDivergedError, match="learning rate"):
        train(config, vocab, corpus, run=run)
    info = run.info()
    assert info["status"] == "failed"
    assert "learning rate" in info["error"]
