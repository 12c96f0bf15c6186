"""Tests of the fused CPU engine (w2v_core.backends.fused_cpu).

The kernels read σ from a 1024-cell table over [-6, 6], so their updates match the exact formulas to
about 0.3 % (half a cell of σ's slope): the hand-checked updates below allow 1 % relative error.
Every test uses dim 16 so the kernels compile once (numba caches them on disk).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from w2v_core.backends.base import ChunkResult, EpochContext, initial_vectors
from w2v_core.backends.fused_cpu import (
    FusedCpuEngine,
    alias_table,
    chunk_bounds,
    chunk_words,
    corpus_segments,
    vector_length_marker,
)
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus, build_from_text_file
from w2v_core.sampling import linear_learning_rate, noise_distribution

DIM = 16


def make_corpus(*documents: list[int]) -> EncodedCorpus:
    token_ids = np.concatenate([np.asarray(d, dtype=np.int32) for d in documents])
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in documents])]).astype(np.int64)
    return EncodedCorpus(token_ids, offsets, np.arange(len(documents), dtype=np.int64))


def constant_lr_context(epoch: int, lr: float, results: list[ChunkResult] | None = None):
    def on_chunk(result: ChunkResult) -> bool:
        if results is not None:
            results.append(result)
        return False

    return EpochContext(epoch=epoch, lr_at=lambda fraction: lr, on_chunk=on_chunk)


def train_epochs(engine: FusedCpuEngine, config: TrainConfig, epochs: range) -> list[float]:
    """Run epochs with word2vec's linear decay over `config.epochs`; mean loss of each epoch."""
    start = config.learning_rate
    losses = []
    for epoch in epochs:
        results: list[ChunkResult] = []
        context = EpochContext(
            epoch=epoch,
            lr_at=lambda f, e=epoch: linear_learning_rate(
                start, start * config.min_lr_fraction, (e + f) / config.epochs
            ),
            on_chunk=lambda r, out=results: out.append(r) or False,
        )
        assert engine.run_epoch(context)
        losses.append(sum(r.loss_sum for r in results) / sum(r.loss_count for r in results))
    return losses


def new_engine(config: TrainConfig, counts: np.ndarray, corpus: EncodedCorpus) -> FusedCpuEngine:
    input_vectors, output_vectors = initial_vectors(len(counts), config.dim, config.seed)
    return FusedCpuEngine(config, counts, corpus, input_vectors, output_vectors)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def assert_same_updates(after: np.ndarray, expected: np.ndarray, before: np.ndarray) -> None:
    """Each row's update matches to 1 % of its length (the σ table's error is ~0.3 %)."""
    actual_step = after.astype(np.float64) - before
    expected_step = expected - before
    error = np.linalg.norm(actual_step - expected_step, axis=1)
    assert np.all(error <= 0.01 * np.linalg.norm(expected_step, axis=1) + 1e-7), error


# ---- tables and chunking --------------------------------------------------------------------------
def test_alias_table_draws_exactly_the_noise_distribution():
    counts = np.array([50, 20, 20, 7, 2, 1, 0])
    wanted = noise_distribution(counts, 0.75)
    packed = alias_table(wanted)
    threshold = (packed & np.uint64(0xFFFFFFFF)).astype(np.float64) / 2.0**32  # P(keep cell)
    alias = (packed >> np.uint64(32)).astype(np.int64)
    drawn = threshold.copy()  # each cell gives itself with P = threshold ...
    np.add.at(drawn, alias, 1.0 - threshold)  # ... and its alias otherwise
    np.testing.assert_allclose(drawn / len(counts), wanted, atol=1e-9)
    assert drawn[-1] == 0.0  # a word never seen is never a noise word


def test_segments_split_long_documents_and_chunks_group_segments():
    # documents of 3, 22 and 1 tokens; segments of at most 10 words
    starts = corpus_segments(np.array([0, 3, 25, 26]), max_words=10)
    assert starts.tolist() == [0, 3, 13, 23, 25, 26]
    # segment starts 0, 3 | 13 | 23, 25 fall in blocks 0, 0 | 1 | 2, 2 of 10 positions
    assert chunk_bounds(starts, 10).tolist() == [0, 2, 3, 5]


def test_vector_length_marker_encodes_any_allowed_dimension():
    for dim in (1, 16, 100, 300, 2048):
        blocks, rest = vector_length_marker(dim)
        assert 16 * len(blocks) + len(rest) == dim
        assert len(blocks) < 1000 and len(rest) < 16  # numba refuses tuples of 1000 or more


def test_costly_settings_get_smaller_chunks():
    assert chunk_words(TrainConfig()) == 10_000
    assert chunk_words(TrainConfig(dim=300, window=10, negative=20)) == 1_000


# ---- hand-checked updates -------------------------------------------------------------------------
def test_skipgram_updates_equal_sgd_on_the_autograd_loss():
    """Corpus 'a b' (ids 0, 1), window 1, no subsampling; word 2 ('c') is the only noise word.

    word2vec.c's order: centre a with context b, then centre b with context a. Each pair is one SGD
    step on -log σ(v_context · u_centre) - log σ(-v_context · u_c) with both gradients taken before
    the step, which is what autograd computes below.
    """
    counts = np.array([0, 0, 1])  # noise ∝ count ** 0.75: always word 2
    config = TrainConfig(dim=DIM, window=1, negative=1, sample=0, threads=1, seed=3)
    rng = np.random.default_rng(0)
    v0 = rng.normal(0, 0.3, (3, DIM)).astype(np.float32)
    u0 = rng.normal(0, 0.3, (3, DIM)).astype(np.float32)
    engine = FusedCpuEngine(config, counts, make_corpus([0, 1]), torch.tensor(v0), torch.tensor(u0))
    lr = 0.1
    results: list[ChunkResult] = []
    assert engine.run_epoch(constant_lr_context(0, lr, results))

    v = torch.tensor(v0, dtype=torch.float64)
    u = torch.tensor(u0, dtype=torch.float64)
    expected_loss = 0.0
    for context, centre in [(1, 0), (0, 1)]:
        v_c = v[context].clone().requires_grad_(True)
        u_t = u[centre].clone().requires_grad_(True)
        u_n = u[2].clone().requires_grad_(True)
        loss = -torch.nn.functional.logsigmoid(v_c @ u_t) - torch.nn.functional.logsigmoid(
            -(v_c @ u_n)
        )
        loss.backward()
        expected_loss += loss.detach().item()
        v[context] -= lr * v_c.grad
        u[centre] -= lr * u_t.grad
        u[2] -= lr * u_n.grad

    state = engine.state_tensors()
    assert_same_updates(state["input"].numpy(), v.numpy(), v0)
    assert_same_updates(state["output"].numpy(), u.numpy(), u0)
    assert sum(r.loss_count for r in results) == 2  # two positive pairs
    assert sum(r.loss_sum for r in results) == pytest.approx(expected_loss, rel=2e-3)
    assert sum(r.words_done for r in results) == 2


def test_cbow_updates_follow_word2vec_formula():
    """Corpus 'a b a' (ids 0, 1, 0), window 1, no subsampling, word 2 the only noise word.

    For each centre: h = mean of its context input vectors; for the targets (centre, label 1) and
    (noise word 2, label 0): g = lr * (label - σ(h · u)), e += g * u, u += g * h; then e is added to
    every context word's input vector, in full (gensim's cbow_mean=1 and word2vec.c do not divide
    it). Centre 1 has context a twice, so a receives 2e.
    """
    counts = np.array([0, 0, 1])
    config = TrainConfig(model="cbow", dim=DIM, window=1, negative=1, sample=0, threads=1)
    rng = np.random.default_rng(1)
    v0 = rng.normal(0, 0.3, (3, DIM)).astype(np.float32)
    u0 = rng.normal(0, 0.3, (3, DIM)).astype(np.float32)
    engine = FusedCpuEngine(
        config, counts, make_corpus([0, 1, 0]), torch.tensor(v0), torch.tensor(u0)
    )
    lr = 0.2
    results: list[ChunkResult] = []
    assert engine.run_epoch(constant_lr_context(0, lr, results))

    v = v0.astype(np.float64)
    u = u0.astype(np.float64)
    expected_loss = 0.0
    for centre, contexts in [(0, [1]), (1, [0, 0]), (0, [1])]:
        h = v[contexts].mean(axis=0)
        e = np.zeros(DIM)
        for target, label in [(centre, 1.0), (2, 0.0)]:
            score = h @ u[target]
            expected_loss += -np.log(sigmoid(score if label else -score))
            g = lr * (label - sigmoid(score))
            e += g * u[target]
            u[target] += g * h
        for context in contexts:
            v[context] += e

    state = engine.state_tensors()
    assert_same_updates(state["input"].numpy(), v, v0)
    assert_same_updates(state["output"].numpy(), u, u0)
    assert sum(r.loss_count for r in results) == 3  # three centres
    assert sum(r.loss_sum for r in results) == pytest.approx(expected_loss, rel=2e-3)


# ---- learning on real and planted text ------------------------------------------------------------
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_loss_falls_every_epoch_on_lee_corpus(lee_corpus_path, model):
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=2)
    config = TrainConfig(model=model, dim=DIM, epochs=5, threads=2)
    engine = new_engine(config, vocab.counts, corpus)
    losses = train_epochs(engine, config, range(config.epochs))
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.85 * losses[0]


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_learns_planted_topics(topic_corpus_file, model):
    vocab, corpus = build_from_text_file(topic_corpus_file, min_count=1)
    config = TrainConfig(model=model, dim=DIM, epochs=5, threads=2)
    engine = new_engine(config, vocab.counts, corpus)
    train_epochs(engine, config, range(config.epochs))
    vectors = engine.state_tensors()["input"].numpy()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit.T
    np.fill_diagonal(cosine, -np.inf)
    animals = {"cat", "dog", "horse", "cow", "sheep", "goat", "pig", "duck"}
    for i, word in enumerate(vocab.words):
        nearest = [vocab.words[j] for j in np.argsort(-cosine[i])[:3]]
        assert all((n in animals) == (word in animals) for n in nearest), (word, nearest)


# ---- reproducibility, resume, stop ----------------------------------------------------------------
def lee_setup(lee_corpus_path, **changes):
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=2)
    config = TrainConfig(**{"dim": DIM, "epochs": 2, "threads": 1, **changes})
    return vocab, corpus, config


def test_same_seed_gives_identical_vectors_at_one_thread(lee_corpus_path):
    vocab, corpus, config = lee_setup(lee_corpus_path, seed=7)
    runs = []
    for seed in (7, 7, 8):
        engine = new_engine(config.replace(seed=seed), vocab.counts, corpus)
        train_epochs(engine, config, range(1))
        runs.append(engine.state_tensors()["input"].numpy().copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_resume_at_epoch_boundary_equals_uninterrupted_run(lee_corpus_path, model):
    vocab, corpus, config = lee_setup(lee_corpus_path, model=model)
    straight = new_engine(config, vocab.counts, corpus)
    train_epochs(straight, config, range(2))

    first = new_engine(config, vocab.counts, corpus)
    train_epochs(first, config, range(1))
    saved = {k: t.clone() for k, t in first.state_tensors().items()}
    resumed = new_engine(config, vocab.counts, corpus)
    resumed.load_state_tensors(saved)
    train_epochs(resumed, config, range(1, 2))

    for kind in ("input", "output"):
        assert torch.equal(straight.state_tensors()[kind], resumed.state_tensors()[kind])


def test_every_corpus_word_is_reported_once_per_epoch(lee_corpus_path):
    vocab, corpus, config = lee_setup(lee_corpus_path, threads=2)
    engine = new_engine(config, vocab.counts, corpus)
    results: list[ChunkResult] = []
    assert engine.run_epoch(constant_lr_context(0, 0.025, results))
    assert len(results) == engine.n_chunks > 1
    assert sum(r.words_done for r in results) == corpus.n_tokens


def test_each_epoch_visits_every_chunk_once_in_an_order_drawn_from_its_seed(lee_corpus_path):
    vocab, corpus, config = lee_setup(lee_corpus_path)
    engine = new_engine(config, vocab.counts, corpus)
    first, again, other = engine.chunk_order(11), engine.chunk_order(11), engine.chunk_order(12)
    assert sorted(first.tolist()) == list(range(engine.n_chunks))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_stop_request_ends_the_epoch_within_a_second(lee_corpus_path):
    vocab, corpus, config = lee_setup(lee_corpus_path, threads=2)
    engine = new_engine(config, vocab.counts, corpus)
    before = engine.state_tensors()["input"].clone()
    calls = []
    stop = threading.Event()

    def on_chunk(result: ChunkResult) -> bool:
        calls.append(result)
        stop.set()
        return stop.is_set()

    started = time.perf_counter()
    finished = engine.run_epoch(EpochContext(epoch=0, lr_at=lambda f: 0.025, on_chunk=on_chunk))
    assert finished is False
    assert time.perf_counter() - started < 1.0
    assert len(calls) == 1  # no report after the stop
    assert not torch.equal(before, engine.state_tensors()["input"])  # the work done is kept


def test_supports_only_cpu_sgd_with_negative_sampling():
    cpu = torch.device("cpu")
    assert FusedCpuEngine.supports(TrainConfig(), cpu)
    assert FusedCpuEngine.supports(TrainConfig(model="cbow"), cpu)
    assert not FusedCpuEngine.supports(TrainConfig(), torch.device("cuda"))
    assert not FusedCpuEngine.supports(TrainConfig(optimizer="adam"), cpu)
    assert not FusedCpuEngine.supports(TrainConfig(loss="softmax"), cpu)


def test_rejects_vectors_of_the_wrong_shape():
    config = TrainConfig(dim=DIM)
    corpus = make_corpus([0, 1])
    with pytest.raises(ValueError, match="contiguous"):
        FusedCpuEngine(config, np.array([1, 1]), corpus, torch.zeros(3, DIM), torch.zeros(2, DIM))
