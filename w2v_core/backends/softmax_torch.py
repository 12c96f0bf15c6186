"""Full-softmax engine: skip-gram and CBOW scored against every word, as matrix products.

The blog's model (an embedding, then a linear layer over the whole vocabulary, cross-entropy, AdamW)
trained without autograd: the gradient of softmax cross-entropy has a closed form, so one batch of B
centres costs three (B, V, D) matrix products and a few passes over the (B, V) score matrix:

    logits  = in[c] @ out.T                         # (B, V)   matmul 1
    dlogits = n_targets * softmax(logits) - counts  # (B, V)   counts[b, w]: how often w is a target of b
    grad_out = dlogits.T @ in[c]                    # (V, D)   matmul 2
    grad_in[c] += dlogits @ out                     # (B, D)   matmul 3

Skip-gram: each context word of a centre is a target of that centre's softmax (the blog's pairs);
CBOW: the mean of the context vectors predicts the centre. With Adam/AdamW the loss is the mean over
examples (pairs for skip-gram, centres for CBOW), as `nn.CrossEntropyLoss` computes it in the blog;
with SGD it is their sum, the same step as word2vec's per-example updates. The moments are dense
(torch.optim.Adam/AdamW on both matrices), which is exact here: the softmax gives every output row a
gradient at every step, and the blog's AdamW decays every row.

Every batch has the same shape (the last one is padded and masked), nothing inside an epoch asks the
device for a value except the loss, which is read back at most every `loss_read_seconds` on a GPU
(every batch on the CPU, where reading costs nothing): an epoch does not wait for the device. The one
host synchronisation per epoch is the subsampling at its start (the number of words kept).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from w2v_core.backends.base import ChunkResult, EpochContext
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.sampling import context_batch, epoch_seed, keep_probabilities, subsample_positions

# The (B, V) score matrix is the largest tensor of a step: about this many floats (64 MB).
SCORE_MATRIX_FLOATS = 16_000_000
DEFAULT_CENTRES_PER_BATCH = 256


def softmax_batch_size(config: TrainConfig, vocab_size: int) -> int:
    """Centres per step: the configured size, else 256 (fewer when V is so large that the (B, V)
    score matrix would pass ~64 MB; at least 16)."""
    if config.batch_size is not None:
        return config.batch_size
    return int(max(16, min(DEFAULT_CENTRES_PER_BATCH, SCORE_MATRIX_FLOATS // max(vocab_size, 1))))


class SoftmaxTorchEngine:
    """One epoch of full-softmax updates; see the module docstring."""

    name = "softmax-torch"

    @staticmethod
    def supports(config: TrainConfig, device: torch.device | str) -> bool:
        """Full softmax with every model and optimizer, on every device torch has."""
        return config.loss == "softmax"

    def __init__(
        self,
        config: TrainConfig,
        counts: np.ndarray,
        corpus: EncodedCorpus,
        input_vectors: torch.Tensor,
        output_vectors: torch.Tensor,
        device: torch.device,
        loss_read_seconds: float | None = None,
    ) -> None:
        self.config = config
        self.device = device
        vocab_size = len(counts)
        self.batch_size = softmax_batch_size(config, vocab_size)
        # Reading the loss makes the host wait for the device; on the CPU there is nothing to wait for.
        if loss_read_seconds is None:
            loss_read_seconds = 0.0 if device.type == "cpu" else 0.5
        self.loss_read_seconds = loss_read_seconds
        self.loss_reads = 0  # how often the loss was read back (tests count the host syncs)
        self.n_corpus_words = corpus.n_tokens
        self.token_ids = torch.from_numpy(corpus.token_ids.astype(np.int64)).to(device)  # (N,)
        doc_of_token = np.repeat(
            np.arange(corpus.n_documents, dtype=np.int64), np.diff(corpus.doc_offsets)
        )
        self.doc_of_token = torch.from_numpy(doc_of_token).to(device)  # (N,)
        keep = keep_probabilities(counts, config.sample)
        self.keep_probability = torch.from_numpy(keep.astype(np.float32)).to(device)  # (V,)
        self.input = input_vectors.to(device).contiguous()  # (V, D)
        self.output = output_vectors.to(device).contiguous()  # (V, D)
        self.mean_loss = config.optimizer != "sgd"
        self.optimizer: torch.optim.Optimizer | None = None
        self._fused = False
        if config.optimizer != "sgd":
            for param in (self.input, self.output):
                param.requires_grad_(True)
                param.grad = torch.zeros_like(param)
            self.optimizer = self._make_optimizer()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """torch's own Adam/AdamW (the blog's optimizer), fused into one kernel where torch has one."""
        params = [self.input, self.output]
        options: dict = {"lr": self.config.learning_rate}
        if self.config.optimizer == "adamw":
            cls = torch.optim.AdamW
            options["weight_decay"] = self.config.weight_decay
        else:
            cls = torch.optim.Adam
        if self.device.type in ("cpu", "cuda"):
            try:
                optimizer = cls(params, fused=True, **options)
                self._fused = True
                return optimizer
            except (RuntimeError, TypeError, ValueError):  # an older torch: no fused kernel here
                pass
        return cls(params, **options)

    # ---- the epoch ------------------------------------------------------------------------------
    def run_epoch(self, context: EpochContext) -> bool:
        generator = torch.Generator(device=self.device)
        generator.manual_seed(epoch_seed(self.config.seed, context.epoch))
        kept = subsample_positions(self.token_ids, self.keep_probability, generator)  # (M,)
        kept_ids = self.token_ids[kept]  # (M,)
        kept_docs = self.doc_of_token[kept]  # (M,)
        n_kept = int(kept.shape[0])  # the one host sync of the epoch
        if n_kept == 0:
            return not context.on_chunk(ChunkResult(self.n_corpus_words, 0.0, 0))

        batch = self.batch_size
        offsets = torch.arange(batch, device=self.device)  # (B,)
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float64)
        loss_count = torch.zeros((), device=self.device, dtype=torch.int64)
        words_reported = 0
        last_read = time.perf_counter()
        for start in range(0, n_kept, batch):
            stop = min(start + batch, n_kept)
            positions = offsets + start  # (B,)
            valid = positions < n_kept  # (B,) the last batch is padded, its padding masked out
            positions = positions.clamp_(max=n_kept - 1)
            centres, contexts, mask = context_batch(
                kept_ids, kept_docs, positions, self.config.window, generator
            )
            mask &= valid[:, None]
            batch_loss, batch_count = self._step(
                centres, contexts, mask, valid, context.lr_at(start / n_kept)
            )
            loss_sum += batch_loss
            loss_count += batch_count
            words_now = round(stop / n_kept * self.n_corpus_words)
            now = time.perf_counter()
            if now - last_read >= self.loss_read_seconds or stop == n_kept:
                result = ChunkResult(words_now - words_reported, float(loss_sum), int(loss_count))
                self.loss_reads += 1
                loss_sum.zero_()
                loss_count.zero_()
                last_read = now
            else:
                result = ChunkResult(words_now - words_reported, 0.0, 0)
            words_reported = words_now
            if context.on_chunk(result):
                return stop == n_kept
        return True

    @torch.no_grad()
    def _step(
        self,
        centres: torch.Tensor,
        contexts: torch.Tensor,
        mask: torch.Tensor,
        valid: torch.Tensor,
        lr: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch of updates; returns (summed loss, number of examples) as device tensors.

        centres (B,), contexts (B, 2W), mask (B, 2W) of real context words, valid (B,) real centres.
        """
        if self.config.model == "skipgram":
            loss, count, grads = self._skipgram_gradients(centres, contexts, mask)
        else:
            loss, count, grads = self._cbow_gradients(centres, contexts, mask, valid)
        input_rows, input_grads, output_grad = grads
        if self.optimizer is None:
            self.output.add_(output_grad, alpha=-lr)
            self.input.index_add_(0, input_rows, input_grads, alpha=-lr)
        else:
            self.input.grad.zero_()
            self.input.grad.index_add_(0, input_rows, input_grads)
            self.output.grad.copy_(output_grad)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.optimizer.step()
        return loss.double(), count

    def _loss_scale(self, count: torch.Tensor) -> torch.Tensor:
        """1 / examples for the mean loss (Adam/AdamW), 1 for the summed one (SGD). A () tensor."""
        if not self.mean_loss:
            return torch.ones((), device=self.device)
        return 1.0 / count.clamp(min=1).to(self.input.dtype)

    def _softmax_gradient(
        self, hidden: torch.Tensor, targets: torch.Tensor, target_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss and d loss / d logits of softmax cross-entropy over the whole vocabulary.

        hidden (B, D): the vectors that score every word; targets (B, T) word ids; target_weight
        (B, T): each target's weight in the loss (0 for padding). Returns the weighted loss sum ()
        and dlogits (B, V) = (sum_t w_bt) * softmax(logits_b) - sum_t w_bt * onehot(targets_bt),
        the exact gradient of sum_bt w_bt * -log softmax(logits_b)[targets_bt].
        """
        logits = hidden @ self.output.T  # (B, V)            matmul 1
        picked = logits.gather(1, targets)  # (B, T)
        log_normaliser = torch.logsumexp(logits, dim=1, keepdim=True)  # (B, 1)
        row_weight = target_weight.sum(dim=1, keepdim=True)  # (B, 1)
        loss = (row_weight * log_normaliser).sum() - (target_weight * picked).sum()
        # w * softmax in place: exp(logit - logsumexp + log w); a row of weight 0 gives exp(-inf) = 0
        logits.sub_(log_normaliser - torch.log(row_weight)).exp_()
        logits.scatter_add_(1, targets, -target_weight)
        return loss, logits  # logits now holds dlogits (B, V)

    def _skipgram_gradients(self, centres, contexts, mask):
        maskf = mask.to(self.input.dtype)  # (B, 2W)
        count = mask.sum()  # pairs
        scale = self._loss_scale(count)
        v = self.input[centres]  # (B, D)
        loss, dlogits = self._softmax_gradient(v, contexts, maskf * scale)
        grad_v = dlogits @ self.output  # (B, D)              matmul 3 (before `output` changes)
        grad_out = dlogits.T @ v  # (V, D)                      matmul 2
        return loss / scale, count, (centres, grad_v, grad_out)

    def _cbow_gradients(self, centres, contexts, mask, valid):
        maskf = mask.to(self.input.dtype)  # (B, 2W)
        n_context = maskf.sum(dim=1, keepdim=True)  # (B, 1)
        has_context = (n_context[:, 0] > 0) & valid  # (B,) centres without context teach nothing
        count = has_context.sum()  # centres
        scale = self._loss_scale(count)
        share = maskf / n_context.clamp(min=1)  # (B, 2W) each context word's share of the mean
        h = torch.einsum("bc,bcd->bd", share, self.input[contexts])  # (B, D)
        weight = (has_context.to(self.input.dtype) * scale)[:, None]  # (B, 1)
        loss, dlogits = self._softmax_gradient(h, centres[:, None], weight)
        grad_h = dlogits @ self.output  # (B, D)              matmul 3
        grad_out = dlogits.T @ h  # (V, D)                      matmul 2
        grad_context = share[..., None] * grad_h[:, None, :]  # (B, 2W, D)
        dim = self.input.shape[1]
        return loss / scale, count, (contexts.reshape(-1), grad_context.reshape(-1, dim), grad_out)

    # ---- state -------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """'input', 'output' and, with Adam/AdamW, 'optim.<0 input|1 output>.<step|exp_avg|...>'
        (the batched engine's names, so either engine resumes the other's runs)."""
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
            prefix = f"optim.{index}."
            state = {}
            for name, value in tensors.items():
                if not name.startswith(prefix):
                    continue
                key = name[len(prefix) :]
                if key == "step":  # fused kernels keep the step on the device, others on the CPU
                    step_device = self.device if self._fused else torch.device("cpu")
                    state[key] = value.to(device=step_device, dtype=torch.float32).clone()
                else:
                    state[key] = value.to(self.device).clone()
            if state:
                self.optimizer.state[param] = state
