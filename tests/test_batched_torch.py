"""The batched engine's closed-form SGD updates against autograd, its duplicate-row cap, and its
fixed-shape GPU steps (no host sync) against the CPU path, run on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from w2v_core.backends.base import ChunkResult, EpochContext, initial_vectors
from w2v_core.backends.batched_torch import (
    MAX_FULL_WEIGHT_OCCURRENCES,
    BatchedTorchEngine,
    add_rows,
    default_batch_size,
    lazy_adam_step,
)
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.sampling import context_batch


def make_engine(
    model: str, vocab_size: int = 50, dim: int = 8, optimizer: str = "sgd", batch_size: int = 32
) -> BatchedTorchEngine:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab_size, 400).astype(np.int32)
    corpus = EncodedCorpus(ids, np.array([0, 200, 400]), np.array([0, 1]))
    config = TrainConfig(
        model=model,
        dim=dim,
        window=2,
        negative=3,
        sample=0,
        optimizer=optimizer,
        batch_size=batch_size,
    )
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


# ---- fixed shapes (the GPU path), run on the CPU ----------------------------------------------------
def run_epoch(engine: BatchedTorchEngine, epoch: int = 0, lr: float = 0.05) -> list[ChunkResult]:
    chunks: list[ChunkResult] = []

    def on_chunk(result: ChunkResult) -> bool:
        chunks.append(result)
        return False

    engine.run_epoch(EpochContext(epoch, lambda fraction: lr, on_chunk))
    return chunks


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_fixed_shape_steps_equal_the_cpu_path(model, optimizer):
    """The GPU path (padding with masks, index_add_ counts, closed-form gradients, lazy Adam in fixed
    shapes) takes the same steps as the CPU path (boolean masks, bincount, autograd, SparseAdam).
    Every centre here has a context, so both draw the same noise words."""
    lr = 0.05 if optimizer == "sgd" else 0.01
    # SGD in batches of 400 centres: frequent rows pass the duplicate cap, so padding that counted
    # as an occurrence would change the weights
    batch = 400 if optimizer == "sgd" else 32
    cpu_path = make_engine(model, optimizer=optimizer, batch_size=batch)
    gpu_path = make_engine(model, optimizer=optimizer, batch_size=batch)
    gpu_path.fixed_shapes = True
    gpu_path.report_seconds = 0.0  # a report per batch, as the CPU path makes
    for epoch in (0, 1):
        expected = run_epoch(cpu_path, epoch, lr)
        got = run_epoch(gpu_path, epoch, lr)
        assert [c.loss_count for c in got] == [c.loss_count for c in expected]
        assert [c.words_done for c in got] == [c.words_done for c in expected]
        np.testing.assert_allclose(
            [c.loss_sum for c in got], [c.loss_sum for c in expected], rtol=1e-4
        )
    for name in ("input", "output"):
        torch.testing.assert_close(
            gpu_path.state_tensors()[name], cpu_path.state_tensors()[name], atol=2e-5, rtol=1e-4
        )
    if optimizer == "adam":  # the same SparseAdam state, so checkpoints resume either way
        cpu_state, gpu_state = cpu_path.state_tensors(), gpu_path.state_tensors()
        assert sorted(cpu_state) == sorted(gpu_state)
        assert int(gpu_state["optim.0.step"]) == int(cpu_state["optim.0.step"])
        torch.testing.assert_close(
            gpu_state["optim.1.exp_avg_sq"], cpu_state["optim.1.exp_avg_sq"], atol=1e-7, rtol=1e-3
        )


def test_lazy_adam_step_equals_sparse_adam():
    """Rows [2, 0, 2, 4] with the occurrence of row 4 not counted: SparseAdam on the sparse gradient
    of rows 2 (two occurrences summed) and 0; rows 1, 3 and 4 keep their values."""
    torch.manual_seed(0)
    start = torch.randn(5, 3)
    reference = start.clone().requires_grad_(True)
    optimizer = torch.optim.SparseAdam([reference], lr=0.1)
    param = start.clone()
    state: dict = {}
    group = {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8}
    buffer = torch.zeros(5, 3)
    rows = torch.tensor([2, 0, 2, 4])
    touched = torch.tensor([True, True, True, False])
    for step in range(3):
        gradients = torch.randn(4, 3, generator=torch.Generator().manual_seed(step))
        lazy_adam_step(param, state, group, rows, gradients, touched, buffer)
        sparse = torch.sparse_coo_tensor(
            rows[touched][None, :], gradients[touched], (5, 3), check_invariants=True
        )
        reference.grad = sparse
        optimizer.step()
    torch.testing.assert_close(param, reference.detach())
    torch.testing.assert_close(state["exp_avg"], optimizer.state[reference]["exp_avg"])
    assert state["step"] == 3
    assert torch.equal(param[[1, 3, 4]], start[[1, 3, 4]])
    assert torch.count_nonzero(buffer) == 0  # left clean for the next step


def test_masked_add_rows_counts_only_valid_entries():
    target = torch.zeros(3, 1)
    rows = torch.tensor([0, 0, 1, 2])
    valid = torch.tensor([True, True, True, False])
    add_rows(target, rows, torch.ones(4, 1), valid)
    assert target[:, 0].tolist() == [2.0, 1.0, 0.0]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fixed_shapes_a_cbow_centre_without_context_changes_nothing(optimizer):
    engine = make_engine("cbow", optimizer=optimizer)
    engine.fixed_shapes = True
    centres = torch.tensor([7])
    contexts = torch.tensor([[3, 4, 5, 6]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    engine._step(centres, contexts, mask, 0.05, torch.Generator().manual_seed(0))  # momentum
    before = {k: v.detach().clone() for k, v in engine.state_tensors().items()}
    mask = torch.zeros(1, 4, dtype=torch.bool)
    loss, count = engine._step(centres, contexts, mask, 0.05, torch.Generator().manual_seed(0))
    assert float(loss) == 0.0 and int(count) == 0
    for name in ("input", "output"):
        assert torch.equal(engine.state_tensors()[name], before[name])


def test_fixed_shapes_read_the_loss_once_per_report_interval():
    engine = make_engine("skipgram")
    engine.fixed_shapes = True
    engine.report_seconds = 1e9  # never due: the only read is at the epoch's end
    chunks = run_epoch(engine)
    assert len(chunks) == 1 and chunks[0].words_done == 400
    assert engine.host_syncs == 2  # the epoch's subsampling (torch.nonzero) and that one read
    engine.report_seconds = 0.0
    chunks = run_epoch(engine, epoch=1)
    assert len(chunks) == 400 // 32 + 1  # one read per batch of 32 centres
    assert engine.host_syncs == len(chunks) + 1
    assert engine.host_syncs_per_epoch == [2, len(chunks) + 1]


def test_the_cpu_path_counts_no_device_waits():
    engine = make_engine("skipgram")
    run_epoch(engine)
    assert engine.host_syncs == 0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_gpu_negative_sampling_steps_do_not_synchronise(model, optimizer):
    from w2v_core.device import count_torch_syncs
    from w2v_core.sampling import context_batch as batch_of

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 4000).astype(np.int32)
    corpus = EncodedCorpus(ids, np.array([0, 2000, 4000]), np.array([0, 1]))
    config = TrainConfig(model=model, dim=16, window=2, negative=3, optimizer=optimizer)
    device = torch.device("cuda")
    engine = BatchedTorchEngine(
        config, np.full(50, 10), corpus, *initial_vectors(50, 16, 1), device=device
    )
    generator = torch.Generator(device=device).manual_seed(0)
    kept_ids, kept_docs = engine.token_ids, engine.doc_of_token
    for first in (0, 256):  # the first step allocates optimizer state; count the second
        positions = torch.arange(first, first + 256, device=device)
        centres, contexts, mask = batch_of(kept_ids, kept_docs, positions, 2, generator)
        with count_torch_syncs() as syncs:
            engine._step(centres, contexts, mask, 0.01, generator)
    assert syncs.count == 0


def test_out_of_memory_fails_the_run_with_one_sentence_and_it_resumes(tmp_path, monkeypatch):
    """Out of memory in epoch 2 (staged: the step raises torch's error): the run is 'failed' with
    one sentence naming a smaller batch, epoch 1 stays saved, and the run resumes to the end."""
    from w2v_core.errors import DeviceMemoryError
    from w2v_core.run_folder import RunFolder, RunStatus
    from w2v_core.trainer import resume, train
    from w2v_core.vocab import Vocabulary

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 20, 300).astype(np.int32)
    corpus = EncodedCorpus(ids, np.array([0, 150, 300]), np.array([0, 1]))
    vocab = Vocabulary([f"w{i}" for i in range(20)], np.bincount(ids, minlength=20))
    config = TrainConfig(
        dim=8,
        window=2,
        negative=3,
        epochs=2,
        sample=0,
        optimizer="adam",
        batch_size=64,
        engine="batched-torch",
    )
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    real_step = BatchedTorchEngine._step
    calls = {"n": 0}

    def step_then_oom(self, *args):
        calls["n"] += 1
        if calls["n"] > 6:  # 5 batches per epoch: the second epoch runs out of memory
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB.")
        return real_step(self, *args)

    monkeypatch.setattr(BatchedTorchEngine, "_step", step_then_oom)
    with pytest.raises(DeviceMemoryError) as caught:
        train(config, vocab, corpus, run=run)
    message = str(caught.value)
    assert "ran out of memory" in message and "batch size (for example 32)" in message
    state = run.state()
    assert state.status == RunStatus.FAILED and state.error == message
    assert run.checkpoint_epochs() == [1]
    monkeypatch.setattr(BatchedTorchEngine, "_step", real_step)
    result = resume(run)
    assert result.status == "finished" and run.checkpoint_epochs() == [1, 2]


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_a_checkpoint_of_the_cpu_path_resumes_on_the_fixed_shape_path(optimizer):
    """Optimizer state saved by the CPU path (SparseAdam / AdamW) continues on the GPU path: its
    second epoch equals the CPU path's own second epoch."""
    cpu_path = make_engine("skipgram", optimizer=optimizer)
    run_epoch(cpu_path, 0, 0.01)
    saved = {k: v.detach().clone() for k, v in cpu_path.state_tensors().items()}
    resumed = make_engine("skipgram", optimizer=optimizer)
    resumed.fixed_shapes = True
    resumed.load_state_tensors(saved)
    run_epoch(cpu_path, 1, 0.01)
    run_epoch(resumed, 1, 0.01)
    for name in ("input", "output"):
        torch.testing.assert_close(
            resumed.state_tensors()[name], cpu_path.state_tensors()[name], atol=2e-5, rtol=1e-4
        )


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_gpu_resumes_a_cpu_checkpoint(optimizer):
    cpu_path = make_engine("skipgram", optimizer=optimizer)
    run_epoch(cpu_path, 0, 0.01)
    saved = {k: v.detach().clone() for k, v in cpu_path.state_tensors().items()}
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 400).astype(np.int32)
    corpus = EncodedCorpus(ids, np.array([0, 200, 400]), np.array([0, 1]))
    config = cpu_path.config
    gpu = BatchedTorchEngine(
        config, np.full(50, 10), corpus, *initial_vectors(50, 8, 1), device=torch.device("cuda")
    )
    gpu.load_state_tensors(saved)
    chunks = run_epoch(gpu, 1, 0.01)  # the GPU's generator draws other numbers: no equality
    assert all(np.isfinite(c.loss_sum) for c in chunks)
    state = gpu.state_tensors()
    batches = -(-400 // config.batch_size)
    assert int(state["optim.0.step"]) == int(saved["optim.0.step"]) + batches
    assert not torch.equal(state["input"].cpu(), saved["input"])
