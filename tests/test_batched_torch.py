"""The batched engine's closed-form SGD updates against autograd, and its duplicate-row cap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from w2v_core.backends.base import initial_vectors
from w2v_core.backends.batched_torch import (
    MAX_FULL_WEIGHT_OCCURRENCES,
    BatchedTorchEngine,
    add_rows,
    default_batch_size,
)
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.sampling import context_batch


def make_engine(model: str, vocab_size: int = 50, dim: int = 8) -> BatchedTorchEngine:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab_size, 400).astype(np.int32)
    corpus = EncodedCorpus(ids, np.array([0, 200, 400]), np.array([0, 1]))
    config = TrainConfig(model=model, dim=dim, window=2, negative=3, sample=0)
    inputs, _ = initial_vectors(vocab_size, dim, seed=1)
    # non-zero outputs so every gradient term is exercised
    outputs = torch.randn(vocab_size, dim, generator=torch.Generator().manual_seed(2)) * 0.1
    return BatchedTorchEngine(
        config, np.full(vocab_size, 10), corpus, inputs, outputs, torch.device("cpu")
    )


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_closed_form_update_equals_autograd_step(model):
    """One SGD step on the summed loss, by autograd, must equal the closed-form index_add update."""
    engine = make_engine(model)
    kept_ids = engine.token_ids[:200]
    kept_docs = engine.doc_of_token[:200]
    positions = torch.arange(0, 6)  # few centres: no row reaches the duplicate cap
    centres, contexts, mask = context_batch(
        kept_ids, kept_docs, positions, 2, torch.Generator().manual_seed(0)
    )
    if model == "cbow":
        keep = mask.any(dim=1)
        centres, contexts, mask = centres[keep], contexts[keep], mask[keep]
    lr = 0.1
    start_in, start_out = engine.input.clone(), engine.output.clone()

    # autograd reference with the same noise draws (same generator seed)
    reference = make_engine(model)
    reference.input.requires_grad_(True)
    reference.output.requires_grad_(True)
    loss, _ = reference._autograd_loss(centres, contexts, mask, torch.Generator().manual_seed(5))
    loss.backward()
    expected_in = start_in - lr * reference.input.grad
    expected_out = start_out - lr * reference.output.grad

    closed_loss, _ = engine._sgd_negative_sampling(
        centres, contexts, mask, lr, torch.Generator().manual_seed(5)
    )
    assert torch.allclose(closed_loss.float(), loss.detach(), atol=1e-5)
    assert torch.allclose(engine.input, expected_in, atol=1e-6)
    assert torch.allclose(engine.output, expected_out, atol=1e-6)


def test_rows_beyond_the_cap_share_its_weight():
    target = torch.zeros(3, 1)
    n = MAX_FULL_WEIGHT_OCCURRENCES * 4
    rows = torch.tensor([0] * n + [1] * 2)
    add_rows(target, rows, torch.ones(n + 2, 1))
    # row 0: n occurrences scaled to a total of exactly the cap; row 1: plain sum; row 2 untouched
    assert target[:, 0].tolist() == [pytest.approx(MAX_FULL_WEIGHT_OCCURRENCES), 2.0, 0.0]


def test_batch_sizes_scale_with_device_and_softmax_vocabulary():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert default_batch_size(TrainConfig(), cpu, 10_000, 10**6) == 256
    assert default_batch_size(TrainConfig(), cuda, 10_000, 100_000) == 256
    assert default_batch_size(TrainConfig(), cuda, 10_000, 10**9) == 4096
    assert default_batch_size(TrainConfig(loss="softmax"), cpu, 50_000, 10**6) == 256
    assert default_batch_size(TrainConfig(batch_size=77), cuda, 10, 10) == 77
