"""The fused Adam engine: compiled (numba) sparse "lazy" Adam / AdamW with negative sampling, Hogwild.

Owns: the compiled kernels that train one chunk of the corpus with Adam or AdamW (skip-gram and
CBOW), the per-row moment estimates (checkpointed through `state_tensors`), the shared step counter,
the per-thread gradient workspaces, and the d2l book's loss (`ChunkResult.d2l_loss_sum`).
Leaves out: the epoch loop and reports (`w2v_core.trainer`), the sampling formulas
(`w2v_core.sampling`), and everything it shares with the SGD kernel, which it imports from
`w2v_core.backends.fused_cpu`: the random generator, subsampling, the noise alias table, segments,
chunks and their shuffled order, the compile-time vector length.

What a step is
    A thread trains the centres of its chunk (the same chunks as the SGD engine, each with random
    draws seeded by (epoch seed, chunk index) only) in mini-batches of `batch_size` consecutive kept
    centres (the last batch of a chunk may be smaller). One mini-batch is one Adam step, as one
    `optimizer.step()` of `torch.optim.SparseAdam` is in the batched engine and in the d2l book
    (512 centres): the gradients of all its centres are computed at the parameters as the batch
    found them, summed per row, divided by the batch's number of examples (the mean loss per positive
    pair for skip-gram, per centre for CBOW, as the batched engine's `loss / count`), and then applied
    to the rows the batch touched, and only to those ("lazy", as SparseAdam). Threads run their
    batches concurrently and update the shared vectors and moments without locks (Hogwild, as the SGD
    engine); one step counter is shared by all threads and incremented atomically per batch.

Adam, as `torch.optim.SparseAdam` computes it (torch/optim/_functional.py, `sparse_adam`)
    For each touched row, with g the row's gradient, t the step number (counted over all steps, not
    per row) and defaults beta1 = 0.9, beta2 = 0.999, eps = 1e-8:
    m += (1 - beta1) (g - m);  v += (1 - beta2) (g² - v);
    param -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps).
    Rows a step does not touch keep their parameters and moments (dense Adam would move them by
    their decaying m; SparseAdam and this engine do not).
AdamW, as `torch.optim.AdamW`
    The same moments; eps is added to sqrt(v) / sqrt(1 - beta2^t) (AdamW's placement), and the
    decoupled weight decay param *= (1 - lr * weight_decay) happens at every step for every row in
    torch. Here a row is decayed when a step touches it, by (1 - lr * weight_decay)^(steps since it
    was last brought up to date), and every row is brought up to date whenever the state is read
    (`state_tensors`: each epoch's checkpoint, a stop), so the decay equals torch's for a constant
    learning rate (the trainer keeps Adam's constant). What differs from torch's dense AdamW is the
    lazy part: a row not touched by a step does not move by its momentum.

The model
    Skip-gram scores the centre's input vector against its context words' output vectors and
    `negative` noise words per (centre, context) pair, as the d2l book and the batched engine do
    (word2vec.c and the SGD kernel swap the roles of centre and context; the loss is the same sum).
    CBOW scores the mean of the context input vectors against the centre and `negative` noise words;
    each context word gets 1/n of the gradient of the mean (the exact gradient, as autograd gives
    the batched engine). A noise draw equal to the positive word is skipped (word2vec.c). Scores
    use exact sigmoid and log-sigmoid (no table), so steps match torch's to rounding.

Losses reported
    `loss_sum` / `loss_count`: the negative-sampling loss -log σ(positive) - Σ log σ(-noise), summed
    per positive pair (skip-gram) or per centre (CBOW), computed before the batch's update.
    `d2l_loss_sum` / `d2l_loss_count`: the d2l book's masked `SigmoidBCELoss` (chapter 15.4): for
    each centre the mean binary cross-entropy over its valid context and noise positions (the
    book's loss(pred, label, mask) / mask.sum(axis=1) * mask.shape[1]), summed over centres and
    counted in centres; its mean over an epoch is the book's figure on the book's scale.

numba caches the compiled kernels on disk keyed on this file only: after changing a helper imported
from `fused_cpu`, touch this file (or delete its `__pycache__` entries) so the kernels recompile.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from w2v_core.backends.base import ChunkResult, EpochContext
from w2v_core.backends.batched_torch import default_batch_size
from w2v_core.backends.fused_cpu import (
    _chunk_state,
    _look_ahead,
    _pick_targets,
    _start_segment,
    _vector_length,
    alias_table,
    chunk_bounds,
    chunk_words,
    corpus_segments,
    vector_length_marker,
)
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.sampling import epoch_seed, keep_probabilities, noise_distribution

# torch.optim.Adam / SparseAdam / AdamW defaults
BETA1 = 0.9
BETA2 = 0.999
EPS = 1e-8

# A chunk holds at least this many mini-batches on average, so that few steps are cut short by the
# end of a chunk (the last batch of each chunk is partial).
MIN_BATCHES_PER_CHUNK = 4

# The state_tensors keys of the moments: the batched engine's names for torch's optimizer state, so
# a run resumes with either engine. Index 0 is the input matrix, 1 the output matrix.
_PARAMS = ("input", "output")


def optimizer_key(index: int, name: str) -> str:
    return f"optim.{index}.{name}"


# ---- compiled helpers -------------------------------------------------------------------------------
@intrinsic
def _atomic_increment(typingctx, counter):
    """counter[0] += 1 as one atomic instruction; returns the old value. counter: (1,) int64."""
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        pointer = cgutils.get_item_pointer(context, builder, array_type, ary, [zero])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", pointer, one, "monotonic")

    return sig, codegen


@njit(inline="always")
def _score_terms(score, label):  # pragma: no cover - compiled
    """(dloss/dscore, loss) of one position's binary cross-entropy, exactly (no table).

    loss = -log σ(score) for a positive (label 1), -log σ(-score) for a noise word (label 0);
    dloss/dscore = σ(score) - label.
    """
    e = math.exp(-abs(score))
    sigmoid = 1.0 / (1.0 + e) if score >= 0.0 else e / (1.0 + e)
    softplus_tail = math.log1p(e)
    # -log σ(s) = softplus(-s) for a positive, -log σ(-s) = softplus(s) for a noise word
    signed = -score if label == 1.0 else score
    loss = max(signed, 0.0) + softplus_tail
    return np.float32(sigmoid - label), loss


@njit(inline="always")
def _row_slot(slots, rows, n_rows, word):  # pragma: no cover - compiled
    """The batch's slot of `word` (a new one on first use); returns (slot, slots in use)."""
    slot = slots[word]
    if slot < 0:
        slot = n_rows
        slots[word] = slot
        rows[slot] = word
        n_rows += 1
    return slot, n_rows


@njit(inline="always")
def _adam_side(
    param, m, v, last, rows, n_rows, slots, occ_slot, occ_weight, occ_source, n_occ, vectors,
    offsets, order, grad_row, scale, t, lr, beta1, beta2, eps, weight_decay, decoupled, dim,
):  # fmt: skip  # pragma: no cover - compiled
    """Step t of Adam (SparseAdam's formula) or AdamW on the rows of one matrix that a batch touched.

    The batch recorded one occurrence per (row, example): row slot, weight, and which of the batch's
    vectors it scales; a row's gradient is Σ weight * vectors[source] over its occurrences, times
    `scale` (1 / the batch's examples: the mean loss). Occurrences are grouped by row with a counting
    sort, so each row's gradient is summed in `grad_row` (D,) and its parameters and moments are read
    and written once; when most rows are touched they are visited in memory order (the hardware
    prefetcher then streams them), else in the order the batch first touched them. Frees the slots.
    """
    for r in range(n_rows + 1):
        offsets[r] = 0
    for o in range(n_occ):
        offsets[occ_slot[o] + 1] += 1
    for r in range(n_rows):
        offsets[r + 1] += offsets[r]
    for o in range(n_occ):  # offsets[r] walks to the end of row r's range, then shifts back
        slot = occ_slot[o]
        order[offsets[slot]] = o
        offsets[slot] += 1
    for r in range(n_rows, 0, -1):
        offsets[r] = offsets[r - 1]
    offsets[0] = 0
    bias1 = 1.0 - beta1**t
    bias2 = 1.0 - beta2**t
    step_size = np.float32(lr * math.sqrt(bias2) / bias1)
    # AdamW: (sqrt(v) / sqrt(bias2) + eps) * (lr / bias1) == (sqrt(v) + eps sqrt(bias2)) * step_size
    eps_here = np.float32(eps * math.sqrt(bias2) if decoupled else eps)
    keep1 = np.float32(1.0 - beta1)
    keep2 = np.float32(1.0 - beta2)
    scale32 = np.float32(scale)
    decays = decoupled and weight_decay > 0.0
    dense = 4 * n_rows >= param.shape[0]  # most rows touched: visit them in memory order
    n_visits = param.shape[0] if dense else n_rows
    for visit in range(n_visits):
        if dense:
            word = np.uint64(visit)
            r = slots[word]
            if r < 0:
                continue
        else:
            r = visit
            word = rows[r]
        slots[word] = -1
        for d in range(dim):
            grad_row[d] = 0.0
        for p in range(offsets[r], offsets[r + 1]):
            o = order[p]
            weight = occ_weight[o] * scale32
            source = occ_source[o]
            for d in range(dim):
                grad_row[d] += weight * vectors[source, d]
        if decays:
            factor = np.float32((1.0 - lr * weight_decay) ** (t - last[word]))
            last[word] = t
            for d in range(dim):
                param[word, d] *= factor
        for d in range(dim):
            g = grad_row[d]
            mean = m[word, d]
            mean += (g - mean) * keep1
            square = v[word, d]
            square += (g * g - square) * keep2
            m[word, d] = mean
            v[word, d] = square
            param[word, d] -= step_size * (mean / (math.sqrt(square) + eps_here))


@njit(inline="always")
def _adam_step(
    syn0, syn1, m0, v0, m1, v1, last0, last1, step_counter, n_examples, lr, beta1, beta2, eps,
    weight_decay, decoupled, w, n0, n1, n_in, n_out, dim,
):  # fmt: skip  # pragma: no cover - compiled
    """One Adam step on the batch in workspace `w` (both matrices, one shared step number)."""
    t = _atomic_increment(step_counter) + 1
    scale = 1.0 / n_examples
    (slots0, rows0, slots1, rows1, source, back, out_slot, out_weight, out_source, in_slot,
     in_weight, in_source, offsets, order, grad_row) = w  # fmt: skip
    _adam_side(syn1, m1, v1, last1, rows1, n1, slots1, out_slot, out_weight, out_source, n_out,
               source, offsets, order, grad_row, scale, t, lr, beta1, beta2, eps, weight_decay,
               decoupled, dim)  # fmt: skip
    _adam_side(syn0, m0, v0, last0, rows0, n0, slots0, in_slot, in_weight, in_source, n_in, back,
               offsets, order, grad_row, scale, t, lr, beta1, beta2, eps, weight_decay, decoupled,
               dim)  # fmt: skip


# ---- the kernels ------------------------------------------------------------------------------------
@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def _skipgram_adam_chunk(
    syn0, syn1,  # (V, D) float32 input / output vectors
    m0, v0, m1, v1,  # (V, D) float32 first / second moments of syn0 and syn1
    last0, last1,  # (V,) int64: the step each row's weight decay is up to (AdamW)
    step_counter,  # (1,) int64: Adam steps taken so far, shared by all threads
    token_ids, segment_starts, seg_first, seg_last, keep_threshold, alias,  # as the SGD kernel
    window, negative, batch_size,
    lr_start, lr_end, beta1, beta2, eps, weight_decay, decoupled,
    seed, chunk_index,
    w,  # this thread's workspace, a tuple of arrays, see `_workspace`
    dim_marker,
):  # fmt: skip  # pragma: no cover - compiled
    """Skip-gram with Adam on one chunk; returns (loss sum, pairs, d2l loss sum, centres).

    Windows and noise words are drawn, and noise rows prefetched, one centre ahead by the SGD
    kernel's own helpers (`_start_segment`, `_look_ahead`, `_pick_targets`). Each centre's input
    vector is copied into the batch (`source`), and the gradient with respect to it summed in
    `back`; an output row's gradient is Σ dloss/dscore * source over its occurrences.
    """
    dim = _vector_length(dim_marker)
    (slots0, rows0, slots1, rows1, source, back, out_slot, out_weight, out_source, in_slot,
     in_weight, in_source, offsets, order, grad_row) = w  # fmt: skip
    state = _chunk_state(seed, chunk_index)
    chunk_start = segment_starts[seg_first]
    chunk_length = max(segment_starts[seg_last] - chunk_start, 1)
    longest = 0
    for s in range(seg_first, seg_last):
        longest = max(longest, segment_starts[s + 1] - segment_starts[s])
    kept = np.empty(longest, np.uint64)
    noise = np.empty((2, 2 * window * negative), np.uint64)  # this centre's and the next one's
    reach = np.empty(2, np.int64)
    targets = np.empty(negative + 1, np.uint64)
    dscores = np.empty(negative + 1, np.float32)
    loss_sum = 0.0
    pairs = 0
    d2l_sum = 0.0
    centres = 0
    n0 = n1 = n_in = n_out = 0  # rows and occurrences this batch touched: input, output
    batch_centres = 0
    batch_pairs = 0
    lr = lr_start
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
            lo = max(0, i - reach[this])
            hi = min(n, i + reach[this] + 1)
            if hi - lo < 2:
                continue  # no context word
            centre = kept[i]
            c = batch_centres
            for d in range(dim):
                source[c, d] = syn0[centre, d]
                back[c, d] = 0.0
            centre_loss = 0.0
            positions = 0
            q = 0  # this pair's noise words are noise[this, q:q + negative]
            for j in range(lo, hi):
                if j == i:
                    continue
                n_targets = _pick_targets(kept[j], noise, this, q, negative, targets)
                q += negative
                for k in range(n_targets):
                    score = np.float32(0.0)
                    for d in range(dim):
                        score += source[c, d] * syn1[targets[k], d]
                    dscore, loss = _score_terms(np.float64(score), 1.0 if k == 0 else 0.0)
                    dscores[k] = dscore
                    centre_loss += loss
                for k in range(n_targets):
                    target = targets[k]
                    g = dscores[k]
                    slot, n1 = _row_slot(slots1, rows1, n1, target)
                    out_slot[n_out] = slot
                    out_weight[n_out] = g
                    out_source[n_out] = c
                    n_out += 1
                    for d in range(dim):
                        back[c, d] += g * syn1[target, d]
                positions += n_targets
                batch_pairs += 1
            slot, n0 = _row_slot(slots0, rows0, n0, centre)
            in_slot[n_in] = slot
            in_weight[n_in] = 1.0
            in_source[n_in] = c
            n_in += 1
            loss_sum += centre_loss
            d2l_sum += centre_loss / positions
            centres += 1
            batch_centres += 1
            if batch_centres == batch_size:
                _adam_step(syn0, syn1, m0, v0, m1, v1, last0, last1, step_counter, batch_pairs, lr,
                           beta1, beta2, eps, weight_decay, decoupled, w, n0, n1, n_in, n_out,
                           dim)  # fmt: skip
                pairs += batch_pairs
                n0 = n1 = n_in = n_out = batch_centres = batch_pairs = 0
    if batch_centres > 0:
        _adam_step(syn0, syn1, m0, v0, m1, v1, last0, last1, step_counter, batch_pairs, lr, beta1,
                   beta2, eps, weight_decay, decoupled, w, n0, n1, n_in, n_out, dim)  # fmt: skip
        pairs += batch_pairs
    return loss_sum, pairs, d2l_sum, centres


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def _cbow_adam_chunk(
    syn0, syn1, m0, v0, m1, v1, last0, last1, step_counter,
    token_ids, segment_starts, seg_first, seg_last, keep_threshold, alias,
    window, negative, batch_size,
    lr_start, lr_end, beta1, beta2, eps, weight_decay, decoupled,
    seed, chunk_index,
    w,
    dim_marker,
):  # fmt: skip  # pragma: no cover - compiled
    """CBOW (mean of the contexts) with Adam on one chunk; arguments as `_skipgram_adam_chunk`.

    `source` holds each centre's mean context vector, `back` the gradient with respect to it
    divided by the number of context words: each context word's share.
    Returns (loss sum, centres, d2l loss sum, centres): a CBOW example is a centre.
    """
    dim = _vector_length(dim_marker)
    (slots0, rows0, slots1, rows1, source, back, out_slot, out_weight, out_source, in_slot,
     in_weight, in_source, offsets, order, grad_row) = w  # fmt: skip
    state = _chunk_state(seed, chunk_index)
    chunk_start = segment_starts[seg_first]
    chunk_length = max(segment_starts[seg_last] - chunk_start, 1)
    longest = 0
    for s in range(seg_first, seg_last):
        longest = max(longest, segment_starts[s + 1] - segment_starts[s])
    kept = np.empty(longest, np.uint64)
    noise = np.empty((2, negative), np.uint64)
    reach = np.empty(2, np.int64)
    targets = np.empty(negative + 1, np.uint64)
    dscores = np.empty(negative + 1, np.float32)
    loss_sum = 0.0
    d2l_sum = 0.0
    centres = 0
    n0 = n1 = n_in = n_out = 0
    batch_centres = 0
    lr = lr_start
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
                continue
            c = batch_centres
            for d in range(dim):
                source[c, d] = 0.0
                back[c, d] = 0.0
            for j in range(lo, hi):
                if j != i:
                    for d in range(dim):
                        source[c, d] += syn0[kept[j], d]
            inverse_count = np.float32(1.0 / (hi - lo - 1))
            for d in range(dim):
                source[c, d] *= inverse_count
            n_targets = _pick_targets(kept[i], noise, this, 0, negative, targets)
            centre_loss = 0.0
            for k in range(n_targets):
                score = np.float32(0.0)
                for d in range(dim):
                    score += source[c, d] * syn1[targets[k], d]
                dscore, loss = _score_terms(np.float64(score), 1.0 if k == 0 else 0.0)
                dscores[k] = dscore
                centre_loss += loss
            for k in range(n_targets):
                target = targets[k]
                g = dscores[k]
                slot, n1 = _row_slot(slots1, rows1, n1, target)
                out_slot[n_out] = slot
                out_weight[n_out] = g
                out_source[n_out] = c
                n_out += 1
                for d in range(dim):
                    back[c, d] += g * syn1[target, d]
            for d in range(dim):
                back[c, d] *= inverse_count  # each context word's share of the mean's gradient
            for j in range(lo, hi):
                if j != i:
                    slot, n0 = _row_slot(slots0, rows0, n0, kept[j])
                    in_slot[n_in] = slot
                    in_weight[n_in] = 1.0
                    in_source[n_in] = c
                    n_in += 1
            loss_sum += centre_loss
            d2l_sum += centre_loss / n_targets
            centres += 1
            batch_centres += 1
            if batch_centres == batch_size:
                _adam_step(syn0, syn1, m0, v0, m1, v1, last0, last1, step_counter, batch_centres,
                           lr, beta1, beta2, eps, weight_decay, decoupled, w, n0, n1, n_in, n_out,
                           dim)  # fmt: skip
                n0 = n1 = n_in = n_out = batch_centres = 0
    if batch_centres > 0:
        _adam_step(syn0, syn1, m0, v0, m1, v1, last0, last1, step_counter, batch_centres, lr,
                   beta1, beta2, eps, weight_decay, decoupled, w, n0, n1, n_in, n_out,
                   dim)  # fmt: skip
    return loss_sum, centres, d2l_sum, centres


@njit(nogil=True, fastmath=True, cache=True, error_model="numpy")
def _bring_decay_up_to_date(param, last, step, factor_per_step):  # pragma: no cover - compiled
    """AdamW: apply the weight decay of the steps since each row was last brought up to date."""
    for r in range(param.shape[0]):
        if last[r] < step:
            factor = np.float32(factor_per_step ** (step - last[r]))
            last[r] = step
            for d in range(param.shape[1]):
                param[r, d] *= factor


# ---- the engine -------------------------------------------------------------------------------------
def _workspace(
    vocab_size: int, dim: int, batch_size: int, input_occurrences: int, output_occurrences: int
) -> tuple[np.ndarray, ...]:
    """One thread's scratch for a batch, as the kernels unpack it.

    slots0, slots1: (V,) int64, each word's slot in this batch or -1 (the kernels leave every slot
    at -1); rows0, rows1: the word of each slot; source, back: (B, D) float32, each example's input
    side vector and the gradient with respect to it; out_* / in_*: one entry per occurrence of an
    output / input row (its slot, weight and example); offsets, order: the counting sort that groups
    occurrences by row; grad_row: (D,) one row's gradient.
    """
    input_rows = min(vocab_size, input_occurrences)
    output_rows = min(vocab_size, output_occurrences)
    most_occurrences = max(input_occurrences, output_occurrences)
    return (
        np.full(vocab_size, -1, dtype=np.int64),  # slots0
        np.zeros(input_rows, dtype=np.uint64),  # rows0
        np.full(vocab_size, -1, dtype=np.int64),  # slots1
        np.zeros(output_rows, dtype=np.uint64),  # rows1
        np.zeros((batch_size, dim), dtype=np.float32),  # source
        np.zeros((batch_size, dim), dtype=np.float32),  # back
        np.zeros(output_occurrences, dtype=np.int64),  # out_slot
        np.zeros(output_occurrences, dtype=np.float32),  # out_weight
        np.zeros(output_occurrences, dtype=np.int64),  # out_source
        np.zeros(input_occurrences, dtype=np.int64),  # in_slot
        np.zeros(input_occurrences, dtype=np.float32),  # in_weight
        np.zeros(input_occurrences, dtype=np.int64),  # in_source
        np.zeros(max(input_rows, output_rows) + 1, dtype=np.int64),  # offsets
        np.zeros(most_occurrences, dtype=np.int64),  # order
        np.zeros(dim, dtype=np.float32),  # grad_row
    )


class FusedAdamCpuEngine:
    """Compiled lazy Adam / AdamW with negative sampling on the CPU, skip-gram and CBOW (Hogwild).

    Parameters
    ----------
    config : TrainConfig
        Settings; `model`, `dim`, `window`, `negative`, `ns_exponent`, `sample`, `seed`,
        `cpu_threads`, `optimizer`, `weight_decay` and `batch_size` (centres per Adam step; empty:
        the batched engine's CPU default) matter here. The learning rate comes from the trainer.
    counts : np.ndarray
        (V,) corpus count of each word; keep probabilities and the noise distribution derive from it.
    corpus : EncodedCorpus
        The token ids and document boundaries to train on.
    input_vectors, output_vectors : torch.Tensor
        (V, D) float32 contiguous CPU tensors, updated in place.
    """

    name = "fused-adam-cpu"
    applies_to = "Adam or AdamW with negative sampling on the CPU"  # for the registry's message

    def __init__(
        self,
        config: TrainConfig,
        counts: np.ndarray,
        corpus: EncodedCorpus,
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        device: torch.device | str = "cpu",  # the registry's common signature; always the CPU
    ) -> None:
        vocab_size = len(counts)
        shape = (vocab_size, config.dim)
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
        self._moments = [np.zeros(shape, dtype=np.float32) for _ in range(4)]  # m0, v0, m1, v1
        self._decayed_to = [np.zeros(vocab_size, dtype=np.int64) for _ in range(2)]  # last0, last1
        self._step = np.zeros(1, dtype=np.int64)
        self._token_ids = np.ascontiguousarray(corpus.token_ids, dtype=np.int32)  # (N,)
        self.batch_size = default_batch_size(
            config, torch.device("cpu"), vocab_size, corpus.n_tokens
        )
        keep = keep_probabilities(counts, config.sample)  # (V,)
        counts64 = np.asarray(counts, dtype=np.float64)
        kept_fraction = float((keep * counts64).sum() / max(counts64.sum(), 1.0))
        self.chunk_words = max(
            chunk_words(config),
            math.ceil(MIN_BATCHES_PER_CHUNK * self.batch_size / max(kept_fraction, 1e-3)),
        )
        self._segment_starts = corpus_segments(corpus.doc_offsets, self.chunk_words)  # (S + 1,)
        self._chunks = chunk_bounds(self._segment_starts, self.chunk_words)  # (C + 1,)
        self._keep_threshold = np.round(keep * 2.0**32).astype(np.uint64)  # (V,) in [0, 2**32]
        self._alias = alias_table(noise_distribution(counts, config.ns_exponent))  # (V,)
        self._dim_marker = vector_length_marker(config.dim)
        self._kernel = _skipgram_adam_chunk if config.model == "skipgram" else _cbow_adam_chunk
        self._decoupled = config.optimizer == "adamw"
        self._weight_decay = float(config.weight_decay) if self._decoupled else 0.0
        # Most occurrences of input and output rows in one batch.
        contexts = 2 * config.window * self.batch_size
        if config.model == "skipgram":
            occurrences = (self.batch_size, contexts * (config.negative + 1))
        else:
            occurrences = (contexts, self.batch_size * (config.negative + 1))
        self._workspace_shape = (vocab_size, config.dim, self.batch_size, *occurrences)
        self._workspaces = threading.local()
        self._lr = config.learning_rate
        # Compile, or load numba's on-disk cache, now rather than inside the first epoch's timing.
        self._run_chunk(0, 0, 0, 0.0, 0.0, 0)

    @staticmethod
    def supports(config: TrainConfig, device: torch.device | str) -> bool:
        """True for Adam or AdamW with negative sampling on the CPU, skip-gram or CBOW."""
        return (
            torch.device(device).type == "cpu"
            and config.optimizer in ("adam", "adamw")
            and config.loss == "negative"
            and config.model in ("skipgram", "cbow")
        )

    @property
    def n_chunks(self) -> int:
        return len(self._chunks) - 1

    @property
    def steps_taken(self) -> int:
        """Adam steps (mini-batches) since training began, over all epochs and threads."""
        return int(self._step[0])

    # ---- one chunk --------------------------------------------------------------------------------
    def _thread_workspace(self) -> tuple[np.ndarray, ...]:
        workspace = getattr(self._workspaces, "value", None)
        if workspace is None:
            workspace = _workspace(*self._workspace_shape)
            self._workspaces.value = workspace
        return workspace

    def _chunk_span(self, chunk: int) -> tuple[int, int]:
        first, last = self._chunks[chunk], self._chunks[chunk + 1]
        return int(self._segment_starts[first]), int(self._segment_starts[last])

    def _run_chunk(
        self, chunk: int, seg_first: int, seg_last: int, lr_start: float, lr_end: float, seed: int
    ) -> tuple[float, int, float, int]:
        m0, v0, m1, v1 = self._moments
        return self._kernel(
            self._syn0, self._syn1, m0, v0, m1, v1, *self._decayed_to, self._step,
            self._token_ids, self._segment_starts, np.int64(seg_first), np.int64(seg_last),
            self._keep_threshold, self._alias,
            np.int64(self.config.window), np.int64(self.config.negative),
            np.int64(self.batch_size),
            np.float64(lr_start), np.float64(lr_end), np.float64(BETA1), np.float64(BETA2),
            np.float64(EPS), np.float64(self._weight_decay), self._decoupled,
            np.uint64(seed), np.uint64(chunk),
            self._thread_workspace(), self._dim_marker,
        )  # fmt: skip

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

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="w2v-adam") as pool:

            def submit_next() -> None:
                nonlocal dispatched_words, next_position
                chunk = int(order[next_position])
                next_position += 1
                begin, end = self._chunk_span(chunk)
                lr_start = context.lr_at(dispatched_words / total_words)
                dispatched_words += end - begin
                lr_end = context.lr_at(dispatched_words / total_words)
                first, last = int(self._chunks[chunk]), int(self._chunks[chunk + 1])
                future = pool.submit(self._run_chunk, chunk, first, last, lr_start, lr_end, seed)
                pending.append((end - begin, future))

            while next_position < len(order) and len(pending) < threads + 1:
                submit_next()
            while pending:
                words, future = pending.popleft()
                loss_sum, loss_count, d2l_sum, d2l_count = future.result()
                self._lr = context.lr_at(dispatched_words / total_words)
                result = ChunkResult(
                    words, float(loss_sum), int(loss_count), float(d2l_sum), int(d2l_count)
                )
                if context.on_chunk(result):
                    for _, queued in pending:
                        queued.cancel()  # chunks already running finish; the rest never start
                    return False
                if next_position < len(order):
                    submit_next()
        # Every epoch ends with every row decayed up to date, whoever reads the state, so a run
        # resumed from an epoch's checkpoint does the same arithmetic as an uninterrupted one.
        self._bring_up_to_date()
        return True

    def chunk_order(self, seed: int) -> np.ndarray:
        """The order of this epoch's chunks: a permutation drawn from the epoch seed (as the SGD
        engine's, see `FusedCpuEngine.chunk_order`)."""
        return np.random.default_rng(seed).permutation(self.n_chunks)

    # ---- state ------------------------------------------------------------------------------------
    def _bring_up_to_date(self) -> None:
        """AdamW: every row decayed up to the current step (rows decay lazily, when touched)."""
        if self._weight_decay > 0.0:
            factor = 1.0 - self._lr * self._weight_decay
            for param, last in zip((self._syn0, self._syn1), self._decayed_to, strict=True):
                _bring_decay_up_to_date(param, last, np.int64(self._step[0]), np.float64(factor))

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The vectors and the optimizer state, under the batched engine's names: optim.0.* for the
        input matrix, optim.1.* for the output one (step, exp_avg, exp_avg_sq)."""
        self._bring_up_to_date()
        m0, v0, m1, v1 = self._moments
        tensors = {"input": self.input_vectors, "output": self.output_vectors}
        for index, (mean, square) in enumerate(((m0, v0), (m1, v1))):
            tensors[optimizer_key(index, "step")] = torch.tensor(self.steps_taken)
            tensors[optimizer_key(index, "exp_avg")] = torch.from_numpy(mean)
            tensors[optimizer_key(index, "exp_avg_sq")] = torch.from_numpy(square)
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore vectors and moments (a checkpoint of this engine or of the batched engine's
        SparseAdam / AdamW); without optimizer state the moments start from zero."""
        with torch.no_grad():
            self.input_vectors.copy_(tensors["input"])
            self.output_vectors.copy_(tensors["output"])
        m0, v0, m1, v1 = self._moments
        step = 0
        for index, (mean, square) in enumerate(((m0, v0), (m1, v1))):
            saved_mean = tensors.get(optimizer_key(index, "exp_avg"))
            saved_square = tensors.get(optimizer_key(index, "exp_avg_sq"))
            if saved_mean is None or saved_square is None:
                mean[:] = 0.0
                square[:] = 0.0
                continue
            mean[:] = saved_mean.detach().cpu().numpy()
            square[:] = saved_square.detach().cpu().numpy()
            saved_step = tensors.get(optimizer_key(index, "step"))
            if saved_step is not None:
                step = int(saved_step.item())
        self._step[0] = step
        for last in self._decayed_to:
            last[:] = step  # the saved vectors are decayed up to their step
