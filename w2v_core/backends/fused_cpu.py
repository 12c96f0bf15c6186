"""The fused CPU engine: word2vec.c-style SGD with negative sampling, compiled with numba, Hogwild.

Owns: the compiled kernels that train one chunk of the corpus (skip-gram and CBOW), the noise-word
alias table, the sigmoid tables, the split of the corpus into segments and chunks, and the threads that
run chunks in parallel.
Leaves out: the epoch loop, the learning-rate schedule, reports and checkpoints (`w2v_core.trainer`),
the sampling formulas themselves (`w2v_core.sampling`: keep probabilities, noise distribution, epoch
seeds), other optimizers and losses, and GPUs (`w2v_core.backends.batched_torch`).

One epoch, step by step (the same steps as word2vec.c and gensim):

* The corpus is cut into segments that never cross a document boundary (long documents are split,
  as gensim splits sentences longer than 10,000 words); consecutive segments form chunks of about
  `chunk_words(config)` corpus words, the unit of work of one thread. Each epoch visits the chunks in
  a shuffled order drawn from its seed, and the learning rate follows the words handed out so far.
* Each chunk draws its random numbers from a generator seeded by (epoch seed, chunk index) only, so
  what a chunk does depends neither on thread timing nor on earlier epochs. At one thread a run is
  bit-for-bit reproducible and a run resumed at an epoch boundary equals an uninterrupted one; with
  more threads, Hogwild's unsynchronised updates make runs differ in the last bits (as in gensim).
* In a segment every token is kept with its keep probability (compared against a 32-bit random draw);
  each kept centre draws its effective window uniformly in 1..window. Skip-gram updates each (context,
  centre) pair with the context's input vector against the centre's output vector and `negative`
  noise words (word2vec.c's orientation); CBOW averages the context input vectors, predicts the centre,
  and adds the whole error to every context word (gensim's cbow_mean=1, as word2vec.c does).
* `cpu_threads` Python threads call the kernels, which release the GIL, on different chunks at once and
  update the shared vectors without locks (Hogwild, Recht et al. 2011; word2vec.c and gensim do the
  same).

The two kernels differ only in what they do with one centre's window. The steps they share (scratch
buffers, subsampling a segment, drawing a centre's window and noise words one centre ahead, picking
the targets of an update, the negative-sampling update itself) are helpers marked
`@njit(inline="always")`, which numba inlines into each kernel before compiling: they compile as if
written out in both.

Speed (see docs/benchmarks/training.md): the vector length is a compile-time constant of the kernel
(passed as the lengths of tuples of zeros, `vector_length_marker`), so the D-loops compile to
straight-line AVX code without remainder loops; noise words are drawn from an alias table in O(1) one
centre ahead and their rows are prefetched; all 1 + negative scores of a pair are computed before any
update so they overlap; word ids are unsigned so indexing needs no negative-index checks.

The loss reported is the true negative-sampling loss -log σ(positive) - Σ log σ(-noise), summed per
positive pair (skip-gram) or per centre (CBOW) before that example's update. (gensim's running loss
is known to be wrong; ours is not.)
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from w2v_core.backends.base import ChunkResult, EpochContext
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.sampling import epoch_seed, keep_probabilities, noise_distribution

# A chunk of this many corpus words takes ~10-30 ms per thread at the default settings (gensim's job
# size is the same); slower settings get proportionally smaller chunks, see `chunk_words`.
CHUNK_WORDS = 10_000
MIN_CHUNK_WORDS = 1_000
_DEFAULT_COST = 100 * 5 * (5 + 1)  # dim * window * (negative + 1) of the default settings

# Sigmoid and -log sigmoid tables over [-MAX_SCORE, MAX_SCORE] (word2vec.c: 1000 cells over [-6, 6]).
# Each cell holds the value at its centre, so rounding errors cancel on average. Beyond the range the
# gradient saturates as in word2vec.c and the loss is computed exactly.
MAX_SCORE = 6.0
TABLE_SIZE = 1024
_TABLE_SCALE = TABLE_SIZE / (2.0 * MAX_SCORE)

_U32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)


# ---- tables built once per engine -------------------------------------------------------------------
def score_tables() -> tuple[np.ndarray, np.ndarray]:
    """(σ(x), -log σ(x)) at the centres of TABLE_SIZE cells over [-MAX_SCORE, MAX_SCORE], float32."""
    centres = -MAX_SCORE + (np.arange(TABLE_SIZE) + 0.5) / _TABLE_SCALE
    sigmoid = 1.0 / (1.0 + np.exp(-centres))
    neg_log_sigmoid = np.log1p(np.exp(-centres))
    return sigmoid.astype(np.float32), neg_log_sigmoid.astype(np.float32)


def alias_table(probabilities: np.ndarray) -> np.ndarray:
    """Walker's alias table for drawing word ids from `probabilities` in O(1) (Vose's construction).

    Returns (V,) uint64, one entry per cell: the high 32 bits are the cell's alias, the low 32 bits its
    threshold T. A draw picks a cell i uniformly and a 32-bit coin c; it gives i when c < T_i, else the
    alias. So P(word w) = (T_w + Σ_{cells i aliased to w} (2**32 - T_i)) / (V * 2**32). Packing both
    into one word costs one cache miss per draw instead of two. Words of probability 0 never come out.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scaled = probabilities * (len(probabilities) / probabilities.sum())
    return _build_alias(scaled)


@njit(cache=True)
def _build_alias(scaled):  # pragma: no cover - compiled
    n = scaled.shape[0]
    prob = scaled.copy()
    alias = np.arange(n)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    n_small = 0
    n_large = 0
    for i in range(n):
        if prob[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        g = large[n_large - 1]
        alias[s] = g
        prob[g] = (prob[g] + prob[s]) - 1.0
        if prob[g] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1
    # Whatever is left holds 1 up to rounding; those cells keep themselves (their alias is themselves).
    for k in range(n_large):
        prob[large[k]] = 1.0
    for k in range(n_small):
        if prob[small[k]] > 0.0:
            prob[small[k]] = 1.0
    packed = np.empty(n, np.uint64)
    for i in range(n):
        threshold = min(max(math.floor(prob[i] * 4294967296.0 + 0.5), 0.0), 4294967295.0)
        packed[i] = (np.uint64(alias[i]) << np.uint64(32)) | np.uint64(threshold)
    return packed


def chunk_words(config: TrainConfig) -> int:
    """Corpus words per chunk: CHUNK_WORDS at the default cost, fewer for costlier settings.

    Keeps one chunk well under a second even for dim 300, window 10, 20 negatives, so a stop request
    is answered promptly.
    """
    cost = config.dim * config.window * (config.negative + 1)
    scaled = CHUNK_WORDS * _DEFAULT_COST // max(cost, 1)
    return int(min(CHUNK_WORDS, max(MIN_CHUNK_WORDS, scaled)))


def corpus_segments(doc_offsets: np.ndarray, max_words: int) -> np.ndarray:
    """Start positions of segments: every document start, plus a cut every `max_words` in long ones.

    Returns (S + 1,) int64; segment s spans token positions [starts[s], starts[s + 1]). Windows never
    cross a segment boundary.
    """
    doc_offsets = np.asarray(doc_offsets, dtype=np.int64)
    lengths = np.diff(doc_offsets)
    pieces = np.maximum(1, -(-lengths // max_words))  # ceil, at least one per document
    first_piece = np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_number = np.arange(int(pieces.sum())) - first_piece  # 0, 1, ... within each document
    starts = np.repeat(doc_offsets[:-1], pieces) + piece_number * max_words
    return np.append(starts, doc_offsets[-1]).astype(np.int64)


def chunk_bounds(segment_starts: np.ndarray, words: int) -> np.ndarray:
    """Group consecutive segments into chunks of about `words` corpus words.

    Returns (C + 1,) int64 segment indices; chunk c holds segments [bounds[c], bounds[c + 1]). A chunk
    begins at each segment that starts in a new block of `words` token positions.
    """
    n_segments = len(segment_starts) - 1
    block = segment_starts[:-1] // words
    new_chunk = np.flatnonzero(np.diff(block) != 0) + 1
    return np.concatenate([[0], new_chunk, [n_segments]]).astype(np.int64)


_MARKER_BLOCK = 16


def vector_length_marker(dim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The vector length as a type numba compiles into the kernel: D // 16 zeros, then D % 16 zeros.

    numba specialises a function on the types of its arguments, and a tuple's type includes its
    length, so the kernel knows D at compile time and every D-loop compiles to straight-line vector
    code without a remainder loop. Two short tuples rather than one of length D, because numba refuses
    tuples of 1000 elements or more.
    """
    return (0,) * (dim // _MARKER_BLOCK), (0,) * (dim % _MARKER_BLOCK)


# ---- compiled helpers -------------------------------------------------------------------------------
@intrinsic
def _prefetch_row(typingctx, array, row, dim_marker):
    """Ask the CPU to bring row `row` of a (V, D) float32 array into L1 cache (llvm.prefetch).

    A hint only: it never faults and changes no value. D comes from `dim_marker` (see `vector_length_marker`).
    """
    blocks, rest = dim_marker.types
    row_bytes = 4 * (_MARKER_BLOCK * len(blocks) + len(rest))
    offsets = list(range(0, row_bytes, 64)) + [row_bytes - 4]  # every cache line the row touches
    sig = types.void(array, row, dim_marker)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        pointer = cgutils.get_item_pointer(context, builder, array_type, ary, [args[1], zero])
        byte_pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        function_type = ir.FunctionType(ir.VoidType(), [byte_pointer.type, i32, i32, i32])
        prefetch = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
        for offset in offsets:
            address = builder.gep(byte_pointer, [ir.IntType(64)(offset)])
            builder.call(prefetch, [address, i32(0), i32(3), i32(1)])  # read, keep in L1, data
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _splitmix64(state):  # pragma: no cover - compiled
    """One step of SplitMix64 (Steele et al. 2014): (new state, 64 random bits)."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(inline="always")
def _chunk_state(seed, chunk_index):  # pragma: no cover - compiled
    """Generator state of one chunk: a function of (epoch seed, chunk index) only."""
    state, bits = _splitmix64((np.uint64(seed) << _U32) ^ np.uint64(chunk_index))
    return bits


@njit(inline="always")
def _draw_noise(bits, alias, vocab_size):  # pragma: no cover - compiled
    """A noise word from 64 random bits: the high half picks a cell, the low half is its coin."""
    cell = ((bits >> _U32) * np.uint64(vocab_size)) >> _U32
    entry = alias[cell]
    if (bits & _LOW32) < (entry & _LOW32):
        return cell
    return entry >> _U32


@njit(inline="always")
def _gradient_and_loss(score, label, lr, sigmoid_table, log_table):  # pragma: no cover - compiled
    """g = (label - σ(score)) * lr (Mikolov et al. 2013, eq. 4) and the loss term -log σ(±score)."""
    if score >= MAX_SCORE:
        g = (label - 1.0) * lr
        loss = math.log1p(math.exp(-score))
    elif score <= -MAX_SCORE:
        g = label * lr
        loss = -score + math.log1p(math.exp(score))
    else:
        cell = min(int((score + MAX_SCORE) * _TABLE_SCALE), TABLE_SIZE - 1)
        g = (label - sigmoid_table[cell]) * lr
        loss = np.float64(log_table[cell])
    if label == 0.0:
        loss += score  # -log σ(-x) = -log σ(x) + x
    return np.float32(g), loss


@njit(inline="always")
def _subsample(token_ids, start, stop, keep_threshold, kept, state):  # pragma: no cover - compiled
    """Copy the tokens of [start, stop) that survive subsampling into `kept`; returns (count, state)."""
    n = 0
    for p in range(start, stop):
        word = np.uint64(token_ids[p])
        state, bits = _splitmix64(state)
        if (bits >> _U32) < keep_threshold[word]:
            kept[n] = word
            n += 1
    return n, state


# ---- steps shared by both kernels (inlined into each before compiling) ------------------------------
@njit(inline="always")
def _vector_length(dim_marker):  # pragma: no cover - compiled
    """D as a compile-time constant, see `vector_length_marker`."""
    return _MARKER_BLOCK * len(dim_marker[0]) + len(dim_marker[1])


@njit(inline="always")
def _chunk_buffers(
    segment_starts, seg_first, seg_last, dim, negative, noise_per_centre
):  # pragma: no cover - compiled
    """Scratch arrays of one chunk: (kept, noise, reach, targets, grads, work).

    kept: (longest segment,) uint64 word ids that survived subsampling (unsigned indices skip
    wraparound checks); noise: (2, noise_per_centre) noise words of this centre and of the next (drawn
    one centre early to prefetch their rows); reach: (2,) effective window of this centre and the next;
    targets, grads: (negative + 1,) the positive word and noise words of one update, and their g;
    work: (D,) the gradient of the input vector of one update.
    """
    longest = 0
    for s in range(seg_first, seg_last):
        longest = max(longest, segment_starts[s + 1] - segment_starts[s])
    kept = np.empty(longest, np.uint64)
    noise = np.empty((2, noise_per_centre), np.uint64)
    reach = np.empty(2, np.int64)
    targets = np.empty(negative + 1, np.uint64)
    grads = np.empty(negative + 1, np.float32)
    work = np.empty(dim, np.float32)
    return kept, noise, reach, targets, grads, work


@njit(inline="always")
def _draw_centre(
    slot, state, window, negative, per_pair, noise, reach, alias, syn1, dim_marker
):  # pragma: no cover - compiled
    """Draw a centre's effective window (uniform in 1..window) into reach[slot], then its noise words
    into noise[slot] and prefetch their output rows; returns the state.

    `negative` noise words per (context, centre) pair when `per_pair` (skip-gram: 2 * reach of them),
    else `negative` for the whole centre (CBOW).
    """
    state, bits = _splitmix64(state)
    centre_reach = 1 + np.int64(bits % np.uint64(window))
    reach[slot] = centre_reach
    n_noise = 2 * centre_reach * negative if per_pair else negative
    for q in range(n_noise):
        state, bits = _splitmix64(state)
        word = _draw_noise(bits, alias, syn1.shape[0])
        noise[slot, q] = word
        _prefetch_row(syn1, word, dim_marker)
    return state


@njit(inline="always")
def _start_segment(
    s, token_ids, segment_starts, chunk_start, chunk_length, lr_start, lr_end, keep_threshold,
    window, negative, per_pair, kept, noise, reach, alias, syn1, dim_marker, state,
):  # fmt: skip  # pragma: no cover - compiled
    """Subsample segment s into `kept` and draw its first centre; returns (kept count, lr, state).

    The learning rate is interpolated linearly across the chunk at the segment's first word.
    """
    start = segment_starts[s]
    lr = lr_start + (lr_end - lr_start) * ((start - chunk_start) / chunk_length)
    n, state = _subsample(token_ids, start, segment_starts[s + 1], keep_threshold, kept, state)
    if n > 0:
        state = _draw_centre(
            0, state, window, negative, per_pair, noise, reach, alias, syn1, dim_marker
        )
    return n, lr, state


@njit(inline="always")
def _look_ahead(
    i, n, kept, state, window, negative, per_pair, noise, reach, alias, syn0, syn1, dim_marker
):  # pragma: no cover - compiled
    """Before centre i's updates, draw centre i + 1's window and noise words; returns the state.

    Also prefetches the noise words' rows, centre i + 1's output row and the input row at the far end
    of its window, so these cache misses overlap with centre i's arithmetic.
    """
    if i + 1 < n:
        slot = 1 - (i & 1)
        state = _draw_centre(
            slot, state, window, negative, per_pair, noise, reach, alias, syn1, dim_marker
        )
        _prefetch_row(syn1, kept[i + 1], dim_marker)
        if i + 1 + reach[slot] < n:
            _prefetch_row(syn0, kept[i + 1 + reach[slot]], dim_marker)
    return state


@njit(inline="always")
def _pick_targets(centre, noise, slot, first, negative, targets):  # pragma: no cover - compiled
    """targets = [centre, noise[slot, first:first + negative] without draws of the centre]; the count.

    A noise draw equal to the positive word is skipped, as in word2vec.c.
    """
    targets[0] = centre
    n_targets = 1
    for k in range(negative):
        word = noise[slot, first + k]
        if word != centre:
            targets[n_targets] = word
            n_targets += 1
    return n_targets


@njit(inline="always")
def _negative_sampling_update(
    source, row, syn1, targets, n_targets, grads, work, lr, sigmoid_table, log_table, dim, loss_sum
):  # pragma: no cover - compiled
    """One negative-sampling step of the input vector source[row] against targets[:n_targets].

    Updates the targets' output rows in place, leaves the gradient of source[row] in `work` (D,) for
    the caller to apply, and returns loss_sum plus this step's loss. All scores are computed before
    any update: they are independent, so their reductions overlap.
    """
    for k in range(n_targets):
        target = targets[k]
        score = np.float32(0.0)
        for d in range(dim):
            score += source[row, d] * syn1[target, d]
        g, loss = _gradient_and_loss(score, 1.0 if k == 0 else 0.0, lr, sigmoid_table, log_table)
        grads[k] = g
        loss_sum += loss
    for d in range(dim):
        work[d] = 0.0
    for k in range(n_targets):
        target = targets[k]
        g = grads[k]
        for d in range(dim):
            work[d] += g * syn1[target, d]
            syn1[target, d] += g * source[row, d]
    return loss_sum


# ---- the kernels ------------------------------------------------------------------------------------
@njit(nogil=True, fastmath=True, cache=True)
def _skipgram_chunk(
    syn0,  # (V, D) float32 input vectors
    syn1,  # (V, D) float32 output vectors
    token_ids,  # (N,) int32
    segment_starts,  # (S + 1,) int64
    seg_first,
    seg_last,  # this chunk is segments [seg_first, seg_last)
    keep_threshold,  # (V,) uint64: keep a token when a 32-bit draw is below this
    alias,  # (V,) uint64 packed alias table of the noise distribution
    sigmoid_table,
    log_table,
    window,
    negative,
    lr_start,
    lr_end,  # learning rate at the chunk's first and last word
    seed,
    chunk_index,
    dim_marker,  # makes D a compile-time constant, see `vector_length_marker`
):  # pragma: no cover - compiled
    """Skip-gram on one chunk; returns (loss sum, number of positive pairs)."""
    dim = _vector_length(dim_marker)
    state = _chunk_state(seed, chunk_index)
    chunk_start = segment_starts[seg_first]
    chunk_length = max(segment_starts[seg_last] - chunk_start, 1)
    kept, noise, reach, targets, grads, work = _chunk_buffers(
        segment_starts, seg_first, seg_last, dim, negative, 2 * window * negative
    )
    loss_sum = 0.0
    pairs = 0
    for s in range(seg_first, seg_last):
        n, lr, state = _start_segment(
            s, token_ids, segment_starts, chunk_start, chunk_length, lr_start, lr_end,
            keep_threshold, window, negative, True, kept, noise, reach, alias, syn1, dim_marker,
            state,
        )  # fmt: skip
        for i in range(n):
            this = i & 1
            state = _look_ahead(
                i, n, kept, state, window, negative, True, noise, reach, alias, syn0, syn1,
                dim_marker,
            )  # fmt: skip
            centre = kept[i]
            q = 0  # this pair's noise words are noise[this, q:q + negative]
            for j in range(max(0, i - reach[this]), min(n, i + reach[this] + 1)):
                if j == i:
                    continue
                context = kept[j]
                n_targets = _pick_targets(centre, noise, this, q, negative, targets)
                q += negative
                loss_sum = _negative_sampling_update(
                    syn0, context, syn1, targets, n_targets, grads, work, lr, sigmoid_table,
                    log_table, dim, loss_sum,
                )  # fmt: skip
                for d in range(dim):
                    syn0[context, d] += work[d]
                pairs += 1
    return loss_sum, pairs


@njit(nogil=True, fastmath=True, cache=True)
def _cbow_chunk(
    syn0,
    syn1,
    token_ids,
    segment_starts,
    seg_first,
    seg_last,
    keep_threshold,
    alias,
    sigmoid_table,
    log_table,
    window,
    negative,
    lr_start,
    lr_end,
    seed,
    chunk_index,
    dim_marker,
):  # pragma: no cover - compiled
    """CBOW (mean of the contexts) on one chunk; arguments as `_skipgram_chunk`.

    Returns (loss sum, number of centres that had at least one context word).
    """
    dim = _vector_length(dim_marker)
    state = _chunk_state(seed, chunk_index)
    chunk_start = segment_starts[seg_first]
    chunk_length = max(segment_starts[seg_last] - chunk_start, 1)
    kept, noise, reach, targets, grads, work = _chunk_buffers(
        segment_starts, seg_first, seg_last, dim, negative, negative
    )
    # The mean of the context input vectors, one row so `_negative_sampling_update` reads it as it
    # reads syn0 in skip-gram; its gradient (`work`) is added to every context word.
    hidden = np.empty((1, dim), np.float32)
    loss_sum = 0.0
    centres = 0
    for s in range(seg_first, seg_last):
        n, lr, state = _start_segment(
            s, token_ids, segment_starts, chunk_start, chunk_length, lr_start, lr_end,
            keep_threshold, window, negative, False, kept, noise, reach, alias, syn1, dim_marker,
            state,
        )  # fmt: skip
        for i in range(n):
            this = i & 1
            state = _look_ahead(
                i, n, kept, state, window, negative, False, noise, reach, alias, syn0, syn1,
                dim_marker,
            )  # fmt: skip
            lo = max(0, i - reach[this])
            hi = min(n, i + reach[this] + 1)
            if hi - lo < 2:
                continue  # no context word: nothing to predict from
            for d in range(dim):
                hidden[0, d] = 0.0
            for j in range(lo, hi):
                if j != i:
                    context = kept[j]
                    for d in range(dim):
                        hidden[0, d] += syn0[context, d]
            inverse_count = np.float32(1.0 / (hi - lo - 1))
            for d in range(dim):
                hidden[0, d] *= inverse_count
            n_targets = _pick_targets(kept[i], noise, this, 0, negative, targets)
            loss_sum = _negative_sampling_update(
                hidden, 0, syn1, targets, n_targets, grads, work, lr, sigmoid_table, log_table,
                dim, loss_sum,
            )  # fmt: skip
            for j in range(lo, hi):
                if j != i:
                    context = kept[j]
                    for d in range(dim):
                        syn0[context, d] += work[d]
            centres += 1
    return loss_sum, centres


# ---- the engine -------------------------------------------------------------------------------------
class FusedCpuEngine:
    """Compiled word2vec.c-style training on the CPU (SGD + negative sampling, skip-gram and CBOW).

    Parameters
    ----------
    config : TrainConfig
        Settings; `model`, `dim`, `window`, `negative`, `ns_exponent`, `sample`, `seed` and
        `cpu_threads` matter here. The learning rate comes from the trainer through `EpochContext`.
    counts : np.ndarray
        (V,) corpus count of each word; keep probabilities and the noise distribution derive from it.
    corpus : EncodedCorpus
        The token ids and document boundaries to train on.
    input_vectors, output_vectors : torch.Tensor
        (V, D) float32 contiguous CPU tensors, updated in place.
    """

    name = "fused-cpu"

    def __init__(
        self,
        config: TrainConfig,
        counts: np.ndarray,
        corpus: EncodedCorpus,
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        device: torch.device | str = "cpu",  # the registry's common signature; always the CPU
    ) -> None:
        shape = (len(counts), config.dim)
        for label, tensor in (("input", input_vectors), ("output", output_vectors)):
            if tensor.device.type != "cpu" or tensor.dtype != torch.float32:
                raise ValueError(f"{label} vectors must be float32 on the CPU")
            if not tensor.is_contiguous() or tuple(tensor.shape) != shape:
                raise ValueError(f"{label} vectors must be a contiguous {shape} tensor")
        self.config = config
        self.input_vectors = input_vectors
        self.output_vectors = output_vectors
        self._syn0 = input_vectors.detach().numpy()  # (V, D), shares memory with the tensor
        self._syn1 = output_vectors.detach().numpy()  # (V, D)
        self._token_ids = np.ascontiguousarray(corpus.token_ids, dtype=np.int32)  # (N,)
        self.chunk_words = chunk_words(config)
        self._segment_starts = corpus_segments(corpus.doc_offsets, self.chunk_words)  # (S + 1,)
        self._chunks = chunk_bounds(self._segment_starts, self.chunk_words)  # (C + 1,)
        keep = keep_probabilities(counts, config.sample)  # (V,)
        self._keep_threshold = np.round(keep * 2.0**32).astype(np.uint64)  # (V,) in [0, 2**32]
        self._alias = alias_table(noise_distribution(counts, config.ns_exponent))  # (V,)
        self._sigmoid_table, self._log_table = score_tables()
        self._dim_marker = vector_length_marker(config.dim)
        self._kernel = _skipgram_chunk if config.model == "skipgram" else _cbow_chunk
        # Compile, or load numba's on-disk cache, now rather than inside the first epoch's timing.
        self._run_chunk(0, 0, 0, 0.0, 0.0, 0)

    @staticmethod
    def supports(config: TrainConfig, device: torch.device | str) -> bool:
        """True for SGD with negative sampling on the CPU, skip-gram or CBOW."""
        return (
            torch.device(device).type == "cpu"
            and config.optimizer == "sgd"
            and config.loss == "negative"
            and config.model in ("skipgram", "cbow")
        )

    @property
    def n_chunks(self) -> int:
        return len(self._chunks) - 1

    # ---- one chunk --------------------------------------------------------------------------------
    def _chunk_span(self, chunk: int) -> tuple[int, int]:
        """Token positions [begin, end) of a chunk."""
        first, last = self._chunks[chunk], self._chunks[chunk + 1]
        return int(self._segment_starts[first]), int(self._segment_starts[last])

    def _run_chunk(
        self, chunk: int, seg_first: int, seg_last: int, lr_start: float, lr_end: float, seed: int
    ) -> tuple[float, int]:
        return self._kernel(
            self._syn0,
            self._syn1,
            self._token_ids,
            self._segment_starts,
            np.int64(seg_first),
            np.int64(seg_last),
            self._keep_threshold,
            self._alias,
            self._sigmoid_table,
            self._log_table,
            np.int64(self.config.window),
            np.int64(self.config.negative),
            np.float32(lr_start),
            np.float32(lr_end),
            np.uint64(seed),
            np.uint64(chunk),
            self._dim_marker,
        )

    # ---- one epoch --------------------------------------------------------------------------------
    def run_epoch(self, context: EpochContext) -> bool:
        """Train one epoch over `cpu_threads` threads; False when `on_chunk` asked to stop."""
        seed = epoch_seed(self.config.seed, context.epoch)
        order = self.chunk_order(seed)
        total_words = max(len(self._token_ids), 1)
        threads = max(1, self.config.cpu_threads)
        pending: deque[tuple[int, Future]] = deque()
        dispatched_words = 0
        next_position = 0

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="w2v-fused") as pool:

            def submit_next() -> None:
                nonlocal dispatched_words, next_position
                chunk = int(order[next_position])
                next_position += 1
                begin, end = self._chunk_span(chunk)
                # The rate follows the words handed out so far, not the clock: reproducible.
                lr_start = context.lr_at(dispatched_words / total_words)
                dispatched_words += end - begin
                lr_end = context.lr_at(dispatched_words / total_words)
                first, last = int(self._chunks[chunk]), int(self._chunks[chunk + 1])
                future = pool.submit(self._run_chunk, chunk, first, last, lr_start, lr_end, seed)
                pending.append((end - begin, future))

            # One chunk more than threads in flight keeps every worker busy while this thread reports.
            while next_position < len(order) and len(pending) < threads + 1:
                submit_next()
            while pending:
                words, future = pending.popleft()
                loss_sum, loss_count = future.result()
                if context.on_chunk(ChunkResult(words, float(loss_sum), int(loss_count))):
                    for _, queued in pending:
                        queued.cancel()  # chunks already running finish; the rest never start
                    return False
                if next_position < len(order):
                    submit_next()
        return True

    def chunk_order(self, seed: int) -> np.ndarray:
        """The order of this epoch's chunks: a permutation drawn from the epoch seed.

        Corpora are often several sources back to back (here: news, then film reviews, then
        speeches); visiting them in file order would leave the lowest learning rates of every epoch
        to the last source. Shuffling chunks, like word2vec.c's threads that each start at a different
        offset of the file, spreads every source over the epoch (+0.02 WordSim-353 for skip-gram on
        the benchmark corpus, see docs/benchmarks/training.md).
        """
        return np.random.default_rng(seed).permutation(self.n_chunks)

    # ---- state ------------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The vectors themselves (SGD keeps no other state)."""
        return {"input": self.input_vectors, "output": self.output_vectors}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Copy saved vectors into the arrays the kernels update."""
        with torch.no_grad():
            self.input_vectors.copy_(tensors["input"])
            self.output_vectors.copy_(tensors["output"])
