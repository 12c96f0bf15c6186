"""Batched PyTorch engine: every model, loss and optimizer, on CPU, CUDA or Apple MPS.

A batch is B consecutive centres of the subsampled corpus with all their context words (B, 2W), so
the set of pairs exists one batch at a time and memory never grows with the number of pairs. Pair
generation and noise sampling run on the training device.

Host synchronisation. On the CPU each batch is reported at once (nothing is gained by waiting). On a
GPU (`fixed_shapes`) the negative-sampling steps (SGD, Adam, AdamW; skip-gram and CBOW) never wait
for the device: every tensor has a shape known before the batch runs. Padding (a context outside the
window, a CBOW centre without context) is carried with a mask and weighs zero, instead of being cut
out by boolean indexing; duplicate rows are counted with `index_add_` into a (V,) buffer instead of
`bincount` (whose size depends on the data); gradients are the closed-form ones (autograd's
embedding backward counts its segments on the host); Adam's lazy row update is done here in fixed
shapes with SparseAdam's formulas (SparseAdam coalesces its gradient, a sync), AdamW runs fused. The
loss and example count are read back together about once a second (`REPORT_SECONDS`), one sync
each, counted in `host_syncs`; the subsampling of an epoch (`torch.nonzero`) is one more. Full
softmax still goes through autograd.

Updates:
- SGD + negative sampling: closed-form gradients applied with `index_add_`, i.e. the sum of the
  per-pair word2vec updates computed at the batch's starting parameters (what Hogwild threads do).
- SGD + full softmax, and every Adam/AdamW combination on the CPU: autograd. Adam with negative
  sampling uses sparse gradients (`torch.optim.SparseAdam`) so only the rows a batch touches are
  updated; AdamW and full softmax update densely (weight decay and the softmax normaliser touch every
  row anyway). On a GPU the negative-sampling optimizers take the same steps from closed-form
  gradients (see above); a test checks both paths agree on the CPU.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from w2v_core.backends.base import ChunkResult, EpochContext
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.device import device_errors
from w2v_core.sampling import (
    context_batch,
    epoch_seed,
    keep_probabilities,
    noise_distribution,
    noise_words,
    subsample_positions,
)

# In one batch a row's update is the sum of all its occurrences' gradients, computed at the same
# (stale) parameters. For a frequent word drawn hundreds of times as noise that sum overshoots and
# training diverges (seen on a 16-word corpus at 256 centres per batch), where sequential SGD would
# have corrected itself. So occurrences beyond this many per row and batch share its weight.
MAX_FULL_WEIGHT_OCCURRENCES = 64
# On a GPU the loss is read back (a host sync) about this often; the trainer reports once a second.
REPORT_SECONDS = 0.5


def default_batch_size(
    config: TrainConfig, device: torch.device, vocab_size: int, n_tokens: int
) -> int:
    """Centres per step.

    Full softmax is bounded by its (B, V) score matrix (~64 MB of logits). Otherwise 256 centres on
    the CPU; on a GPU as many as keep at least ~2,000 steps per epoch, up to 4,096 (4,096 centres *
    2W * (K+1) rows of D floats is ~100 MB at W=5, K=5, D=100).
    """
    if config.batch_size is not None:
        return config.batch_size
    if config.loss == "softmax":
        return int(max(16, min(256, 16_000_000 // max(vocab_size, 1))))
    if device.type == "cpu":
        return 256 if config.optimizer == "sgd" else 1024
    return int(min(4096, max(256, n_tokens // 2000)))


def add_rows(
    target: torch.Tensor,
    rows: torch.Tensor,
    updates: torch.Tensor,
    valid: torch.Tensor | None = None,
) -> None:
    """target[rows] += updates, summing duplicates, with at most MAX_FULL_WEIGHT_OCCURRENCES per row
    at full weight (see above). target (V, D), rows (n,), updates (n, D).

    With `valid` (n,) bool, only the valid entries count and add (padding weighs zero): the
    fixed-shape form for GPUs, where duplicates are counted with index_add_ rather than bincount.
    """
    if valid is None:
        occurrences = torch.bincount(rows, minlength=target.shape[0]).to(updates.dtype)  # (V,)
        weight = (MAX_FULL_WEIGHT_OCCURRENCES / occurrences.clamp(min=1)).clamp(max=1.0)  # (V,)
        target.index_add_(0, rows, updates * weight[rows][:, None])
        return
    validf = valid.to(updates.dtype)  # (n,)
    occurrences = torch.zeros(target.shape[0], dtype=updates.dtype, device=target.device)
    occurrences.index_add_(0, rows, validf)  # (V,)
    weight = (MAX_FULL_WEIGHT_OCCURRENCES / occurrences.clamp(min=1)).clamp(max=1.0)  # (V,)
    target.index_add_(0, rows, updates * (weight[rows] * validf)[:, None])


def lazy_adam_step(
    param: torch.Tensor,
    state: dict,
    group: dict,
    rows: torch.Tensor,
    row_gradients: torch.Tensor,
    touched: torch.Tensor,
    gradient_buffer: torch.Tensor,
) -> None:
    """SparseAdam's step on the rows a batch touched, in shapes fixed before the batch (no sync).

    rows (n,) with duplicates, row_gradients (n, D) one gradient per occurrence, touched (n,) bool:
    whether an occurrence counts (SparseAdam sees every looked-up row, padding included, but no row
    of a CBOW centre without context, which the CPU path drops before the step). The gradients of a
    row's occurrences are summed in `gradient_buffer` (V, D), zero before and after. Every
    occurrence of a row computes the same new values, so duplicate writes agree.
    """
    beta1, beta2 = group["betas"]
    state["step"] = state.get("step", 0) + 1
    if "exp_avg" not in state:
        state["exp_avg"] = torch.zeros_like(param)
        state["exp_avg_sq"] = torch.zeros_like(param)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    vocab_size = param.shape[0]
    counts = torch.zeros(vocab_size, dtype=param.dtype, device=param.device)
    counts.index_add_(0, rows, touched.to(param.dtype))
    row_touched = (counts[rows] > 0)[:, None]  # (n, 1): the row, not only this occurrence
    gradient_buffer.index_add_(0, rows, row_gradients * touched.to(param.dtype)[:, None])
    grad = gradient_buffer[rows]  # (n, D) the row's summed gradient
    old_avg, old_avg_sq, old_param = exp_avg[rows], exp_avg_sq[rows], param[rows]  # (n, D)
    new_avg = old_avg + (grad - old_avg) * (1 - beta1)  # SparseAdam's exp_avg update
    new_avg_sq = old_avg_sq + (grad * grad - old_avg_sq) * (1 - beta2)
    step = state["step"]
    step_size = group["lr"] * (1 - beta2**step) ** 0.5 / (1 - beta1**step)
    new_param = old_param - step_size * new_avg / (new_avg_sq.sqrt() + group["eps"])
    exp_avg.index_copy_(0, rows, torch.where(row_touched, new_avg, old_avg))
    exp_avg_sq.index_copy_(0, rows, torch.where(row_touched, new_avg_sq, old_avg_sq))
    param.index_copy_(0, rows, torch.where(row_touched, new_param, old_param))
    gradient_buffer.index_fill_(0, rows, 0.0)


class BatchedTorchEngine:
    """One epoch of batched updates; see the module docstring."""

    name = "batched-torch"

    @staticmethod
    def supports(config: TrainConfig, device: torch.device | str) -> bool:
        """Every model, loss and optimizer on every device torch has."""
        return True

    def __init__(
        self,
        config: TrainConfig,
        counts: np.ndarray,
        corpus: EncodedCorpus,
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        device: torch.device,
    ) -> None:
        self.config = config
        self.device = device
        vocab_size = len(counts)
        self.batch_size = default_batch_size(config, device, vocab_size, corpus.n_tokens)
        # On a GPU every negative-sampling step keeps fixed shapes (no host sync, see the module
        # docstring) and the loss is read back about every REPORT_SECONDS; on the CPU nothing is
        # gained by waiting, so each batch is reported (and the CPU results stay as they were).
        self.fixed_shapes = device.type != "cpu"
        self.report_seconds = REPORT_SECONDS
        self.host_syncs = 0  # host waits for the device in the last epoch (fixed shapes only)
        self.host_syncs_per_epoch: list[int] = []
        self._gradient_buffers: dict[int, torch.Tensor] = {}  # lazy Adam's, per parameter
        self.n_corpus_words = corpus.n_tokens
        needed = self.memory_needed(config, vocab_size, corpus.n_tokens)
        with device_errors(device, needed, self._smaller_settings()):
            self._allocate(config, counts, corpus, input_vectors, output_vectors, device)

    @staticmethod
    def memory_needed(config: TrainConfig, vocab_size: int, n_tokens: int) -> int:
        """Bytes the engine keeps on the device before any step: the corpus (ids, documents), the
        per-word tables, the vectors and, with Adam/AdamW, their two moment estimates."""
        vectors = 2 * vocab_size * config.dim * 4
        moments = 2 * vectors if config.optimizer != "sgd" else 0
        return n_tokens * 16 + vocab_size * 12 + vectors + moments

    def _allocate(
        self,
        config: TrainConfig,
        counts: np.ndarray,
        corpus: EncodedCorpus,
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        device: torch.device,
    ) -> None:
        # Everything the epoch loop reads lives on the device.
        self.token_ids = torch.from_numpy(corpus.token_ids.astype(np.int64)).to(device)  # (N,)
        doc_of_token = np.repeat(
            np.arange(corpus.n_documents, dtype=np.int64), np.diff(corpus.doc_offsets)
        )
        self.doc_of_token = torch.from_numpy(doc_of_token).to(device)  # (N,)
        keep = keep_probabilities(counts, config.sample)
        self.keep_probability = torch.from_numpy(keep.astype(np.float32)).to(device)  # (V,)
        noise = noise_distribution(counts, config.ns_exponent)
        noise_cdf = np.cumsum(noise)
        noise_cdf[-1] = 1.0
        # float64 CDF keeps rare words drawable; MPS has no float64, so use float32 there.
        cdf_dtype = torch.float32 if device.type == "mps" else torch.float64
        self.noise_cdf = torch.from_numpy(noise_cdf).to(device=device, dtype=cdf_dtype)  # (V,)

        self.input = input_vectors.to(device)  # (V, D)
        self.output = output_vectors.to(device)  # (V, D)
        self.optimizer: torch.optim.Optimizer | None = None
        if config.optimizer != "sgd" or config.loss == "softmax":
            self.input.requires_grad_(True)
            self.output.requires_grad_(True)
            self.optimizer = self._make_optimizer()

    # ---- optimizer --------------------------------------------------------------------------------
    def _uses_sparse_gradients(self) -> bool:
        return self.config.optimizer == "adam" and self.config.loss == "negative"

    def _make_optimizer(self) -> torch.optim.Optimizer:
        params = [self.input, self.output]
        lr = self.config.learning_rate
        # Fused Adam/AdamW keep their step count on the GPU; the others read it back every step.
        fused = {"fused": True} if self.device.type == "cuda" else {}
        if self.config.optimizer == "sgd":
            return torch.optim.SGD(params, lr=lr)
        if self._uses_sparse_gradients():
            return torch.optim.SparseAdam(params, lr=lr)  # on a GPU: its state, `lazy_adam_step`
        if self.config.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, **fused)
        return torch.optim.AdamW(params, lr=lr, weight_decay=self.config.weight_decay, **fused)

    # ---- the epoch ----------------------------------------------------------------------------
    def run_epoch(self, context: EpochContext) -> bool:
        self.host_syncs = 0
        try:
            with device_errors(self.device, None, self._smaller_settings()):
                return self._run_epoch(context)
        finally:
            self.host_syncs_per_epoch.append(self.host_syncs)

    def _smaller_settings(self) -> str:
        """What to try after running out of device memory."""
        half = max(1, self.batch_size // 2)
        return f"a smaller batch size (for example {half}) or vector size (dim)"

    def _run_epoch(self, context: EpochContext) -> bool:
        generator = torch.Generator(device=self.device)
        generator.manual_seed(epoch_seed(self.config.seed, context.epoch))
        kept = subsample_positions(self.token_ids, self.keep_probability, generator)  # (M,)
        if self.fixed_shapes:
            self.host_syncs += 1  # torch.nonzero's size: one host sync per epoch
        kept_ids = self.token_ids[kept]  # (M,)
        kept_docs = self.doc_of_token[kept]  # (M,)
        n_kept = int(kept.shape[0])
        if n_kept == 0:
            return not context.on_chunk(ChunkResult(self.n_corpus_words, 0.0, 0))

        # [loss sum, example count]: one tensor, so one read brings both back
        totals = torch.zeros(2, device=self.device, dtype=torch.float64)
        words_reported = 0
        last_read = time.perf_counter()
        for start in range(0, n_kept, self.batch_size):
            stop = min(start + self.batch_size, n_kept)
            fraction = stop / n_kept
            lr = context.lr_at(start / n_kept)
            centre_positions = torch.arange(start, stop, device=self.device)
            centres, contexts, mask = context_batch(
                kept_ids, kept_docs, centre_positions, self.config.window, generator
            )
            batch_loss, batch_count = self._step(centres, contexts, mask, lr, generator)
            totals[0] += batch_loss
            totals[1] += batch_count
            now = time.perf_counter()
            due = not self.fixed_shapes or now - last_read >= self.report_seconds
            if due or stop == n_kept:
                loss_sum, loss_count = totals.tolist()  # waits for the device
                if self.fixed_shapes:
                    self.host_syncs += 1
                last_read = now
                words_now = round(fraction * self.n_corpus_words)
                result = ChunkResult(
                    words_done=words_now - words_reported,
                    loss_sum=loss_sum,
                    loss_count=int(loss_count),
                )
                words_reported = words_now
                totals.zero_()
                if context.on_chunk(result):
                    return stop == n_kept
        return True

    def _step(
        self,
        centres: torch.Tensor,
        contexts: torch.Tensor,
        mask: torch.Tensor,
        lr: float,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch: returns (summed loss, number of examples) as device tensors."""
        if self.fixed_shapes and self.config.loss == "negative":
            return self._fixed_shape_step(centres, contexts, mask, lr, generator)
        if self.config.model == "cbow":
            has_context = mask.any(dim=1)  # centres with no context word teach nothing
            centres, contexts, mask = centres[has_context], contexts[has_context], mask[has_context]
        if centres.numel() == 0:
            zero = torch.zeros((), device=self.device)
            return zero.double(), zero.long()
        if self.optimizer is None:
            return self._sgd_negative_sampling(centres, contexts, mask, lr, generator)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss, count = self._autograd_loss(centres, contexts, mask, generator)
        if self.config.optimizer == "sgd":
            loss.backward()  # summed: the same step as word2vec's per-example updates
        else:
            (loss / count.clamp(min=1)).backward()  # mean per example, as the d2l book and blog
        self.optimizer.step()
        return loss.detach().double(), count

    # ---- fixed shapes (GPUs): every negative-sampling optimizer without a host sync --------------
    @torch.no_grad()
    def _fixed_shape_step(self, centres, contexts, mask, lr, generator):
        """One negative-sampling batch in shapes known beforehand; (loss sum, examples) tensors.

        The same step as the CPU path: SGD's closed-form update with the duplicate-row cap, SparseAdam's
        lazy update (`lazy_adam_step`), or Adam/AdamW on the dense gradient of the mean loss.
        """
        parts = self._negative_sampling_parts(centres, contexts, mask, generator)
        (in_rows, in_dirs, in_valid, out_rows, out_dirs, out_valid, loss, count, touched) = parts
        if self.optimizer is None:  # SGD: dirs are the descent directions of the summed loss
            add_rows(self.output, out_rows, lr * out_dirs, out_valid)
            add_rows(self.input, in_rows, lr * in_dirs, in_valid)
            return loss, count
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        scale = 1.0 / count.clamp(min=1).to(in_dirs.dtype)  # the mean per example, as autograd's
        in_touched, out_touched = touched
        for param, rows, dirs, valid in (
            (self.input, in_rows, in_dirs, in_touched),
            (self.output, out_rows, out_dirs, out_touched),
        ):
            gradients = -dirs * scale  # (n, D): d(mean loss)/d(row), one per occurrence
            if self._uses_sparse_gradients():
                state = self.optimizer.state[param]
                buffer = self._gradient_buffer(param)
                lazy_adam_step(
                    param, state, self.optimizer.param_groups[0], rows, gradients, valid, buffer
                )
            else:
                if param.grad is None:
                    param.grad = torch.zeros_like(param)
                else:
                    param.grad.zero_()
                param.grad.index_add_(0, rows, gradients * valid.to(dirs.dtype)[:, None])
        if not self._uses_sparse_gradients():
            self.optimizer.step()
        return loss, count

    def _gradient_buffer(self, param: torch.Tensor) -> torch.Tensor:
        """A (V, D) zero buffer per parameter where `lazy_adam_step` sums a row's gradients."""
        if id(param) not in self._gradient_buffers:
            self._gradient_buffers[id(param)] = torch.zeros_like(param.detach())
        return self._gradient_buffers[id(param)]

    def _negative_sampling_parts(self, centres, contexts, mask, generator):
        """Closed-form negative-sampling gradients in fixed shapes.

        Returns (input rows, input directions, input valid, output rows, output directions, output
        valid, loss sum, example count, (input touched, output touched)). Directions are minus the
        gradient of the summed loss, one (D,) row per occurrence; `valid` says which occurrences
        are real (padding weighs zero); `touched` which rows the CPU path's autograd looks up
        (SparseAdam updates those, padding included, but never a dropped CBOW centre).
        """
        k = self.config.negative
        maskf = mask.to(self.input.dtype)  # (B, 2W)
        dim = self.input.shape[1]
        if self.config.model == "skipgram":
            negatives = noise_words(self.noise_cdf, (*contexts.shape, k), generator)  # (B, 2W, K)
            v = self.input[centres]  # (B, D)
            u_pos = self.output[contexts]  # (B, 2W, D)
            u_neg = self.output[negatives]  # (B, 2W, K, D)
            pos = torch.einsum("bcd,bd->bc", u_pos, v)  # (B, 2W)
            neg = torch.einsum("bckd,bd->bck", u_neg, v)  # (B, 2W, K)
            g_pos = torch.sigmoid(-pos) * maskf  # (B, 2W)
            g_neg = -torch.sigmoid(neg) * maskf[..., None]  # (B, 2W, K)
            grad_v = torch.einsum("bc,bcd->bd", g_pos, u_pos) + torch.einsum(
                "bck,bckd->bd", g_neg, u_neg
            )  # (B, D)
            out_rows = torch.cat([contexts.reshape(-1), negatives.reshape(-1)])  # (P + P*K,)
            out_dirs = torch.cat(
                [
                    (g_pos[..., None] * v[:, None, :]).reshape(-1, dim),
                    (g_neg[..., None] * v[:, None, None, :]).reshape(-1, dim),
                ]
            )  # (P + P*K, D)
            out_valid = torch.cat([mask.reshape(-1), mask[..., None].expand(-1, -1, k).reshape(-1)])
            in_valid = torch.ones_like(centres, dtype=torch.bool)  # the CPU path adds every centre
            loss = (
                -(F.logsigmoid(pos) * maskf).sum() - (F.logsigmoid(-neg) * maskf[..., None]).sum()
            )
            every = torch.ones_like(out_valid)
            return (
                centres, grad_v, in_valid, out_rows, out_dirs, out_valid, loss.double(),
                mask.sum(), (in_valid, every),
            )  # fmt: skip
        # CBOW: a centre without context is padding here (the CPU path drops it)
        has_context = mask.any(dim=1)  # (B,)
        n_context = maskf.sum(dim=1, keepdim=True).clamp(min=1)  # (B, 1)
        h = torch.einsum("bc,bcd->bd", maskf, self.input[contexts]) / n_context  # (B, D)
        targets = torch.cat(
            [centres[:, None], noise_words(self.noise_cdf, (centres.shape[0], k), generator)], dim=1
        )  # (B, 1 + K)
        u = self.output[targets]  # (B, 1 + K, D)
        scores = torch.einsum("bkd,bd->bk", u, h)  # (B, 1 + K)
        labels = torch.zeros_like(scores)
        labels[:, 0] = 1.0
        g = (labels - torch.sigmoid(scores)) * has_context[:, None]  # (B, 1 + K)
        grad_h = torch.einsum("bk,bkd->bd", g, u)  # (B, D)
        out_rows = targets.reshape(-1)  # (B * (1 + K),)
        out_dirs = (g[..., None] * h[:, None, :]).reshape(-1, dim)
        out_valid = has_context[:, None].expand(-1, k + 1).reshape(-1)
        # the exact gradient of the mean: each context word gets 1/n of the error (as the CPU path)
        in_rows = contexts.reshape(-1)  # (B * 2W,)
        in_dirs = ((grad_h / n_context)[:, None, :] * maskf[..., None]).reshape(-1, dim)
        in_valid = mask.reshape(-1)
        in_touched = has_context[:, None].expand_as(mask).reshape(-1)
        losses = -F.logsigmoid(scores[:, 0]) - F.logsigmoid(-scores[:, 1:]).sum(dim=1)  # (B,)
        loss = (losses * has_context).sum()
        return (
            in_rows, in_dirs, in_valid, out_rows, out_dirs, out_valid, loss.double(),
            has_context.sum(), (in_touched, out_valid),
        )  # fmt: skip

    # ---- SGD + negative sampling, closed form --------------------------------------------------
    @torch.no_grad()
    def _sgd_negative_sampling(self, centres, contexts, mask, lr, generator):
        k = self.config.negative
        maskf = mask.to(self.input.dtype)  # (B, 2W)
        if self.config.model == "skipgram":
            v = self.input[centres]  # (B, D)
            u_pos = self.output[contexts]  # (B, 2W, D)
            negatives = noise_words(self.noise_cdf, (*contexts.shape, k), generator)  # (B, 2W, K)
            u_neg = self.output[negatives]  # (B, 2W, K, D)
            pos = torch.einsum("bcd,bd->bc", u_pos, v)  # (B, 2W)
            neg = torch.einsum("bckd,bd->bck", u_neg, v)  # (B, 2W, K)
            # d/dscore of log σ(pos) + Σ log σ(-neg)  (Mikolov et al. 2013, eq. 4)
            g_pos = torch.sigmoid(-pos) * maskf  # (B, 2W)
            g_neg = -torch.sigmoid(neg) * maskf[..., None]  # (B, 2W, K)
            grad_v = torch.einsum("bc,bcd->bd", g_pos, u_pos) + torch.einsum(
                "bck,bckd->bd", g_neg, u_neg
            )  # (B, D)
            update_pos = lr * g_pos[..., None] * v[:, None, :]  # (B, 2W, D)
            update_neg = lr * g_neg[..., None] * v[:, None, None, :]  # (B, 2W, K, D)
            output_rows = torch.cat([contexts[mask], negatives[mask].reshape(-1)])  # (P + P*K,)
            output_updates = torch.cat([update_pos[mask], update_neg[mask].reshape(-1, v.shape[1])])
            add_rows(self.output, output_rows, output_updates)
            add_rows(self.input, centres, lr * grad_v)
            loss = (
                -(F.logsigmoid(pos) * maskf).sum() - (F.logsigmoid(-neg) * maskf[..., None]).sum()
            )
            return loss.double(), mask.sum()
        # CBOW: the mean of the context vectors predicts the centre (gensim's cbow_mean=1)
        n_context = maskf.sum(dim=1, keepdim=True)  # (B, 1)
        h = torch.einsum("bc,bcd->bd", maskf, self.input[contexts]) / n_context  # (B, D)
        targets = torch.cat(
            [centres[:, None], noise_words(self.noise_cdf, (centres.shape[0], k), generator)], dim=1
        )  # (B, 1 + K)
        u = self.output[targets]  # (B, 1 + K, D)
        scores = torch.einsum("bkd,bd->bk", u, h)  # (B, 1 + K)
        labels = torch.zeros_like(scores)
        labels[:, 0] = 1.0
        g = labels - torch.sigmoid(scores)  # (B, 1 + K)
        grad_h = torch.einsum("bk,bkd->bd", g, u)  # (B, D)
        add_rows(
            self.output,
            targets.reshape(-1),
            (lr * g[..., None] * h[:, None, :]).reshape(-1, h.shape[1]),
        )
        # The exact gradient of the mean: each context word gets 1/n of the error. word2vec.c,
        # gensim and the fused engine give each the whole error; summed over a batch of stale
        # updates that diverged on a 16-word corpus, so the batched engine keeps the exact share.
        spread = (lr * grad_h / n_context)[:, None, :] * maskf[..., None]  # (B, 2W, D)
        add_rows(self.input, contexts[mask], spread[mask])
        loss = -F.logsigmoid(scores[:, 0]).sum() - F.logsigmoid(-scores[:, 1:]).sum()
        return loss.double(), torch.full((), centres.shape[0], device=self.device)

    # ---- autograd losses (Adam/AdamW, full softmax) ----------------------------------------------
    def _autograd_loss(self, centres, contexts, mask, generator):
        maskf = mask.to(self.input.dtype)  # (B, 2W)
        k = self.config.negative
        sparse = self._uses_sparse_gradients()

        def rows_in(ids: torch.Tensor) -> torch.Tensor:  # sparse gradients for SparseAdam
            return F.embedding(ids, self.input, sparse=sparse)

        def rows_out(ids: torch.Tensor) -> torch.Tensor:
            return F.embedding(ids, self.output, sparse=sparse)

        if self.config.model == "skipgram":
            v = rows_in(centres)  # (B, D)
            if self.config.loss == "softmax":
                # the blog: scores of every word for each centre; each context word is a target
                log_probs = torch.log_softmax(v @ self.output.T, dim=1)  # (B, V)
                picked = torch.gather(log_probs, 1, contexts)  # (B, 2W)
                return -(picked * maskf).sum(), mask.sum()
            negatives = noise_words(self.noise_cdf, (*contexts.shape, k), generator)  # (B, 2W, K)
            pos = torch.einsum("bcd,bd->bc", rows_out(contexts), v)  # (B, 2W)
            neg = torch.einsum("bckd,bd->bck", rows_out(negatives), v)  # (B, 2W, K)
            loss = (
                -(F.logsigmoid(pos) * maskf).sum() - (F.logsigmoid(-neg) * maskf[..., None]).sum()
            )
            return loss, mask.sum()
        n_context = maskf.sum(dim=1, keepdim=True)  # (B, 1)
        h = torch.einsum("bc,bcd->bd", maskf, rows_in(contexts)) / n_context  # (B, D)
        if self.config.loss == "softmax":
            return F.cross_entropy(h @ self.output.T, centres, reduction="sum"), torch.tensor(
                centres.shape[0], device=self.device
            )
        negatives = noise_words(self.noise_cdf, (centres.shape[0], k), generator)  # (B, K)
        pos = (rows_out(centres) * h).sum(-1)  # (B,)
        neg = torch.einsum("bkd,bd->bk", rows_out(negatives), h)  # (B, K)
        loss = -F.logsigmoid(pos).sum() - F.logsigmoid(-neg).sum()
        return loss, torch.tensor(centres.shape[0], device=self.device)

    # ---- state ----------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {"input": self.input.detach(), "output": self.output.detach()}
        if self.optimizer is not None:
            for index, param in enumerate((self.input, self.output)):
                for key, value in self.optimizer.state.get(param, {}).items():
                    tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach()
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.input.copy_(tensors["input"].to(self.device))
            self.output.copy_(tensors["output"].to(self.device))
        if self.optimizer is None:
            return
        for index, param in enumerate((self.input, self.output)):
            state = {}
            for name, value in tensors.items():
                prefix = f"optim.{index}."
                if name.startswith(prefix):
                    key = name[len(prefix) :]
                    if key == "step" and isinstance(self.optimizer, torch.optim.SparseAdam):
                        state[key] = int(value.item())
                    elif key == "step":
                        # fused Adam/AdamW (CUDA) keep the step on the device, as their own
                        # load_state_dict does; the others on the CPU
                        fused = bool(self.optimizer.defaults.get("fused"))
                        step_device = self.device if fused else torch.device("cpu")
                        state[key] = value.clone().to(step_device, torch.float32)
                    else:
                        state[key] = value.to(self.device).clone()
            if state:
                self.optimizer.state[param] = state
