"""Batched PyTorch engine: every model, loss and optimizer, on CPU, CUDA or Apple MPS.

A batch is B consecutive centres of the subsampled corpus with all their context words (B, 2W), so
the set of pairs exists one batch at a time and memory never grows with the number of pairs. Pair
generation and noise sampling run on the training device. The loss is copied to the host only every
`sync_every` batches (16 on a GPU), but that does not spare a GPU a synchronisation per step: the
SGD + negative-sampling step (the default) waits for the device on every batch, because
boolean-mask indexing (`contexts[mask]`, `update_pos[mask]`, ...) and `torch.bincount` in
`add_rows` need sizes that are only known once the device has computed them; CBOW does the same
with every optimizer when it drops centres that have no context word (`centres[has_context]`).
Only skip-gram with autograd (Adam, AdamW, full softmax) has no such indexing in this file; whether
torch synchronises inside those steps (SparseAdam's sparse gradients, for instance) has not been
checked on a GPU.

Updates:
- SGD + negative sampling: closed-form gradients applied with `index_add_`, i.e. the sum of the
  per-pair word2vec updates computed at the batch's starting parameters (what Hogwild threads do).
- SGD + full softmax, and every Adam/AdamW combination: autograd. Adam with negative sampling uses
  sparse gradients (`torch.optim.SparseAdam`) so only the rows a batch touches are updated; AdamW and
  full softmax update densely (weight decay and the softmax normaliser touch every row anyway).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from w2v_core.backends.base import ChunkResult, EpochContext
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
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


def add_rows(target: torch.Tensor, rows: torch.Tensor, updates: torch.Tensor) -> None:
    """target[rows] += updates, summing duplicates, with at most MAX_FULL_WEIGHT_OCCURRENCES per row
    at full weight (see above). target (V, D), rows (n,), updates (n, D)."""
    occurrences = torch.bincount(rows, minlength=target.shape[0]).to(updates.dtype)  # (V,)
    weight = (MAX_FULL_WEIGHT_OCCURRENCES / occurrences.clamp(min=1)).clamp(max=1.0)  # (V,)
    target.index_add_(0, rows, updates * weight[rows][:, None])


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
        # How often the loss is read back. The SGD + negative-sampling and CBOW steps wait for the
        # device every batch anyway (see the module docstring); this only spares that read.
        self.sync_every = 1 if device.type == "cpu" else 16
        self.n_corpus_words = corpus.n_tokens
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
        if self.config.optimizer == "sgd":
            return torch.optim.SGD(params, lr=lr)
        if self._uses_sparse_gradients():
            return torch.optim.SparseAdam(params, lr=lr)
        if self.config.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr)
        return torch.optim.AdamW(params, lr=lr, weight_decay=self.config.weight_decay)

    # ---- the epoch ----------------------------------------------------------------------------
    def run_epoch(self, context: EpochContext) -> bool:
        generator = torch.Generator(device=self.device)
        generator.manual_seed(epoch_seed(self.config.seed, context.epoch))
        kept = subsample_positions(self.token_ids, self.keep_probability, generator)  # (M,)
        kept_ids = self.token_ids[kept]  # (M,)
        kept_docs = self.doc_of_token[kept]  # (M,)
        n_kept = int(kept.shape[0])  # one host sync per epoch
        if n_kept == 0:
            return not context.on_chunk(ChunkResult(self.n_corpus_words, 0.0, 0))

        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        loss_count = torch.zeros((), device=self.device, dtype=torch.int64)
        words_reported = 0
        batches_since_sync = 0
        for start in range(0, n_kept, self.batch_size):
            stop = min(start + self.batch_size, n_kept)
            fraction = stop / n_kept
            lr = context.lr_at(start / n_kept)
            centre_positions = torch.arange(start, stop, device=self.device)
            centres, contexts, mask = context_batch(
                kept_ids, kept_docs, centre_positions, self.config.window, generator
            )
            batch_loss, batch_count = self._step(centres, contexts, mask, lr, generator)
            loss_sum += batch_loss
            loss_count += batch_count
            batches_since_sync += 1
            if batches_since_sync >= self.sync_every or stop == n_kept:
                words_now = round(fraction * self.n_corpus_words)
                result = ChunkResult(
                    words_done=words_now - words_reported,
                    loss_sum=float(loss_sum),
                    loss_count=int(loss_count),
                )
                words_reported = words_now
                loss_sum.zero_()
                loss_count.zero_()
                batches_since_sync = 0
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
        return loss.double(), torch.tensor(centres.shape[0], device=self.device)

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
                        state[key] = value.clone().to(torch.float32)
                    else:
                        state[key] = value.to(self.device).clone()
            if state:
                self.optimizer.state[param] = state
