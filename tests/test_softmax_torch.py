"""The full-softmax engine: closed-form gradients against torch autograd on the blog's loss, one
optimizer step against torch's own optimizers, loss read-backs, training through the trainer, and
the refusal of a softmax run whose epoch would take hours."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from w2v_core.backends import select_engine
from w2v_core.backends.softmax_torch import SoftmaxTorchEngine
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import ConfigError
from w2v_core.trainer import check_trainable, estimated_epoch_seconds, train
from w2v_core.vocab import Vocabulary

VOCAB, DIM = 7, 4


def make_engine(model: str, optimizer: str, **settings) -> SoftmaxTorchEngine:
    corpus = EncodedCorpus(np.arange(20, dtype=np.int32) % VOCAB, np.array([0, 20]), np.array([0]))
    config = TrainConfig(
        model=model, loss="softmax", optimizer=optimizer, dim=DIM, window=2, sample=0, **settings
    )
    generator = torch.Generator().manual_seed(3)
    inputs = torch.randn(VOCAB, DIM, generator=generator)
    outputs = torch.randn(VOCAB, DIM, generator=generator)
    return SoftmaxTorchEngine(
        config, np.full(VOCAB, 10), corpus, inputs, outputs, torch.device("cpu")
    )


# A hand-made batch: centre 2 has context 3 twice (a repeated target counts twice), centre 2 again
# (a repeated centre), a centre with one context, and a padded row (not valid, no context).
CENTRES = torch.tensor([2, 2, 5, 0])
CONTEXTS = torch.tensor([[3, 1, 3, 4], [6, 0, 0, 0], [1, 1, 1, 1], [4, 4, 4, 4]])
MASK = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=torch.bool)
VALID = torch.tensor([True, True, True, False])


def blog_loss(inputs, outputs, model: str, reduction: str) -> tuple[torch.Tensor, int]:
    """The blog's loss written plainly: one cross-entropy example per (centre, context) pair for
    skip-gram, per centre (predicted from the mean of its contexts) for CBOW."""
    if model == "skipgram":
        pairs = MASK.nonzero()  # (P, 2): (row, slot)
        centres = CENTRES[pairs[:, 0]]
        targets = CONTEXTS[pairs[:, 0], pairs[:, 1]]
        logits = inputs[centres] @ outputs.T  # (P, V)
        return F.cross_entropy(logits, targets, reduction=reduction), len(pairs)
    rows = [b for b in range(len(CENTRES)) if MASK[b].any() and VALID[b]]
    hidden = torch.stack([inputs[CONTEXTS[b][MASK[b]]].mean(dim=0) for b in rows])  # (B', D)
    return F.cross_entropy(hidden @ outputs.T, CENTRES[rows], reduction=reduction), len(rows)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_one_step_equals_autograd_and_torch_optimizers(model: str, optimizer: str) -> None:
    engine = make_engine(model, optimizer, lr=0.05, weight_decay=0.1)
    inputs = engine.input.detach().clone().requires_grad_(True)
    outputs = engine.output.detach().clone().requires_grad_(True)
    # SGD steps on the summed loss (word2vec's per-example updates), Adam/AdamW on the mean (the blog)
    reduction = "sum" if optimizer == "sgd" else "mean"
    loss, count = blog_loss(inputs, outputs, model, reduction)
    loss.backward()
    reference = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.05),
        "adam": lambda p: torch.optim.Adam(p, lr=0.05),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1),
    }[optimizer]([inputs, outputs])
    reference.step()

    summed, examples = engine._step(CENTRES, CONTEXTS, MASK, VALID, lr=0.05)

    expected_sum = loss.item() * (1 if optimizer == "sgd" else count)
    assert int(examples) == count
    assert float(summed) == pytest.approx(expected_sum, rel=1e-5)
    assert torch.allclose(engine.input, inputs.detach(), atol=1e-5)
    assert torch.allclose(engine.output, outputs.detach(), atol=1e-5)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_closed_form_gradient_equals_autograd(model: str) -> None:
    """The gradient itself (not only a step): SGD with lr 1 moves each matrix by exactly -grad."""
    engine = make_engine(model, "sgd", lr=1.0)
    inputs = engine.input.detach().clone().requires_grad_(True)
    outputs = engine.output.detach().clone().requires_grad_(True)
    loss, _ = blog_loss(inputs, outputs, model, "sum")
    loss.backward()
    start_in, start_out = engine.input.clone(), engine.output.clone()
    engine._step(CENTRES, CONTEXTS, MASK, VALID, lr=1.0)
    assert torch.allclose(start_in - engine.input, inputs.grad, atol=1e-5)
    assert torch.allclose(start_out - engine.output, outputs.grad, atol=1e-5)
    assert inputs.grad.abs().sum() > 0 and outputs.grad.abs().sum() > 0


def two_topic_corpus(n_docs: int = 60) -> tuple[Vocabulary, EncodedCorpus]:
    """Documents drawn from one of two disjoint word sets: words 0-4 or words 5-9."""
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 5, 12) + 5 * (d % 2) for d in range(n_docs)]
    ids = np.concatenate(docs).astype(np.int32)
    vocab = Vocabulary([f"w{i}" for i in range(10)], np.bincount(ids, minlength=10))
    offsets = np.arange(0, len(ids) + 1, 12)
    return vocab, EncodedCorpus(ids, offsets, np.arange(n_docs))


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_training_learns_two_topics_and_the_loss_falls(model: str) -> None:
    vocab, corpus = two_topic_corpus()
    config = TrainConfig(
        model=model,
        loss="softmax",
        optimizer="adamw",
        lr=0.05,
        dim=8,
        epochs=8,
        sample=0,
        threads=1,
    )
    losses = []
    result = train(config, vocab, corpus, on_progress=lambda r: losses.append(r.epoch_loss))
    assert result.engine == "softmax-torch"
    losses = [loss for loss in losses if loss is not None]
    assert losses[-1] < losses[0]
    vectors = result.output_vectors / np.linalg.norm(result.output_vectors, axis=1, keepdims=True)
    cosine = vectors @ vectors.T
    same = np.mean(
        [cosine[i, j] for i in range(10) for j in range(10) if i != j and i // 5 == j // 5]
    )
    other = np.mean([cosine[i, j] for i in range(10) for j in range(10) if i // 5 != j // 5])
    assert same > other + 0.3


def test_auto_picks_the_softmax_engine_for_softmax_only() -> None:
    cpu = torch.device("cpu")
    assert select_engine(TrainConfig(loss="softmax"), cpu) is SoftmaxTorchEngine
    assert select_engine(TrainConfig(loss="softmax", model="cbow", optimizer="sgd"), cpu) is (
        SoftmaxTorchEngine
    )
    assert select_engine(TrainConfig(loss="negative", optimizer="adam"), cpu) is not (
        SoftmaxTorchEngine
    )


def test_the_loss_is_read_back_only_when_due() -> None:
    """On a GPU the loss is read (a host sync) at most every `loss_read_seconds`; here an hour, so
    once per epoch, at its end, and the one read holds the whole epoch's loss."""
    vocab, corpus = two_topic_corpus()
    config = TrainConfig(loss="softmax", optimizer="adamw", dim=8, sample=0, batch_size=16)
    chunks = []

    def on_chunk(result):
        chunks.append(result)
        return False

    from w2v_core.backends.base import EpochContext, initial_vectors

    inputs, outputs = initial_vectors(10, 8, 1, random_output=True)
    slow = SoftmaxTorchEngine(
        config,
        vocab.counts,
        corpus,
        inputs.clone(),
        outputs.clone(),
        torch.device("cpu"),
        loss_read_seconds=3600,
    )
    assert slow.run_epoch(EpochContext(0, lambda f: 0.01, on_chunk))
    assert slow.loss_reads == 1 and len(chunks) == -(-corpus.n_tokens // 16)
    assert sum(c.words_done for c in chunks) == corpus.n_tokens
    assert [c.loss_count > 0 for c in chunks] == [False] * (len(chunks) - 1) + [True]

    every = SoftmaxTorchEngine(
        config,
        vocab.counts,
        corpus,
        inputs.clone(),
        outputs.clone(),
        torch.device("cpu"),
        loss_read_seconds=0,
    )
    read_each = []
    every.run_epoch(EpochContext(0, lambda f: 0.01, lambda r: read_each.append(r) or False))
    assert every.loss_reads == len(read_each)
    assert sum(c.loss_sum for c in read_each) == pytest.approx(chunks[-1].loss_sum, rel=1e-6)


# ---- refusing a run that would take hours ----------------------------------------------------------
def huge_vocabulary(n_words: int, n_tokens: int) -> tuple[Vocabulary, EncodedCorpus]:
    """A vocabulary of `n_words` made-up words and a corpus of `n_tokens` (no training happens)."""
    ids = (np.arange(n_tokens) % n_words).astype(np.int32)
    counts = np.bincount(ids, minlength=n_words)
    vocab = Vocabulary([f"w{i}" for i in range(n_words)], counts)
    return vocab, EncodedCorpus(ids, np.array([0, n_tokens]), np.array([0]))


def test_a_softmax_run_taking_hours_per_epoch_is_refused_with_the_estimate() -> None:
    vocab, corpus = huge_vocabulary(300_000, 2_000_000)
    config = TrainConfig(loss="softmax", optimizer="adamw", sample=0)
    seconds = estimated_epoch_seconds(config, len(vocab), corpus.n_tokens, torch.device("cpu"))
    # 2M centres x 300k words x 100 dims x 6 flops: 3.6e17 flops, over an hour on any CPU
    assert seconds > 3600
    with pytest.raises(
        ConfigError, match=r"about [\d.,]+ (hours|days) per epoch.*negative sampling"
    ):
        check_trainable(config, vocab, corpus)
    check_trainable(config.replace(loss="negative"), vocab, corpus)  # the suggestion works


def test_a_small_softmax_run_is_accepted_and_its_estimate_is_seconds() -> None:
    vocab, corpus = huge_vocabulary(3_000, 200_000)
    config = TrainConfig(loss="softmax", optimizer="adamw", sample=0)
    check_trainable(config, vocab, corpus)
    seconds = estimated_epoch_seconds(config, len(vocab), corpus.n_tokens, torch.device("cpu"))
    assert 0 < seconds < 600


def test_the_apps_start_refuses_before_writing_a_run_folder(tmp_path) -> None:
    """The app's Start (`jobs.create_and_start`) checks first: no folder is left half made."""
    from w2v_core import jobs

    vocab, corpus = huge_vocabulary(300_000, 2_000_000)
    config = TrainConfig(loss="softmax", optimizer="adamw", sample=0)
    with pytest.raises(ConfigError, match="per epoch"):
        jobs.create_and_start(tmp_path, "Too big", config, vocab, corpus, data={})
    assert list(tmp_path.iterdir()) == []
