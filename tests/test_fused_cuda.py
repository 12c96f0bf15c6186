"""Tests of the fused CUDA engine (w2v_core.backends.fused_cuda).

Without a GPU the kernels run under numba's CUDA simulator, in a subprocess each
(tests/fused_cuda_sim.py says why), and are checked against references computed here in numpy:
the window pairs and the noise words they draw, the loss falling, a planted two-topic corpus
learned, the host synchronisations of an epoch, a stop, the same updates at two block widths.
The simulator runs every GPU thread as a Python thread, so those tests are marked slow (CI runs
them). Tests marked `cuda` need a real GPU (`pytest -m cuda` on one) and skip without it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from w2v_core.backends import fused_cuda, select_engine
from w2v_core.backends.fused_cpu import _splitmix64, alias_table, chunk_words, corpus_segments
from w2v_core.backends.fused_cuda import (
    MAX_ROUND_GROWTH,
    FusedCudaEngine,
    next_round_words,
    random_bits,
    stream_keys,
    work_items,
)
from w2v_core.config import TrainConfig
from w2v_core.sampling import epoch_seed, keep_probabilities, noise_distribution

SIM_SCRIPT = Path(__file__).with_name("fused_cuda_sim.py")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SIM_SCRIPT.parent))
import fused_cuda_sim  # noqa: E402  (tests/ is not a package; its corpora are shared with it)

needs_gpu = pytest.mark.skipif(
    not torch.cuda.is_available() or not fused_cuda.numba_cuda_usable(),
    reason="needs a CUDA GPU that numba-cuda can use",
)


@functools.cache
def simulate(scenario: str) -> dict:
    """Run one scenario of tests/fused_cuda_sim.py under the simulator; its JSON result."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, str(SIM_SCRIPT), scenario],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=900,
    )
    assert done.returncode == 0, f"simulated scenario {scenario} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- references in numpy ----------------------------------------------------------------------------
def reference_window(token_ids, doc_offsets, keep_threshold, keys, window, chunk):
    """What the kernels must draw at each position: kept, reach, and the nearest `reach` kept
    tokens on each side within the segment (left side nearest first, then the right side)."""
    n = len(token_ids)
    positions = np.arange(n)
    kept = (random_bits(keys[0], positions) >> np.uint64(32)) < keep_threshold[token_ids]
    reach = 1 + (random_bits(keys[1], positions) % np.uint64(window)).astype(np.int64)
    starts = corpus_segments(doc_offsets, chunk)
    contexts = np.full((n, 2 * window), -1, np.int64)
    for s in range(len(starts) - 1):
        lo, hi = starts[s], starts[s + 1]
        for c in range(lo, hi):
            if not kept[c]:
                continue
            left = [p for p in range(c - 1, lo - 1, -1) if kept[p]][: reach[c]]
            right = [p for p in range(c + 1, hi) if kept[p]][: reach[c]]
            found = left + right
            contexts[c, : len(found)] = found
    return kept.astype(np.int64), reach, contexts


def reference_noise(alias: np.ndarray, key: int, n: int) -> np.ndarray:
    """The CPU kernel's alias draw (`_draw_noise`) on the kernels' random stream."""
    bits = random_bits(key, np.arange(n))
    cell = ((bits >> np.uint64(32)) * np.uint64(len(alias))) >> np.uint64(32)
    entry = alias[cell.astype(np.int64)]
    low = np.uint64(0xFFFFFFFF)
    return np.where((bits & low) < (entry & low), cell, entry >> np.uint64(32)).astype(np.int64)


def topic_margin(words: list[str], vectors: np.ndarray) -> float:
    """Mean cosine between words of one planted topic minus the mean cosine across topics."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit.T
    topic = np.array([0 if w in fused_cuda_sim.TOPIC_WORDS["a"] else 1 for w in words])
    same = topic[:, None] == topic[None, :]
    off_diagonal = ~np.eye(len(words), dtype=bool)
    return float(cosine[same & off_diagonal].mean() - cosine[~same].mean())


# ---- host-side pieces (no simulator) -------------------------------------------------------------
def test_the_simulator_is_switched_on_only_in_its_subprocess():
    assert os.environ.get("NUMBA_ENABLE_CUDASIM", "0") != "1"
    assert not fused_cuda.simulator_requested()


def test_the_simulated_threads_of_a_block_share_its_shared_arrays():
    """fused_cuda_sim.py allocates the simulator's shared arrays under a lock. numba-cuda 0.30.4
    does not: a thread switched out while the first allocation was made got an array of its own,
    and the simulated training read uninitialised values now and then (an IndexError, or a NaN
    loss at a learning rate the CPU engine trains at without trouble)."""
    result = simulate("shared-arrays")
    assert result["seen"] == [list(range(result["threads"]))] * len(result["seen"])


def test_random_bits_are_the_cpu_kernels_splitmix64_sequence():
    key = 0x1234_5678_9ABC_DEF0
    state = np.uint64(key)
    expected = []
    for _ in range(6):
        state, bits = _splitmix64(state)
        state = np.uint64(state)  # numba hands back a Python int; keep it unsigned
        expected.append(int(bits))
    assert random_bits(key, np.arange(6)).tolist() == expected


def test_stream_keys_differ_by_stream_and_epoch():
    keys = [stream_keys(epoch_seed(1, epoch)) for epoch in (0, 1)]
    assert len(set(keys[0] + keys[1])) == 6


def test_work_items_cut_segments_without_crossing_them():
    # segments [0, 5) and [5, 12) in items of 3: [0,3) [3,5) | [5,8) [8,11) [11,12)
    starts, segments = work_items(np.array([0, 5, 12]), 3)
    assert starts.tolist() == [0, 3, 5, 8, 11]
    assert segments.tolist() == [0, 0, 1, 1, 1]


def test_rounds_aim_at_round_seconds_and_grow_gradually():
    # 1M words took 0.1 s: 0.5 s would hold 5M words, but one round grows at most 4-fold
    assert next_round_words(1_000_000, 0.1, 1_000_000, 0.5) == MAX_ROUND_GROWTH * 1_000_000
    assert next_round_words(1_000_000, 0.1, 10_000_000, 0.5) == 5_000_000
    assert next_round_words(0, 0.0, 123.0, 0.5) == 123.0  # nothing measured: keep the size


def test_supports_sgd_negative_sampling_on_cuda_only(monkeypatch):
    monkeypatch.setattr(fused_cuda, "numba_cuda_usable", lambda: True)
    cuda = torch.device("cuda")
    assert FusedCudaEngine.supports(TrainConfig(), cuda)
    assert FusedCudaEngine.supports(TrainConfig(model="cbow"), cuda)
    assert not FusedCudaEngine.supports(TrainConfig(optimizer="adam"), cuda)
    assert not FusedCudaEngine.supports(TrainConfig(loss="softmax"), cuda)
    assert not FusedCudaEngine.supports(TrainConfig(negative=40), cuda)
    assert not FusedCudaEngine.supports(TrainConfig(), torch.device("cpu"))
    monkeypatch.setattr(fused_cuda, "numba_cuda_usable", lambda: False)
    assert not FusedCudaEngine.supports(TrainConfig(), cuda)


def test_auto_prefers_fused_cuda_on_cuda_and_fused_cpu_on_the_cpu(monkeypatch):
    monkeypatch.setattr(fused_cuda, "numba_cuda_usable", lambda: True)
    assert select_engine(TrainConfig(), torch.device("cuda")).name == "fused-cuda"
    assert select_engine(TrainConfig(optimizer="adam"), torch.device("cuda")).name != "fused-cuda"
    assert select_engine(TrainConfig(), torch.device("cpu")).name == "fused-cpu"


def test_fused_cuda_without_a_usable_gpu_is_a_plain_config_error(monkeypatch):
    from w2v_core.errors import ConfigError

    monkeypatch.setattr(fused_cuda, "numba_cuda_usable", lambda: False)
    with pytest.raises(ConfigError, match="NVIDIA GPU that numba-cuda can use"):
        select_engine(TrainConfig(engine="fused-cuda"), torch.device("cuda"))


def test_kernels_that_cannot_be_built_say_what_to_install(monkeypatch):
    """numba compiles at the first launch: a missing NVVM shows there, as one plain sentence."""
    from w2v_core.backends.base import initial_vectors
    from w2v_core.errors import DeviceError

    def no_nvvm(*args):
        raise RuntimeError("libNVVM cannot be found. Do `conda install cudatoolkit`:\nmore")

    monkeypatch.setattr(fused_cuda, "simulator_requested", lambda: True)
    monkeypatch.setattr(FusedCudaEngine, "_compile_kernels", lambda self: None)
    monkeypatch.setattr(FusedCudaEngine, "_allocate", lambda self, *args: None)
    monkeypatch.setattr(FusedCudaEngine, "_launch", no_nvvm)
    corpus = fused_cuda_sim.draws_corpus()
    counts = np.bincount(corpus.token_ids, minlength=6)
    with pytest.raises(DeviceError) as caught:
        FusedCudaEngine(TrainConfig(dim=4), counts, corpus, *initial_vectors(6, 4, 1), "cpu")
    message = str(caught.value)
    assert message.startswith("The fused CUDA engine could not prepare its kernels (libNVVM")
    assert "numba-cuda[cu12]" in message and "batched-torch" in message and "\n" not in message


def test_memory_needed_counts_vectors_corpus_and_tables():
    # V=1000, D=100: 2 * 1000 * 100 * 4 = 800,000; tables 1000 * 16; 10,000 tokens * 4; 40 items
    # * (8 + 4 + 4 + 8)
    config = TrainConfig(dim=100)
    assert FusedCudaEngine.memory_needed(config, 1000, 10_000, 40) == (
        800_000 + 16_000 + 40_000 + 40 * 24
    )


# ---- the kernels under the simulator -------------------------------------------------------------
@pytest.mark.parametrize("scenario", ["draws", pytest.param("draws-32", marks=pytest.mark.slow)])
def test_window_pairs_are_dynamic_windows_of_kept_tokens_within_documents(scenario):
    corpus = fused_cuda_sim.draws_corpus()
    counts = np.bincount(corpus.token_ids, minlength=6)
    config = TrainConfig(dim=4, window=3, negative=2, sample=0.05, seed=7)
    threshold = np.round(keep_probabilities(counts, config.sample) * 2.0**32).astype(np.uint64)
    result = simulate(scenario)
    doc_of = np.repeat(np.arange(corpus.n_documents), np.diff(corpus.doc_offsets))
    for epoch in (0, 1):
        keys = stream_keys(epoch_seed(config.seed, epoch))
        kept, reach, contexts = reference_window(
            corpus.token_ids, corpus.doc_offsets, threshold, keys, 3, chunk_words(config)
        )
        drawn = result[str(epoch)]
        assert drawn["kept"] == kept.tolist()
        assert drawn["reach"] == reach.tolist()
        assert drawn["contexts"] == contexts.tolist()
        got = np.array(drawn["contexts"])
        for c in np.flatnonzero(kept):  # properties a person can check without the reference
            found = got[c][got[c] >= 0]
            assert all(doc_of[found] == doc_of[c]) and all(kept[found] == 1)
            assert (found < c).sum() <= reach[c] and (found > c).sum() <= reach[c]
    assert 0 < sum(result["0"]["kept"]) < corpus.n_tokens  # subsampling dropped some, not all
    assert result["0"]["kept"] != result["1"]["kept"]  # each epoch draws anew


@pytest.mark.slow
def test_noise_words_follow_the_unigram_to_the_075():
    from scipy.stats import chisquare

    result = simulate("noise")
    counts = np.array(result["counts"])
    draws = np.array(result["draws"])
    config = TrainConfig(seed=11)
    alias = alias_table(noise_distribution(counts, 0.75))
    key = stream_keys(epoch_seed(config.seed, 0))[2]
    assert draws.tolist() == reference_noise(alias, key, len(draws)).tolist()
    observed = np.bincount(draws, minlength=len(counts))
    for exponent, agrees in ((0.75, True), (1.0, False)):
        expected = noise_distribution(counts, exponent) * len(draws)
        p_value = chisquare(observed, expected).pvalue
        assert (p_value > 1e-3) if agrees else (p_value < 1e-6), (exponent, p_value)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_training_learns_the_planted_topics_and_the_loss_falls(model):
    result = simulate(f"train-{model}")
    assert result["engine"] == "fused-cuda"
    losses = result["epoch_losses"]
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.8 * losses[0], losses
    # words of one topic end up nearer each other than words of the other topic
    assert topic_margin(result["words"], np.array(result["vectors"])) > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_an_epoch_waits_for_the_device_once_per_round(model):
    result = simulate(f"train-{model}")
    syncs = result["host_syncs_per_epoch"]
    assert len(syncs) == 4
    # one progress read per round, nothing else: each round is one chunk reported to the trainer
    # (its step count), and a 64-word first round means several rounds per epoch
    assert sum(syncs) == result["steps"]
    assert all(n >= 2 for n in syncs)
    for n, seconds in zip(syncs, result["epoch_seconds"]):
        # rounds are sized to round_seconds after the first, growing at most 4-fold from 64 words
        assert n <= seconds / result["round_seconds"] + 6, (n, seconds)


@pytest.mark.slow
def test_a_stop_request_ends_the_epoch_after_one_round_and_state_round_trips():
    result = simulate("stop")
    assert result["finished"] is False
    assert result["chunks"] == 1 and result["host_syncs"] == 1
    assert 0 < result["words_done"] < result["n_tokens"]
    assert result["round_trip"]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_the_updates_do_not_depend_on_the_block_width(model):
    """8 and 32 threads per block split each vector differently; the sums agree to rounding."""
    result = simulate(f"widths-{model}")
    narrow, warp = result["8"], result["32"]
    assert narrow["loss_count"] == warp["loss_count"] > 0
    assert narrow["loss_sum"] == pytest.approx(warp["loss_sum"], rel=1e-5)
    for kind in ("input", "output"):
        np.testing.assert_allclose(narrow[kind], warp[kind], atol=1e-6)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_the_kernels_compile_for_hopper_where_nvvm_is_installed(model):
    """numba-cuda types and compiles the kernels to PTX without a GPU when NVVM is found (a CUDA
    toolkit, or the nvidia-cuda-nvcc and nvidia-cuda-nvrtc wheels); the simulator never types them.
    A typing error fails; missing CUDA libraries skip."""
    from numba import cuda
    from numba.core.errors import TypingError

    kernels = fused_cuda._kernels(model, 100, 5, 5, fused_cuda.WARP)
    try:
        ptx, _ = cuda.compile_ptx(
            kernels.train_items.py_func,
            fused_cuda.train_items_signature(),
            cc=(9, 0),
            fastmath=True,
        )
    except TypingError:
        raise
    except Exception as error:  # noqa: BLE001 - no NVVM / NVRTC here
        pytest.skip(f"cannot compile CUDA here: {str(error).splitlines()[0][:200]}")
    assert ".entry" in ptx and ".local" not in ptx  # D = 100: every per-thread array in registers


# ---- on a real GPU ---------------------------------------------------------------------------------
@pytest.mark.cuda
@needs_gpu
def test_gpu_draws_match_the_reference():
    from w2v_core.backends.base import initial_vectors

    corpus = fused_cuda_sim.draws_corpus()
    counts = np.bincount(corpus.token_ids, minlength=6)
    config = TrainConfig(dim=4, window=3, negative=2, sample=0.05, seed=7, device="cuda")
    engine = FusedCudaEngine(config, counts, corpus, *initial_vectors(6, 4, 7), device="cuda")
    threshold = np.round(keep_probabilities(counts, config.sample) * 2.0**32).astype(np.uint64)
    keys = stream_keys(epoch_seed(config.seed, 0))
    expected = reference_window(
        corpus.token_ids, corpus.doc_offsets, threshold, keys, 3, chunk_words(config)
    )
    for got, want in zip(engine.window_draws(0), expected):
        assert got.tolist() == want.tolist()
    alias = alias_table(noise_distribution(counts, 0.75))
    assert engine.noise_draws(0, 5000).tolist() == reference_noise(alias, keys[2], 5000).tolist()


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_gpu_training_learns_the_planted_topics(model):
    from w2v_core.trainer import Trainer

    vocab, corpus = fused_cuda_sim.topic_corpus(n_docs=400, doc_length=20)
    config = TrainConfig(model=model, dim=10, window=2, negative=3, sample=0, epochs=5, seed=5)
    config = config.replace(device="cuda")
    trainer = Trainer(config, vocab, corpus)
    result = trainer.fit()
    assert result.engine == "fused-cuda"
    assert topic_margin(list(vocab.words), result.input_vectors) > 0.5
    assert all(1 <= n <= 4 for n in trainer.engine.host_syncs_per_epoch)
