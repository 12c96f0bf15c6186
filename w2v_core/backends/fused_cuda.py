"""The fused CUDA engine: word2vec.c-style SGD with negative sampling on an NVIDIA GPU (numba-cuda).

Owns: the CUDA kernels that train many centres per launch (skip-gram and CBOW), their counter-based
random draws (subsampling, dynamic windows, noise words), the split of the corpus into work items,
the rounds of one epoch (one launch each, sized to about half a second of GPU work) and the one host
synchronisation per round that reads the loss back.
Leaves out: the epoch loop, the learning-rate schedule, reports and checkpoints (`w2v_core.trainer`),
the sampling formulas (`w2v_core.sampling`), the alias table and the corpus segments, which it shares
with the CPU kernel (`w2v_core.backends.fused_cpu`), other optimizers and losses
(`w2v_core.backends.batched_torch`).

It mirrors the CPU kernel's semantics; only the order of the random draws differs:

* Segments are the CPU engine's (`corpus_segments`: documents, long ones cut every `chunk_words`);
  windows never cross a segment. Segments are cut into work items of `ITEM_WORDS` consecutive tokens;
  each epoch visits the items in a permutation drawn from the epoch seed (as the CPU engine shuffles
  its chunks), and the learning rate follows the words handed out so far, interpolated linearly
  across each launch by item position (`EpochContext.lr_at` at the launch's first and last word).
* Every random number is a pure function of (epoch seed, stream, counter): the counter-th output of
  SplitMix64 seeded with a per-stream key. Token p is kept when draw(keep, p) >> 32 is below its keep
  threshold (the CPU engine's 32-bit comparison), so every thread agrees on which tokens survive
  subsampling without a shared pass over the corpus; a kept centre c draws its effective window
  1 + draw(window, c) % window, and its noise words from draw(noise, c * per_centre + q) through the
  CPU engine's alias table (a draw equal to the positive word is skipped, as in word2vec.c).
* A thread block is one warp (32 threads) that trains one work item at a time (grid-stride over the
  launch's items). For each kept centre the warp finds up to `reach` kept tokens on each side within
  the segment (32 candidates per step, one per thread), then runs the CPU kernel's update: skip-gram
  updates each (context, centre) pair with the context's input vector against the centre's output
  vector and `negative` noise words; CBOW averages the contexts' input vectors, predicts the centre
  and adds the whole error to every context word. Threads split the vector's D components (thread l
  holds components l, l + 32, ...); dot products are reduced through shared memory. Blocks update the
  shared vectors without locks (Hogwild, as word2vec.c's threads and the CPU engine do).
* Threads cooperate through shared memory and `syncthreads` only, never warp shuffles or ballots:
  numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) has neither, and with these primitives the code that
  runs on a GPU is exactly the code the simulator tests on the CPU (tests/test_fused_cuda.py).
* Gradients and losses use exact float32 math (expf, log1pf: cheap on a GPU, no table lookups), with
  the CPU kernel's saturation beyond |score| >= MAX_SCORE. The loss reported is the true
  negative-sampling loss, per positive pair (skip-gram) or per centre with a context (CBOW).

Host synchronisation: one launch per round; after it the engine copies the epoch's running loss sum
and count (two float64) to pinned host memory and waits for that copy, which is the round's one host
sync. A round is sized from the measured speed to take about `ROUND_SECONDS`, so progress is read and
a stop request honoured about twice a second. `host_syncs` counts these waits for the last epoch.

Device memory is allocated through PyTorch (the kernels run on torch tensors through
`__cuda_array_interface__`, on torch's current stream), so torch's memory statistics see it and an
out-of-memory error is torch's. Under the simulator the arrays are the simulator's instead.
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from w2v_core.backends.base import ChunkResult, EpochContext
from w2v_core.backends.fused_cpu import MAX_SCORE, alias_table, chunk_words, corpus_segments
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.device import device_errors
from w2v_core.errors import DeviceError, W2VError
from w2v_core.sampling import epoch_seed, keep_probabilities, noise_distribution

WARP = 32  # threads per block on a GPU: one warp trains one work item
# Threads per block the kernels are built for: a warp on a GPU. Any width works (the code never
# assumes 32); the simulator tests run 4 or 8 wide, because it runs every thread as a Python thread.
THREADS_PER_BLOCK = WARP
ITEM_WORDS = 256  # corpus positions per work item (a warp trains them in order)
ROUND_SECONDS = 0.5  # GPU work per launch, so progress is read and a stop honoured twice a second
FIRST_ROUND_WORDS = 262_144  # before any speed is measured
MAX_ROUND_GROWTH = 4.0  # a round at most this many times the words of the one before
# Limits of the compiled kernels (shared-memory arrays are sized by them); larger settings go to the
# PyTorch engine.
MAX_NEGATIVE = WARP - 1  # one thread draws each noise word of an update
MAX_WINDOW = 64
BLOCKS_PER_SM = 32  # resident one-warp blocks per multiprocessor (the hardware's limit on Hopper)

_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's increment
# Stream tags: each random stream's key is mix(epoch seed, tag).
_KEEP_STREAM, _WINDOW_STREAM, _NOISE_STREAM = 1, 2, 3

cuda: Any = None  # numba.cuda, imported on first use (see `_numba_cuda`)


def simulator_requested() -> bool:
    """True when numba's CUDA simulator is switched on for this process (NUMBA_ENABLE_CUDASIM=1)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def _numba_cuda() -> Any:
    """numba.cuda, imported once. It is a module global because the simulator swaps the kernels'
    global `cuda` for its fake module while they run."""
    global cuda
    if cuda is None:
        from numba import cuda as numba_cuda

        cuda = numba_cuda
    return cuda


@functools.lru_cache(maxsize=1)
def numba_cuda_usable() -> bool:
    """Whether numba can launch kernels on a real GPU here (numba-cuda installed, a driver found)."""
    if simulator_requested():
        return False
    try:
        return bool(_numba_cuda().is_available())
    except Exception:  # noqa: BLE001 - a broken CUDA install means: not usable
        return False


# ---- host-side helpers (plain numpy, tested directly) -----------------------------------------------
def _mix64(z: int) -> int:
    """SplitMix64's output function on a Python int (Steele et al. 2014)."""
    mask = (1 << 64) - 1
    z &= mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def stream_keys(seed: int) -> tuple[int, int, int]:
    """The keys of the keep, window and noise streams of an epoch seed (each a uint64 value)."""
    return tuple(_mix64((seed << 8) ^ tag) for tag in (_KEEP_STREAM, _WINDOW_STREAM, _NOISE_STREAM))


def random_bits(key: int, counter: np.ndarray | int) -> np.ndarray:
    """The counter-th output of SplitMix64 seeded with `key`: what the kernels draw, in numpy.

    (counter,) uint64 -> (counter,) uint64; the reference for tests of the device draws.
    """
    with np.errstate(over="ignore"):
        z = np.uint64(key) + (np.asarray(counter, dtype=np.uint64) + np.uint64(1)) * np.uint64(
            _GOLDEN
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def work_items(segment_starts: np.ndarray, item_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut every segment into items of at most `item_words` consecutive positions.

    Returns (item_start (I,) int64, item_segment (I,) int32); item i spans positions
    [item_start[i], min(item_start[i] + item_words, end of its segment)).
    """
    lengths = np.diff(segment_starts)
    pieces = np.maximum(1, -(-lengths // item_words))  # ceil, at least one per segment
    item_segment = np.repeat(np.arange(len(lengths)), pieces)
    first_piece = np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_number = np.arange(int(pieces.sum())) - first_piece
    item_start = segment_starts[:-1][item_segment] + piece_number * item_words
    return item_start.astype(np.int64), item_segment.astype(np.int32)


def next_round_words(words: int, seconds: float, previous: float, round_seconds: float) -> float:
    """Words of the next round: what the speed just measured (`words` in `seconds`) does in
    `round_seconds`, growing at most MAX_ROUND_GROWTH-fold a round (a first, tiny round can time
    launch overhead more than work)."""
    if words <= 0 or seconds <= 0:
        return previous
    wanted = words / seconds * round_seconds
    return float(max(1.0, min(wanted, MAX_ROUND_GROWTH * max(words, previous))))


# ---- the kernels ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledKernels:
    """The training kernel and two kernels that expose its draws to tests (same device functions)."""

    train_items: Any
    window_contexts: Any
    noise_samples: Any


@functools.cache
def _kernels(model: str, dim: int, window: int, negative: int, lanes: int) -> Any:
    """The compiled kernel for these settings: D, the window and the noise count are compile-time
    constants (shared-memory sizes and the unrolled per-thread component loops depend on them)."""
    _numba_cuda()
    if negative + 1 > lanes:
        raise ValueError(f"{lanes} threads per block draw at most {lanes - 1} noise words")
    per_lane = (dim + lanes - 1) // lanes  # vector components held by one thread
    n_slots = negative + 1  # the positive word and the noise words of one update
    context_max = 2 * window
    partial_width = lanes + 1  # one column more than threads: no shared-memory bank conflicts
    noise_per_centre = 2 * window * negative if model == "skipgram" else negative
    max_score = np.float32(MAX_SCORE)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    u32 = np.uint64(32)
    low32 = np.uint64(0xFFFFFFFF)
    golden = np.uint64(_GOLDEN)
    mix_a = np.uint64(0xBF58476D1CE4E5B9)
    mix_b = np.uint64(0x94D049BB133111EB)
    window_u = np.uint64(window)
    skipgram = model == "skipgram"

    @cuda.jit(device=True, inline="always")
    def draw(key, counter):  # pragma: no cover - device code
        """The counter-th output of SplitMix64 seeded with key (see `random_bits`)."""
        z = key + (np.uint64(counter) + np.uint64(1)) * golden
        z = (z ^ (z >> np.uint64(30))) * mix_a
        z = (z ^ (z >> np.uint64(27))) * mix_b
        return z ^ (z >> np.uint64(31))

    @cuda.jit(device=True, inline="always")
    def is_kept(token_ids, keep_threshold, key_keep, position):  # pragma: no cover - device code
        return (draw(key_keep, position) >> u32) < keep_threshold[token_ids[position]]

    @cuda.jit(device=True, inline="always")
    def noise_word(bits, alias, vocab_size):  # pragma: no cover - device code
        """The CPU kernel's `_draw_noise`: high 32 bits pick a cell, low 32 bits are its coin."""
        cell = ((bits >> u32) * np.uint64(vocab_size)) >> u32
        entry = alias[cell]
        if (bits & low32) < (entry & low32):
            return np.int64(cell)
        return np.int64(entry >> u32)

    @cuda.jit(device=True, inline="always")
    def gradient_and_loss(score, label, lr):  # pragma: no cover - device code
        """g = (label - σ(score)) * lr and the loss -log σ(±score), saturating as the CPU kernel."""
        if score >= max_score:
            g = (label - one) * lr
            loss = math.log1p(math.exp(-score))
        elif score <= -max_score:
            g = label * lr
            loss = -score + math.log1p(math.exp(score))
        else:
            e = math.exp(-score)
            g = (label - one / (one + e)) * lr
            loss = math.log1p(e)
        if label == zero:
            loss += score  # -log σ(-x) = -log σ(x) + x
        return g, np.float64(loss)

    @cuda.jit(device=True, inline="always")
    def gather_side(
        lane, centre, direction, lo, hi, need, offset, context_pos, flags, token_ids,
        keep_threshold, key_keep,
    ):  # fmt: skip  # pragma: no cover - device code
        """Write the positions of the first `need` kept tokens from `centre` in `direction` (within
        [lo, hi)) to context_pos[offset:]; every thread returns their number. 32 candidates a step."""
        found = 0
        step = 0
        while found < need:
            nearest = centre + direction * (1 + step * lanes)
            if nearest < lo or nearest >= hi:
                break
            position = centre + direction * (1 + step * lanes + lane)
            flag = 0
            if lo <= position < hi and is_kept(token_ids, keep_threshold, key_keep, position):
                flag = 1
            flags[lane] = flag
            cuda.syncthreads()
            rank = 0  # kept candidates nearer than this thread's
            total = 0
            for j in range(lanes):
                f = flags[j]
                if j < lane:
                    rank += f
                total += f
            if flag == 1 and found + rank < need:
                context_pos[offset + found + rank] = position
            found = min(need, found + total)
            step += 1
            cuda.syncthreads()  # flags are rewritten by the next step; context_pos is complete
        return found

    @cuda.jit(device=True, inline="always")
    def draw_targets(lane, centre, first_draw, buffer, targets, alias, vocab_size, key_noise):
        """Thread 0 writes the positive word, threads 1..negative one noise word each (-1 where it
        equals the positive word: skipped, as in word2vec.c)."""  # pragma: no cover - device code
        if lane == 0:
            targets[buffer, 0] = centre
        elif lane < n_slots:
            word = noise_word(draw(key_noise, first_draw + lane - 1), alias, vocab_size)
            targets[buffer, lane] = word if word != centre else -1

    @cuda.jit(device=True, inline="always")
    def score_targets(lane, source, syn1, targets, buffer, partial, grads, lr):
        """After `targets` are visible: scores of `source` (this thread's components) against every
        target, reduced through `partial`; thread k < n_slots turns score k into grads[buffer, k]
        and returns its loss term (0 elsewhere). Ends with the gradients visible to all threads."""
        # pragma: no cover - device code
        for k in range(n_slots):
            target = targets[buffer, k]
            s = zero
            if target >= 0:
                for i in range(per_lane):
                    d = lane + i * lanes
                    if d < dim:
                        s += source[i] * syn1[target, d]
            partial[k, lane] = s
        cuda.syncthreads()
        loss = 0.0
        if lane < n_slots:
            g = zero
            target = targets[buffer, lane]
            if target >= 0:
                score = zero
                for j in range(lanes):
                    score += partial[lane, j]
                label = one if lane == 0 else zero
                g, loss = gradient_and_loss(score, label, lr)
            grads[buffer, lane] = g
        cuda.syncthreads()
        return loss

    @cuda.jit(device=True, inline="always")
    def update_targets(lane, source, work, syn1, targets, grads, buffer):
        """syn1[target] += g * source for every target; work = Σ g * syn1[target] (read before the
        target's own update, as the CPU kernel does). Both over this thread's components."""
        # pragma: no cover - device code
        for i in range(per_lane):
            d = lane + i * lanes
            w = zero
            if d < dim:
                s = source[i]
                for k in range(n_slots):
                    target = targets[buffer, k]
                    if target >= 0:
                        g = grads[buffer, k]
                        u = syn1[target, d]
                        w += g * u
                        syn1[target, d] = u + g * s
            work[i] = w

    @cuda.jit(fastmath=True)
    def train_items(
        syn0,  # (V, D) float32 input vectors
        syn1,  # (V, D) float32 output vectors
        token_ids,  # (N,) int32
        segment_starts,  # (S + 1,) int64
        item_start,  # (I,) int64
        item_segment,  # (I,) int32
        order,  # (I,) int32: this epoch's permutation of the items
        first_position,  # this launch trains order[first_position : first_position + n_positions]
        n_positions,
        item_words,
        keep_threshold,  # (V,) uint64
        alias,  # (V,) uint64 packed alias table
        lr_start,
        lr_end,  # float32 learning rate at the launch's first and last item
        key_keep,
        key_window,
        key_noise,  # uint64 stream keys
        stats,  # (2,) float64: running loss sum and example count of the epoch
    ):  # pragma: no cover - device code
        lane = cuda.threadIdx.x
        context_pos = cuda.shared.array(context_max, np.int64)
        flags = cuda.shared.array(lanes, np.int32)
        # Double-buffered by update parity, so one update's writes never race the previous one's
        # reads: between two updates with the same parity every thread passes a barrier.
        targets = cuda.shared.array((2, n_slots), np.int64)
        grads = cuda.shared.array((2, n_slots), np.float32)
        partial = cuda.shared.array((n_slots, partial_width), np.float32)
        source = cuda.local.array(per_lane, np.float32)
        work = cuda.local.array(per_lane, np.float32)
        vocab_size = syn1.shape[0]
        loss_sum = 0.0
        examples = 0
        updates = 0  # updates by this block so far: picks the buffer
        for relative in range(cuda.blockIdx.x, n_positions, cuda.gridDim.x):
            item = order[first_position + relative]
            fraction = np.float32(relative) / np.float32(n_positions)
            lr = np.float32(lr_start + (lr_end - lr_start) * fraction)
            start = item_start[item]
            segment = item_segment[item]
            lo = segment_starts[segment]
            hi = segment_starts[segment + 1]
            stop = min(start + item_words, hi)
            for c in range(start, stop):
                if not is_kept(token_ids, keep_threshold, key_keep, c):
                    continue
                centre = np.int64(token_ids[c])
                reach = 1 + np.int64(draw(key_window, c) % window_u)
                n_left = gather_side(
                    lane, c, -1, lo, hi, reach, 0, context_pos, flags, token_ids, keep_threshold,
                    key_keep,
                )  # fmt: skip
                n_context = n_left + gather_side(
                    lane, c, 1, lo, hi, reach, n_left, context_pos, flags, token_ids,
                    keep_threshold, key_keep,
                )  # fmt: skip
                if skipgram:
                    for q in range(n_context):
                        buffer = updates & 1
                        updates += 1
                        context = token_ids[context_pos[q]]
                        draw_targets(
                            lane, centre, c * noise_per_centre + q * negative, buffer, targets,
                            alias, vocab_size, key_noise,
                        )  # fmt: skip
                        for i in range(per_lane):
                            d = lane + i * lanes
                            source[i] = syn0[context, d] if d < dim else zero
                        cuda.syncthreads()  # targets visible
                        loss_sum += score_targets(
                            lane, source, syn1, targets, buffer, partial, grads, lr
                        )
                        update_targets(lane, source, work, syn1, targets, grads, buffer)
                        for i in range(per_lane):
                            d = lane + i * lanes
                            if d < dim:
                                syn0[context, d] += work[i]
                        examples += 1
                else:
                    if n_context == 0:
                        continue  # no context word: nothing to predict from
                    buffer = updates & 1
                    updates += 1
                    draw_targets(
                        lane, centre, c * noise_per_centre, buffer, targets, alias, vocab_size,
                        key_noise,
                    )  # fmt: skip
                    for i in range(per_lane):
                        source[i] = zero
                    for q in range(n_context):
                        context = token_ids[context_pos[q]]
                        for i in range(per_lane):
                            d = lane + i * lanes
                            if d < dim:
                                source[i] += syn0[context, d]
                    inverse_count = one / np.float32(n_context)
                    for i in range(per_lane):
                        source[i] *= inverse_count
                    cuda.syncthreads()  # targets visible
                    loss_sum += score_targets(
                        lane, source, syn1, targets, buffer, partial, grads, lr
                    )
                    update_targets(lane, source, work, syn1, targets, grads, buffer)
                    for q in range(n_context):
                        context = token_ids[context_pos[q]]
                        for i in range(per_lane):
                            d = lane + i * lanes
                            if d < dim:
                                syn0[context, d] += work[i]
                    examples += 1
        if lane < n_slots and loss_sum != 0.0:
            cuda.atomic.add(stats, 0, loss_sum)
        if lane == 0 and examples > 0:
            cuda.atomic.add(stats, 1, np.float64(examples))

    @cuda.jit
    def window_contexts(
        token_ids, segment_starts, position_segment, keep_threshold, key_keep, key_window, kept,
        reaches, contexts,
    ):  # fmt: skip  # pragma: no cover - device code
        """For tests: what `train_items` does with each position c, without training. kept[c] (0/1),
        reaches[c] (the drawn window) and contexts[c, :] (context positions, -1 padded)."""
        lane = cuda.threadIdx.x
        context_pos = cuda.shared.array(context_max, np.int64)
        flags = cuda.shared.array(lanes, np.int32)
        for c in range(cuda.blockIdx.x, token_ids.shape[0], cuda.gridDim.x):
            segment = position_segment[c]
            lo = segment_starts[segment]
            hi = segment_starts[segment + 1]
            keep = is_kept(token_ids, keep_threshold, key_keep, c)
            reach = 1 + np.int64(draw(key_window, c) % window_u)
            n_context = 0
            if keep:
                n_left = gather_side(
                    lane, c, -1, lo, hi, reach, 0, context_pos, flags, token_ids, keep_threshold,
                    key_keep,
                )  # fmt: skip
                n_context = n_left + gather_side(
                    lane, c, 1, lo, hi, reach, n_left, context_pos, flags, token_ids,
                    keep_threshold, key_keep,
                )  # fmt: skip
            if lane == 0:
                kept[c] = 1 if keep else 0
                reaches[c] = reach
                for q in range(context_max):
                    contexts[c, q] = context_pos[q] if q < n_context else -1
            cuda.syncthreads()

    @cuda.jit
    def noise_samples(alias, key_noise, out):  # pragma: no cover - device code
        """For tests: out[i] = the noise word the kernels draw with counter i."""
        start = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        for i in range(start, out.shape[0], cuda.gridDim.x * cuda.blockDim.x):
            out[i] = noise_word(draw(key_noise, i), alias, alias.shape[0])

    return CompiledKernels(train_items, window_contexts, noise_samples)


def train_items_signature() -> tuple:
    """numba types of `train_items`' arguments, as the engine passes them (for compiling to PTX
    without a GPU: `numba.cuda.compile_ptx(kernels.train_items.py_func, train_items_signature())`)."""
    from numba import types

    matrix = types.Array(types.float32, 2, "C")
    int32s, int64s = types.Array(types.int32, 1, "C"), types.Array(types.int64, 1, "C")
    uint64s, float64s = types.Array(types.uint64, 1, "C"), types.Array(types.float64, 1, "C")
    i64, u64, f32 = types.int64, types.uint64, types.float32
    return (
        matrix, matrix, int32s, int64s, int64s, int32s, int32s, i64, i64, i64, uint64s, uint64s,
        f32, f32, u64, u64, u64, float64s,
    )  # fmt: skip


# ---- the engine -------------------------------------------------------------------------------------
class FusedCudaEngine:
    """word2vec.c-style training on an NVIDIA GPU (SGD + negative sampling, skip-gram and CBOW).

    Parameters
    ----------
    config : TrainConfig
        Settings; `model`, `dim`, `window`, `negative`, `ns_exponent`, `sample` and `seed` matter
        here. The learning rate comes from the trainer through `EpochContext`.
    counts : np.ndarray
        (V,) corpus count of each word; keep probabilities and the noise distribution derive from it.
    corpus : EncodedCorpus
        The token ids and document boundaries to train on.
    input_vectors, output_vectors : torch.Tensor
        (V, D) float32 initial vectors (any device); the engine trains copies on the GPU.
    device : torch.device
        A CUDA device; under numba's CUDA simulator (tests) the CPU.

    Attributes
    ----------
    host_syncs : int
        Times the host waited for the GPU during the last epoch (one per round).
    host_syncs_per_epoch : list[int]
        The same for every epoch this engine ran.
    """

    name = "fused-cuda"
    applies_to = (
        f"SGD with negative sampling, skip-gram or CBOW, with at most {MAX_NEGATIVE} noise words "
        f"and a window of at most {MAX_WINDOW}, on an NVIDIA GPU that numba-cuda can use"
    )

    def __init__(
        self,
        config: TrainConfig,
        counts: np.ndarray,
        corpus: EncodedCorpus,
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        device: torch.device | str = "cuda",
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        self.simulated = simulator_requested()
        if not self.simulated and self.device.type != "cuda":
            raise ValueError("the fused CUDA engine trains on a CUDA device")
        shape = (len(counts), config.dim)
        for label, tensor in (("input", input_vectors), ("output", output_vectors)):
            if tuple(tensor.shape) != shape:
                raise ValueError(f"{label} vectors must be a {shape} tensor")
        self.item_words = ITEM_WORDS
        self.lanes = THREADS_PER_BLOCK
        self.round_seconds = ROUND_SECONDS
        self.host_syncs = 0
        self.host_syncs_per_epoch: list[int] = []
        self._round_words = float(FIRST_ROUND_WORDS)

        token_ids = np.ascontiguousarray(corpus.token_ids, dtype=np.int32)  # (N,)
        self.n_corpus_words = len(token_ids)
        segment_starts = corpus_segments(corpus.doc_offsets, chunk_words(config))  # (S + 1,)
        self._segment_starts = segment_starts
        item_start, item_segment = work_items(segment_starts, self.item_words)  # (I,), (I,)
        item_stop = np.minimum(item_start + self.item_words, segment_starts[1:][item_segment])
        self._item_lengths = item_stop - item_start  # (I,) corpus words of each item
        keep = keep_probabilities(counts, config.sample)  # (V,)
        keep_threshold = np.round(keep * 2.0**32).astype(np.uint64)  # (V,) in [0, 2**32]
        alias = alias_table(noise_distribution(counts, config.ns_exponent))  # (V,) uint64
        host = {
            "token_ids": token_ids,
            "segment_starts": segment_starts.astype(np.int64),
            "item_start": item_start,
            "item_segment": item_segment,
            "keep_threshold": keep_threshold,
            "alias": alias,
        }
        self.kernels = self._compile_kernels()
        needed = self.memory_needed(config, len(counts), self.n_corpus_words, len(item_start))
        with device_errors(self.device, needed, "a smaller vector size (dim)"):
            self._allocate(host, input_vectors, output_vectors, len(item_start))
        try:
            with (
                device_errors(self.device, needed, "a smaller vector size (dim)"),
                warnings.catch_warnings(),  # numba warns that a grid of one block is small
            ):
                warnings.simplefilter("ignore")
                self._launch(0, 0, 0.0, 0.0, (0, 0, 0))  # compiles here, not in epoch 1
        except W2VError:
            raise
        except Exception as error:  # noqa: BLE001 - numba's many kinds; one sentence for people
            raise _kernel_error(error) from error

    # ---- what it can train ---------------------------------------------------------------------
    @staticmethod
    def supports(config: TrainConfig, device: torch.device | str) -> bool:
        """SGD with negative sampling, skip-gram or CBOW, on a CUDA GPU that numba can use.

        Under numba's CUDA simulator it also trains on the CPU, when asked for by name (tests).
        """
        settings_fit = (
            config.optimizer == "sgd"
            and config.loss == "negative"
            and config.model in ("skipgram", "cbow")
            and config.negative <= MAX_NEGATIVE
            and config.window <= MAX_WINDOW
        )
        if not settings_fit:
            return False
        device_type = torch.device(device).type
        if device_type == "cpu":
            return config.engine == "fused-cuda" and simulator_requested()
        return device_type == "cuda" and numba_cuda_usable()

    @staticmethod
    def memory_needed(config: TrainConfig, vocab_size: int, n_tokens: int, n_items: int) -> int:
        """Bytes of GPU memory the engine allocates: two (V, D) float32 matrices, the corpus, the
        per-word tables and the work items."""
        vectors = 2 * vocab_size * config.dim * 4
        tables = vocab_size * (8 + 8)  # keep thresholds, alias table
        corpus = n_tokens * 4 + n_items * (8 + 4 + 4)  # token ids; item start, segment, order
        return vectors + tables + corpus + n_items * 8  # segment starts (at most one per item)

    # ---- device memory -------------------------------------------------------------------------
    def _compile_kernels(self) -> CompiledKernels:
        c = self.config
        try:
            return _kernels(c.model, c.dim, c.window, c.negative, self.lanes)
        except Exception as error:  # noqa: BLE001 - numba raises many kinds; one sentence for people
            raise _kernel_error(error) from error

    def _allocate(
        self,
        host: dict[str, np.ndarray],
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        n_items: int,
    ) -> None:
        """Copy everything the kernels read to the device (once), and make the per-epoch buffers."""
        if self.simulated:
            self._stream = 0
            self._arrays = {name: cuda.to_device(array) for name, array in host.items()}
            syn0 = input_vectors.detach().to("cpu", torch.float32).contiguous().numpy()
            syn1 = output_vectors.detach().to("cpu", torch.float32).contiguous().numpy()
            self._arrays["syn0"] = cuda.to_device(syn0)
            self._arrays["syn1"] = cuda.to_device(syn1)
            self._arrays["order"] = cuda.to_device(np.arange(n_items, dtype=np.int32))
            self._arrays["stats"] = cuda.to_device(np.zeros(2, np.float64))
            self._blocks = 4  # the simulator runs blocks one after another; few keep it quick
            return
        device = self.device
        # uint64 tables travel as int64 (older torch has no uint64 CUDA tensors) and are viewed
        # back as uint64 by the kernels' arrays below.
        self._tensors = {
            name: torch.from_numpy(array.view(np.int64) if array.dtype == np.uint64 else array).to(
                device
            )
            for name, array in host.items()
        }
        self._tensors["syn0"] = input_vectors.detach().to(device, torch.float32).contiguous()
        self._tensors["syn1"] = output_vectors.detach().to(device, torch.float32).contiguous()
        self._tensors["order"] = torch.arange(n_items, dtype=torch.int32, device=device)
        self._tensors["stats"] = torch.zeros(2, dtype=torch.float64, device=device)
        self._order_host = torch.empty(n_items, dtype=torch.int32, pin_memory=True)
        self._stats_host = torch.zeros(2, dtype=torch.float64, pin_memory=True)
        torch_stream = torch.cuda.current_stream(device)
        self._torch_stream = torch_stream
        # numba launches on torch's stream, so torch's copies and numba's kernels stay in order
        handle = torch_stream.cuda_stream
        self._stream = cuda.external_stream(handle) if handle else cuda.default_stream()
        # Views made once: converting a tensor at every launch would wait for its stream each time.
        self._arrays = {name: cuda.as_cuda_array(t) for name, t in self._tensors.items()}
        for name, array in host.items():
            if array.dtype == np.uint64:
                self._arrays[name] = self._arrays[name].view(np.uint64)
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        self._blocks = sms * BLOCKS_PER_SM

    def _launch(
        self,
        first_position: int,
        n_positions: int,
        lr_start: float,
        lr_end: float,
        keys: tuple[int, int, int],
    ) -> None:
        """Queue one launch over order[first_position : first_position + n_positions]."""
        a = self._arrays
        blocks = max(1, min(self._blocks, n_positions))
        self.kernels.train_items[blocks, self.lanes, self._stream](
            a["syn0"],
            a["syn1"],
            a["token_ids"],
            a["segment_starts"],
            a["item_start"],
            a["item_segment"],
            a["order"],
            np.int64(first_position),
            np.int64(n_positions),
            np.int64(self.item_words),
            a["keep_threshold"],
            a["alias"],
            np.float32(lr_start),
            np.float32(lr_end),
            np.uint64(keys[0]),
            np.uint64(keys[1]),
            np.uint64(keys[2]),
            a["stats"],
        )

    def _begin_epoch(self, order: np.ndarray) -> None:
        """Queue the epoch's item order and zero its loss counters (no wait)."""
        if self.simulated:
            self._arrays["order"].copy_to_device(order)
            self._arrays["stats"].copy_to_device(np.zeros(2, np.float64))
            return
        self._order_host.numpy()[:] = order  # free: the last epoch's final wait covered its copy
        self._tensors["order"].copy_(self._order_host, non_blocking=True)
        self._tensors["stats"].zero_()

    def _read_stats(self) -> tuple[float, float]:
        """Wait for the queued work and read (loss sum, examples) of the epoch so far: a host sync."""
        self.host_syncs += 1
        if self.simulated:
            loss_sum, examples = self._arrays["stats"].copy_to_host()
            return float(loss_sum), float(examples)
        self._stats_host.copy_(self._tensors["stats"], non_blocking=True)
        self._torch_stream.synchronize()
        loss_sum, examples = self._stats_host.tolist()
        return loss_sum, examples

    # ---- one epoch -------------------------------------------------------------------------------
    def chunk_order(self, seed: int) -> np.ndarray:
        """This epoch's order of the work items: a permutation drawn from the epoch seed."""
        return np.random.default_rng(seed).permutation(len(self._item_lengths)).astype(np.int32)

    def run_epoch(self, context: EpochContext) -> bool:
        """Train one epoch in rounds of one launch each; False when `on_chunk` asked to stop."""
        self.host_syncs = 0
        self.host_syncs_per_epoch.append(0)
        try:
            with device_errors(self.device, None, "a smaller vector size (dim)"):
                return self._run_epoch(context)
        finally:
            self.host_syncs_per_epoch[-1] = self.host_syncs

    def _run_epoch(self, context: EpochContext) -> bool:
        seed = epoch_seed(self.config.seed, context.epoch)
        keys = stream_keys(seed)
        order = self.chunk_order(seed)
        words_before = np.concatenate([[0], np.cumsum(self._item_lengths[order])])  # (I + 1,)
        total_words = max(self.n_corpus_words, 1)
        n_items = len(order)
        self._begin_epoch(order)
        position = 0
        reported_loss, reported_examples = 0.0, 0.0
        while position < n_items:
            target = words_before[position] + max(self._round_words, 1.0)
            end = int(np.searchsorted(words_before, target, side="left"))
            end = min(max(end, position + 1), n_items)
            words = int(words_before[end] - words_before[position])
            started = time.perf_counter()
            self._launch(
                position,
                end - position,
                context.lr_at(words_before[position] / total_words),
                context.lr_at(words_before[end] / total_words),
                keys,
            )
            loss_sum, examples = self._read_stats()
            self._adapt_round(words, time.perf_counter() - started)
            position = end
            result = ChunkResult(
                words_done=words,
                loss_sum=loss_sum - reported_loss,
                loss_count=int(round(examples - reported_examples)),
            )
            reported_loss, reported_examples = loss_sum, examples
            if context.on_chunk(result):
                return position >= n_items
        return True

    def _adapt_round(self, words: int, seconds: float) -> None:
        self._round_words = next_round_words(words, seconds, self._round_words, self.round_seconds)

    # ---- what the kernels draw (tests, debugging) -------------------------------------------------
    def window_draws(self, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What epoch `epoch` does at every corpus position, through the kernels' own device code:
        (kept (N,) 0/1, reach (N,) drawn windows, contexts (N, 2 * window) positions, -1 padded)."""
        keys = stream_keys(epoch_seed(self.config.seed, epoch))
        starts = self._segment_starts
        position_segment = np.repeat(np.arange(len(starts) - 1), np.diff(starts)).astype(np.int32)
        n = self.n_corpus_words
        kept = cuda.to_device(np.zeros(n, np.int32))
        reach = cuda.to_device(np.zeros(n, np.int64))
        contexts = cuda.to_device(np.full((n, 2 * self.config.window), -1, np.int64))
        a = self._arrays
        self.kernels.window_contexts[max(1, min(self._blocks, n)), self.lanes](
            a["token_ids"], a["segment_starts"], cuda.to_device(position_segment),
            a["keep_threshold"], np.uint64(keys[0]), np.uint64(keys[1]), kept, reach, contexts,
        )  # fmt: skip
        return kept.copy_to_host(), reach.copy_to_host(), contexts.copy_to_host()

    def noise_draws(self, epoch: int, n: int) -> np.ndarray:
        """The first `n` noise words of epoch `epoch`'s noise stream, drawn by the kernels' code."""
        keys = stream_keys(epoch_seed(self.config.seed, epoch))
        out = cuda.to_device(np.zeros(n, np.int64))
        self.kernels.noise_samples[max(1, min(self._blocks, n)), self.lanes](
            self._arrays["alias"], np.uint64(keys[2]), out
        )
        return out.copy_to_host()

    # ---- state ------------------------------------------------------------------------------------
    def _host_copy(self, name: str) -> torch.Tensor:
        return torch.from_numpy(self._arrays[name].copy_to_host())

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The vectors (SGD keeps no other state): device tensors on a GPU, host copies simulated."""
        if self.simulated:
            return {"input": self._host_copy("syn0"), "output": self._host_copy("syn1")}
        return {"input": self._tensors["syn0"], "output": self._tensors["syn1"]}

    @property
    def input_vectors(self) -> torch.Tensor:
        return self.state_tensors()["input"]

    @property
    def output_vectors(self) -> torch.Tensor:
        return self.state_tensors()["output"]

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Copy saved vectors into the arrays the kernels update."""
        for name, key in (("syn0", "input"), ("syn1", "output")):
            if self.simulated:
                values = tensors[key].detach().to("cpu", torch.float32).contiguous().numpy()
                self._arrays[name].copy_to_device(values)
            else:
                with torch.no_grad():
                    self._tensors[name].copy_(tensors[key])


def _kernel_error(error: BaseException) -> DeviceError:
    """numba could not build or start the kernels (no NVVM, no driver): what to install instead."""
    return DeviceError(
        f"The fused CUDA engine could not prepare its kernels ({_first_line(error)}); install "
        "numba-cuda with the CUDA libraries of your driver (pip install 'numba-cuda[cu12]' or "
        "'[cu13]'), or choose engine 'batched-torch'."
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
