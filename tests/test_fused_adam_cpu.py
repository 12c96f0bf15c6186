"""Tests of the fused Adam engine (w2v_core.backends.fused_adam_cpu) and of the d2l book's loss.

The exact tests make every random draw predictable: window 1 (every centre's effective window is 1),
sample 0 (every word kept), and a noise distribution with all its mass on one word (the counts
passed to the engine: only the noise word has a count, and noise ~ count ** 0.75). One chunk holds
the whole corpus, so the batches are consecutive centres in corpus order, as worked out below, and
the engine must then take exactly the steps torch's own optimizers take on the same batches.
Every test uses dim 16 so the kernels compile once (numba caches them on disk).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from w2v_core.backends import select_engine
from w2v_core.backends.base import ChunkResult, EpochContext, initial_vectors
from w2v_core.backends.fused_adam_cpu import FusedAdamCpuEngine
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus, build_from_text_file

DIM = 16


def make_corpus(*documents: list[int]) -> EncodedCorpus:
    token_ids = np.concatenate([np.asarray(d, dtype=np.int32) for d in documents])
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in documents])]).astype(np.int64)
    return EncodedCorpus(token_ids, offsets, np.arange(len(documents), dtype=np.int64))


def exact_config(**changes) -> TrainConfig:
    """Window 1, one noise word per pair, nothing subsampled, one thread."""
    values = dict(
        dim=DIM, window=1, negative=1, sample=0.0, optimizer="adam", lr=0.01, batch_size=2,
        threads=1, seed=3,
    )  # fmt: skip
    return TrainConfig(**{**values, **changes})


def noise_only_counts(vocab_size: int, noise_word: int) -> np.ndarray:
    counts = np.zeros(vocab_size, dtype=np.int64)
    counts[noise_word] = 1
    return counts


def random_vectors(vocab_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    input_vectors = (torch.rand(vocab_size, DIM, generator=generator) - 0.5) * 0.5  # (V, D)
    output_vectors = (torch.rand(vocab_size, DIM, generator=generator) - 0.5) * 0.5  # (V, D)
    return input_vectors.contiguous(), output_vectors.contiguous()


def window_one_centres(documents: list[list[int]]) -> list[tuple[int, list[int]]]:
    """(centre, its context words) with window 1, in corpus order; centres without one dropped."""
    centres = []
    for doc in documents:
        for i, word in enumerate(doc):
            contexts = [doc[j] for j in (i - 1, i + 1) if 0 <= j < len(doc)]
            if contexts:
                centres.append((word, contexts))
    return centres


def batches_of(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_epochs(engine, epochs: int, lr: float) -> list[ChunkResult]:
    results: list[ChunkResult] = []
    for epoch in range(epochs):
        context = EpochContext(epoch, lambda fraction: lr, lambda r: results.append(r) or False)
        assert engine.run_epoch(context)
    return results


def skipgram_batch_loss(inp, out, batch, noise_word, sparse):
    """The batched engine's loss: mean over positive pairs of -log σ(v·u_o) - log σ(-v·u_noise),
    without the noise term where the noise word is the pair's positive word."""
    centres = torch.tensor([c for c, contexts in batch for _ in contexts])
    contexts = torch.tensor([o for _, contexts in batch for o in contexts])
    v = F.embedding(centres, inp, sparse=sparse)  # (P, D)
    positive = (v * F.embedding(contexts, out, sparse=sparse)).sum(-1)  # (P,)
    noise = (v * F.embedding(torch.full_like(contexts, noise_word), out, sparse=sparse)).sum(-1)
    drawn = (contexts != noise_word).float()  # a noise draw of the positive word is skipped
    return (-F.logsigmoid(positive) - drawn * F.logsigmoid(-noise)).mean()


def cbow_batch_loss(inp, out, batch, noise_word, sparse):
    """Mean over centres of -log σ(h·u_centre) - log σ(-h·u_noise), h the mean context vector."""
    losses = []
    for centre, contexts in batch:
        h = F.embedding(torch.tensor(contexts), inp, sparse=sparse).mean(0)  # (D,)
        positive = (h * F.embedding(torch.tensor([centre]), out, sparse=sparse)[0]).sum()
        noise = (h * F.embedding(torch.tensor([noise_word]), out, sparse=sparse)[0]).sum()
        drawn = float(centre != noise_word)  # a noise draw of the positive word is skipped
        losses.append(-F.logsigmoid(positive) - drawn * F.logsigmoid(-noise))
    return torch.stack(losses).mean()


def torch_reference(input0, output0, batches, noise_word, epochs, lr, model, optimizer, decay=0.0):
    inp = torch.nn.Parameter(input0.clone())
    out = torch.nn.Parameter(output0.clone())
    sparse = optimizer == "adam"
    if sparse:
        opt = torch.optim.SparseAdam([inp, out], lr=lr)
    else:
        opt = torch.optim.AdamW([inp, out], lr=lr, weight_decay=decay)
    batch_loss = skipgram_batch_loss if model == "skipgram" else cbow_batch_loss
    for _ in range(epochs):
        for batch in batches:
            opt.zero_grad()
            batch_loss(inp, out, batch, noise_word, sparse).backward()
            opt.step()
    return inp, out, opt  # the parameters: opt.state is keyed by them


# ---- Adam and AdamW steps equal torch's ---------------------------------------------------------
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_steps_equal_torch_sparse_adam_on_the_same_batches(model):
    """Corpus [0 1 2 3], [1 2]; noise word 4; batches of 2 centres: (0, 1), (2, 3), (1, 2).

    Two epochs are six SparseAdam steps; vectors and both moments must match torch's.
    """
    documents = [[0, 1, 2, 3], [1, 2]]
    config = exact_config(model=model)
    input0, output0 = random_vectors(5)
    engine = FusedAdamCpuEngine(
        config, noise_only_counts(5, 4), make_corpus(*documents), input0.clone(), output0.clone()
    )
    run_epochs(engine, epochs=2, lr=0.01)
    batches = batches_of(window_one_centres(documents), 2)
    assert len(batches) == 3
    inp, out, opt = torch_reference(input0, output0, batches, 4, 2, 0.01, model, "adam")

    state = engine.state_tensors()
    assert engine.steps_taken == 6 == opt.state[inp]["step"]
    torch.testing.assert_close(state["input"], inp.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(state["output"], out.detach(), rtol=1e-4, atol=1e-6)
    for index, param in enumerate((inp, out)):
        torch.testing.assert_close(
            state[f"optim.{index}.exp_avg"], opt.state[param]["exp_avg"], rtol=1e-4, atol=1e-7
        )
        torch.testing.assert_close(
            state[f"optim.{index}.exp_avg_sq"],
            opt.state[param]["exp_avg_sq"],
            rtol=1e-4,
            atol=1e-9,
        )


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_adamw_equals_torch_adamw_where_every_row_is_touched_or_never(model):
    """Corpus [0 1 2], noise word 2 (skipped where it is the positive word), one batch of 3 centres
    per epoch: every step touches rows 0-2 of both matrices, and row 3 never (no count, so never a noise word). Lazy AdamW then equals
    torch's dense AdamW exactly: rows 0-2 are updated at every step either way, and row 3, whose
    gradient and moments stay 0, only decays, by (1 - lr * weight_decay) per step."""
    documents = [[0, 1, 2]]
    config = exact_config(model=model, optimizer="adamw", weight_decay=0.5, batch_size=3)
    input0, output0 = random_vectors(4, seed=1)
    engine = FusedAdamCpuEngine(
        config, noise_only_counts(4, 2), make_corpus(*documents), input0.clone(), output0.clone()
    )
    run_epochs(engine, epochs=3, lr=0.01)
    batches = batches_of(window_one_centres(documents), 3)
    inp, out, _ = torch_reference(input0, output0, batches, 2, 3, 0.01, model, "adamw", 0.5)

    state = engine.state_tensors()
    torch.testing.assert_close(state["input"], inp.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(state["output"], out.detach(), rtol=1e-4, atol=1e-6)
    decayed = input0[3] * (1 - 0.01 * 0.5) ** 3
    torch.testing.assert_close(state["input"][3], decayed, rtol=1e-5, atol=1e-7)


# ---- the d2l book's loss ------------------------------------------------------------------------
def test_d2l_loss_is_the_mean_bce_per_position_averaged_over_centres():
    """Corpus [0 1 3], window 1, noise word 2, one batch; all vectors along the first axis e:
    input 0 = e, 1 = 0.5 e, 3 = -e; output 0 = 0, 1 = 2 e, 2 = -e, 3 = e. Scores (centre · word):

    centre 0: context 1 -> 2, noise -> -1        BCE: log(1+e^-2) = 0.126928, log(1+e^-1) = 0.313262
    centre 1: context 0 -> 0, noise -> -0.5      log 2 = 0.693147, log(1+e^-0.5) = 0.474077
              context 3 -> 0.5, noise -> -0.5    0.474077, 0.474077
    centre 3: context 1 -> -2, noise -> 1        log(1+e^2) = 2.126928, log(1+e) = 1.313262

    Per centre, the mean over its positions: 0.220095 (2 positions), 0.528845 (4), 1.720095 (2);
    the d2l loss is their mean, 0.823012. Our usual loss is per positive pair: 5.995758 / 4 pairs
    = 1.498940. The losses are computed before the batch's update.
    """
    e = torch.zeros(DIM)
    e[0] = 1.0
    input_vectors = torch.stack([e, 0.5 * e, torch.zeros(DIM), -e]).contiguous()
    output_vectors = torch.stack([0.0 * e, 2 * e, -e, e]).contiguous()
    config = exact_config(batch_size=3)
    engine = FusedAdamCpuEngine(
        config, noise_only_counts(4, 2), make_corpus([0, 1, 3]), input_vectors, output_vectors
    )
    (result,) = run_epochs(engine, epochs=1, lr=0.01)

    def bce(x: float) -> float:  # -log σ(x)
        return math.log1p(math.exp(-x))

    per_centre = [
        (bce(2) + bce(1)) / 2,
        (bce(0) + bce(0.5) + bce(0.5) + bce(0.5)) / 4,
        (bce(-2) + bce(-1)) / 2,
    ]
    assert per_centre == pytest.approx([0.220095, 0.528845, 1.720095], abs=1e-6)
    assert result.d2l_loss_count == 3
    assert result.d2l_loss_sum / result.d2l_loss_count == pytest.approx(0.823012, abs=1e-5)
    assert result.loss_count == 4
    assert result.loss_sum / result.loss_count == pytest.approx(1.498940, abs=1e-5)

    # The book's own code on the same batch: centres with [contexts + noise words] padded to the
    # longest, a mask of valid positions and labels; SigmoidBCELoss is BCE-with-logits weighted by
    # the mask, averaged over dim 1; then l = loss / mask.sum(axis=1) * mask.shape[1], averaged.
    pred = torch.tensor([[2.0, -1.0, 0.0, 0.0], [0.0, 0.5, -0.5, -0.5], [-2.0, 1.0, 0.0, 0.0]])
    label = torch.tensor([[1.0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]])
    mask = torch.tensor([[1.0, 1, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0]])
    out = F.binary_cross_entropy_with_logits(pred, label, weight=mask, reduction="none").mean(dim=1)
    book = (out / mask.sum(axis=1) * mask.shape[1]).mean()
    assert result.d2l_loss_sum / result.d2l_loss_count == pytest.approx(float(book), abs=1e-5)


# ---- what a step is -----------------------------------------------------------------------------
def test_a_step_is_a_batch_of_centres_and_a_chunk_ends_its_last_batch():
    """One chunk of 7 centres with contexts in batches of 3: steps 3, 3, 1 -> 3 steps an epoch."""
    config = exact_config(batch_size=3)
    engine = FusedAdamCpuEngine(
        config, noise_only_counts(9, 8), make_corpus([0, 1, 2, 3, 4, 5, 6]), *random_vectors(9)
    )
    (result,) = run_epochs(engine, epochs=1, lr=0.01)
    assert engine.n_chunks == 1
    assert result.d2l_loss_count == 7
    assert engine.steps_taken == 3


# ---- learning on real and planted text ----------------------------------------------------------
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_learns_planted_topics_with_two_threads(topic_corpus_file, model):
    vocab, corpus = build_from_text_file(topic_corpus_file, min_count=1)
    config = TrainConfig(
        model=model, dim=DIM, epochs=4, threads=2, optimizer="adam", lr=0.01, batch_size=64
    )
    input_vectors, output_vectors = initial_vectors(len(vocab), DIM, config.seed)
    engine = FusedAdamCpuEngine(config, vocab.counts, corpus, input_vectors, output_vectors)
    losses = []
    for epoch in range(config.epochs):
        results = run_epochs_from(engine, epoch)
        losses.append(sum(r.loss_sum for r in results) / sum(r.loss_count for r in results))
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    vectors = engine.state_tensors()["input"].numpy()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit.T
    np.fill_diagonal(cosine, -np.inf)
    animals = {"cat", "dog", "horse", "cow", "sheep", "goat", "pig", "duck"}
    for i, word in enumerate(vocab.words):
        nearest = [vocab.words[j] for j in np.argsort(-cosine[i])[:3]]
        assert all((n in animals) == (word in animals) for n in nearest), (word, nearest)


def run_epochs_from(engine, epoch: int, lr: float = 0.01) -> list[ChunkResult]:
    results: list[ChunkResult] = []
    assert engine.run_epoch(EpochContext(epoch, lambda f: lr, lambda r: results.append(r) or False))
    return results


# ---- resume, checkpoints, stop ------------------------------------------------------------------
def lee_engine(lee_corpus_path, **changes):
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=2)
    values = dict(dim=DIM, epochs=2, threads=1, optimizer="adam", lr=0.005, batch_size=128)
    config = TrainConfig(**{**values, **changes})
    vectors = initial_vectors(len(vocab), DIM, config.seed)
    return FusedAdamCpuEngine(config, vocab.counts, corpus, *vectors), vocab, corpus, config


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_resume_at_epoch_boundary_equals_uninterrupted_run(lee_corpus_path, optimizer):
    straight, vocab, corpus, config = lee_engine(lee_corpus_path, optimizer=optimizer)
    for epoch in range(2):
        run_epochs_from(straight, epoch)

    first, *_ = lee_engine(lee_corpus_path, optimizer=optimizer)
    run_epochs_from(first, 0)
    saved = {k: t.clone() for k, t in first.state_tensors().items()}
    assert {"optim.0.exp_avg", "optim.1.exp_avg_sq", "optim.0.step"} <= set(saved)
    resumed, *_ = lee_engine(lee_corpus_path, optimizer=optimizer)
    resumed.load_state_tensors(saved)
    run_epochs_from(resumed, 1)

    assert resumed.steps_taken == straight.steps_taken
    for key, tensor in straight.state_tensors().items():
        assert torch.equal(tensor, resumed.state_tensors()[key]), key


def test_trainer_checkpoints_the_moments_so_a_resumed_run_equals_an_uninterrupted_one(
    lee_corpus_path, tmp_path
):
    from w2v_core.run_folder import RunFolder
    from w2v_core.trainer import resume, train

    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=2)
    config = TrainConfig(dim=DIM, epochs=2, threads=1, optimizer="adam", lr=0.005, batch_size=128)
    straight = train(config, vocab, corpus, RunFolder.create(tmp_path / "a", config, vocab, corpus))
    assert straight.engine == "fused-adam-cpu"

    run = RunFolder.create(tmp_path / "b", config.replace(epochs=1), vocab, corpus)
    train(config.replace(epochs=1), vocab, corpus, run)
    resumed = resume(RunFolder.open(tmp_path / "b"), config_changes={"epochs": 2})
    assert np.array_equal(straight.input_vectors, resumed.input_vectors)
    assert np.array_equal(straight.output_vectors, resumed.output_vectors)

    epochs = RunFolder.open(tmp_path / "b").metrics().epochs
    assert [r.epoch for r in epochs] == [1, 2]
    assert all(r.d2l_loss is not None and 0 < r.d2l_loss < r.loss for r in epochs)


def test_reads_the_batched_engines_sparse_adam_state(lee_corpus_path):
    from w2v_core.backends.batched_torch import BatchedTorchEngine

    engine, vocab, corpus, config = lee_engine(lee_corpus_path)
    vectors = initial_vectors(len(vocab), DIM, config.seed)
    batched = BatchedTorchEngine(config, vocab.counts, corpus, *vectors, torch.device("cpu"))
    batched.run_epoch(EpochContext(0, lambda f: 0.005, lambda r: False))
    saved = {k: t.detach().clone() for k, t in batched.state_tensors().items()}
    engine.load_state_tensors(saved)
    ours = engine.state_tensors()
    assert engine.steps_taken == int(saved["optim.0.step"]) > 0
    for key in ("input", "output", "optim.0.exp_avg", "optim.1.exp_avg_sq"):
        assert torch.equal(ours[key], saved[key]), key


def test_stop_request_ends_the_epoch_within_a_second(lee_corpus_path):
    engine, *_ = lee_engine(lee_corpus_path, threads=2)
    before = engine.state_tensors()["input"].clone()
    calls = []

    def on_chunk(result: ChunkResult) -> bool:
        calls.append(result)
        return True

    started = time.perf_counter()
    assert engine.run_epoch(EpochContext(0, lambda f: 0.005, on_chunk)) is False
    assert time.perf_counter() - started < 1.0
    assert len(calls) == 1
    assert not torch.equal(before, engine.state_tensors()["input"])


def test_every_corpus_word_is_reported_once_per_epoch(lee_corpus_path):
    engine, vocab, corpus, config = lee_engine(lee_corpus_path, threads=2)
    results = run_epochs_from(engine, 0)
    assert len(results) == engine.n_chunks > 1
    assert sum(r.words_done for r in results) == corpus.n_tokens


# ---- the registry -------------------------------------------------------------------------------
def test_auto_picks_it_for_adam_and_adamw_with_negative_sampling_on_the_cpu():
    cpu = torch.device("cpu")
    for optimizer in ("adam", "adamw"):
        for model in ("skipgram", "cbow"):
            config = TrainConfig(optimizer=optimizer, model=model)
            assert select_engine(config, cpu) is FusedAdamCpuEngine
    assert select_engine(TrainConfig(), cpu) is not FusedAdamCpuEngine  # SGD: the SGD kernel
    assert not FusedAdamCpuEngine.supports(TrainConfig(optimizer="adam", loss="softmax"), cpu)
    assert not FusedAdamCpuEngine.supports(TrainConfig(optimizer="adam"), torch.device("cuda"))
