"""Runs the fused CUDA engine's kernels under numba's CUDA simulator, in a process of its own.

numba decides between the simulator and a real GPU when `numba.cuda` is first imported, and a pytest
process may already have imported it for real (any test that selects an engine on a CUDA machine),
so tests/test_fused_cuda.py runs each scenario here, as `python tests/fused_cuda_sim.py SCENARIO`,
and reads the JSON this prints. The simulator runs every thread of a block as a Python thread, so
blocks are 4 threads wide (the kernels take any width; a GPU runs 32) and the corpora are tiny.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np

cuda = None  # numba.cuda, imported once the simulator is switched on (scenario_shared_arrays)

SIM_THREADS = 4  # threads per simulated block: up to 3 noise words per update

TOPIC_WORDS = {"a": ["apple", "pear", "plum", "fig"], "b": ["car", "bus", "van", "tram"]}


def _engine_module(threads: int = SIM_THREADS):
    import w2v_core.backends.fused_cuda as fused_cuda

    fused_cuda.THREADS_PER_BLOCK = threads
    return fused_cuda


def topic_corpus(n_docs: int = 24, doc_length: int = 10, seed: int = 0):
    """Documents that each draw their words from one of two topics, alternating: (vocab, corpus)."""
    from w2v_core.corpus import EncodedCorpus
    from w2v_core.vocab import Vocabulary

    words = TOPIC_WORDS["a"] + TOPIC_WORDS["b"]
    rng = np.random.default_rng(seed)
    docs = []
    for d in range(n_docs):
        first = 0 if d % 2 == 0 else len(TOPIC_WORDS["a"])
        docs.append(rng.integers(first, first + len(TOPIC_WORDS["a"]), doc_length))
    token_ids = np.concatenate(docs).astype(np.int32)
    offsets = np.arange(0, n_docs * doc_length + 1, doc_length, dtype=np.int64)
    counts = np.bincount(token_ids, minlength=len(words))
    corpus = EncodedCorpus(token_ids, offsets, np.arange(n_docs, dtype=np.int64))
    return Vocabulary(words, counts), corpus


def draws_corpus():
    """Documents of 9, 2, 14 and 5 tokens over a skewed vocabulary of 6 words."""
    from w2v_core.corpus import EncodedCorpus

    rng = np.random.default_rng(3)
    lengths = [9, 2, 14, 5]
    token_ids = rng.choice(6, size=sum(lengths), p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return EncodedCorpus(token_ids.astype(np.int32), offsets, np.arange(len(lengths)))


def scenario_draws(threads: int = SIM_THREADS) -> dict:
    """kept / reach / contexts at every position for two epochs, through the device code."""
    from w2v_core.backends.base import initial_vectors
    from w2v_core.config import TrainConfig

    fused_cuda = _engine_module(threads)
    corpus = draws_corpus()
    counts = np.bincount(corpus.token_ids, minlength=6)
    config = TrainConfig(
        dim=4, window=3, negative=2, sample=0.05, seed=7, engine="fused-cuda", device="cpu"
    )
    vectors = initial_vectors(6, 4, 7)
    engine = fused_cuda.FusedCudaEngine(config, counts, corpus, *vectors, device="cpu")
    out = {}
    for epoch in (0, 1):
        kept, reach, contexts = engine.window_draws(epoch)
        out[str(epoch)] = {
            "kept": kept.tolist(),
            "reach": reach.tolist(),
            "contexts": contexts.tolist(),
        }
    return out


def scenario_noise() -> dict:
    """4,000 noise draws of epoch 0 over a vocabulary of 8 words with Zipf-like counts."""
    from w2v_core.backends.base import initial_vectors
    from w2v_core.config import TrainConfig
    from w2v_core.corpus import EncodedCorpus

    fused_cuda = _engine_module()
    counts = np.array([400, 200, 130, 100, 80, 60, 20, 10])
    token_ids = np.repeat(np.arange(8), counts).astype(np.int32)
    corpus = EncodedCorpus(token_ids, np.array([0, len(token_ids)]), np.array([0]))
    config = TrainConfig(dim=4, window=2, negative=3, seed=11, engine="fused-cuda", device="cpu")
    engine = fused_cuda.FusedCudaEngine(
        config, counts, corpus, *initial_vectors(8, 4, 11), device="cpu"
    )
    return {"counts": counts.tolist(), "draws": engine.noise_draws(0, 4000).tolist()}


def scenario_train(model: str) -> dict:
    """Train the planted two-topic corpus through the trainer; losses, syncs, vectors."""
    from w2v_core.config import TrainConfig
    from w2v_core.trainer import Trainer

    fused_cuda = _engine_module()
    fused_cuda.FIRST_ROUND_WORDS = 64  # several rounds per epoch, as a GPU epoch has
    vocab, corpus = topic_corpus()
    config = TrainConfig(
        model=model,
        dim=10,  # not a multiple of the block width: some threads hold fewer components
        window=2,
        negative=3,
        sample=0.0,
        epochs=4,
        lr=0.1,  # the NaNs once seen here were the simulator's (allocate_shared_arrays_under_a_lock)
        seed=5,
        engine="fused-cuda",
        device="cpu",
    )
    epoch_losses: dict[int, float] = {}
    epoch_started: dict[int, float] = {}
    epoch_seconds: dict[int, float] = {}

    def on_progress(report) -> None:
        now = time.perf_counter()
        epoch_started.setdefault(report.epoch, now)
        epoch_seconds[report.epoch] = now - epoch_started[report.epoch]
        if report.epoch_loss is not None:
            epoch_losses[report.epoch] = report.epoch_loss

    trainer = Trainer(config, vocab, corpus, on_progress=on_progress, report_interval=0.0)
    result = trainer.fit()
    engine = trainer.engine
    return {
        "engine": result.engine,
        "words": list(vocab.words),
        "vectors": result.input_vectors.tolist(),
        "epoch_losses": [epoch_losses[e] for e in sorted(epoch_losses)],
        "epoch_seconds": [epoch_seconds[e] for e in sorted(epoch_seconds)],
        "host_syncs_per_epoch": engine.host_syncs_per_epoch,
        "round_seconds": engine.round_seconds,
        "steps": trainer._step,
    }


def scenario_stop() -> dict:
    """An epoch asked to stop after its first round; then a state round trip."""
    import torch

    from w2v_core.backends.base import ChunkResult, EpochContext, initial_vectors
    from w2v_core.config import TrainConfig

    fused_cuda = _engine_module()
    fused_cuda.FIRST_ROUND_WORDS = 40
    vocab, corpus = topic_corpus(n_docs=8)
    config = TrainConfig(dim=8, window=2, negative=3, sample=0, engine="fused-cuda", device="cpu")
    engine = fused_cuda.FusedCudaEngine(
        config, vocab.counts, corpus, *initial_vectors(len(vocab), 8, 1), device="cpu"
    )
    chunks: list[ChunkResult] = []

    def on_chunk(result: ChunkResult) -> bool:
        chunks.append(result)
        return True  # stop at once

    finished = engine.run_epoch(EpochContext(0, lambda fraction: 0.025, on_chunk))
    saved = {k: v.clone() for k, v in engine.state_tensors().items()}
    changed = {
        "input": torch.full_like(saved["input"], 0.5),
        "output": torch.full_like(saved["output"], -0.25),
    }
    engine.load_state_tensors(changed)
    after = engine.state_tensors()
    return {
        "finished": finished,
        "chunks": len(chunks),
        "words_done": sum(c.words_done for c in chunks),
        "n_tokens": corpus.n_tokens,
        "host_syncs": engine.host_syncs,
        "round_trip": bool(
            torch.equal(after["input"], changed["input"])
            and torch.equal(after["output"], changed["output"])
        ),
    }


def scenario_widths(model: str) -> dict:
    """One epoch at 8 and at 32 threads per block: the same updates in another reduction order."""
    from w2v_core.backends.base import EpochContext, initial_vectors
    from w2v_core.config import TrainConfig

    vocab, corpus = topic_corpus(n_docs=6)
    config = TrainConfig(
        model=model, dim=40, window=2, negative=5, sample=0, engine="fused-cuda", device="cpu"
    )
    out = {}
    for threads in (8, 32):
        fused_cuda = _engine_module(threads)
        engine = fused_cuda.FusedCudaEngine(
            config, vocab.counts, corpus, *initial_vectors(len(vocab), 40, 3), device="cpu"
        )
        losses: list = []

        def on_chunk(result, losses=losses) -> bool:
            losses.append(result)
            return False

        engine.run_epoch(EpochContext(0, lambda f: 0.05, on_chunk))
        out[str(threads)] = {
            "input": engine.state_tensors()["input"].tolist(),
            "output": engine.state_tensors()["output"].tolist(),
            "loss_sum": sum(r.loss_sum for r in losses),
            "loss_count": sum(r.loss_count for r in losses),
        }
    return out


def scenario_shared_arrays(threads: int = 8, launches: int = 3) -> dict:
    """Each thread of a block writes its lane into a shared array and thread 0 reads the whole
    array back, with allocation slowed down (as for a thread switched out while the simulator
    allocates): what thread 0 saw in each launch."""
    global cuda  # the simulator swaps a kernel's module global `cuda`, never a local
    from numba import cuda

    @cuda.jit
    def lanes_seen(out):
        shared = cuda.shared.array(64, np.int64)
        lane = cuda.threadIdx.x
        shared[lane] = lane
        cuda.syncthreads()
        if lane == 0:
            for j in range(cuda.blockDim.x):
                out[j] = shared[j]

    fast_empty = np.empty

    def slow_empty(*args, **kwargs):
        time.sleep(0.005)
        return fast_empty(*args, **kwargs)

    seen = []
    np.empty = slow_empty  # the simulator's module holds the same numpy
    try:
        for _ in range(launches):
            out = np.full(threads, -1, np.int64)
            lanes_seen[1, threads](out)
            seen.append(out.tolist())
    finally:
        np.empty = fast_empty
    return {"threads": threads, "seen": seen}


SCENARIOS = {
    "shared-arrays": scenario_shared_arrays,
    "draws": scenario_draws,
    "noise": scenario_noise,
    "train-skipgram": lambda: scenario_train("skipgram"),
    "train-cbow": lambda: scenario_train("cbow"),
    "stop": scenario_stop,
    "draws-32": lambda: scenario_draws(32),
    "widths-skipgram": lambda: scenario_widths("skipgram"),
    "widths-cbow": lambda: scenario_widths("cbow"),
}


def allocate_shared_arrays_under_a_lock() -> None:
    """Make the simulator's `cuda.shared.array` safe for the threads of a block.

    numba-cuda's simulator (0.30.4, `FakeCUDAShared.array`) gives each call site of a launch one
    array: it looks the call site up and, when nothing is there yet, makes and stores an array,
    with no lock. Every thread of a block makes that call when the kernel starts; a thread switched
    out between the look-up and the store makes an array of its own, and from then on the block's
    threads do not share that array: uninitialised values are read (an IndexError or a NaN loss
    now and then, more often on a busy machine and with the short switch interval below). A GPU
    has no such step. The same logic, keyed on the same call site, under a lock.
    """
    import threading
    import traceback

    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support

    unsafe = kernelapi.FakeCUDAShared.array
    lock = threading.Lock()

    def array(self, shape, dtype, alignment=None):
        if shape == 0 or alignment is not None:  # dynamic shared memory, or refused: as before
            return unsafe(self, shape, dtype, alignment)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = tuple(traceback.extract_stack(sys._getframe())[-2][0:2])  # as numba-cuda keys it
        with lock:
            allocation = self._allocations.get(caller)
            if allocation is None:
                allocation = self._allocations[caller] = np.empty(shape, dtype)
        return allocation

    kernelapi.FakeCUDAShared.array = array


def main(scenario: str) -> None:
    """Switch the simulator on (before anything imports numba.cuda), run one scenario, print JSON.

    Only here, never at import: tests/test_fused_cuda.py imports this module for its corpora, and
    the variable would leak into its pytest process and every process that one starts.
    """
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    # The simulator's block manager polls its threads while holding the GIL; a short switch
    # interval lets the simulated threads run between polls (at 5 ms every barrier costs ~10 ms).
    sys.setswitchinterval(1e-5)
    allocate_shared_arrays_under_a_lock()
    # SplitMix64 wraps around by design; numpy scalars warn when uint64 arithmetic overflows.
    warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning)
    print(json.dumps(SCENARIOS[scenario]()))


if __name__ == "__main__":
    main(sys.argv[1])
