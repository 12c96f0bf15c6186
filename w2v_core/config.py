"""Training settings: one frozen dataclass with a comment on every default.

Owns: `TrainConfig`, its validation against a vocabulary (impossible settings become `ConfigError`
with a plain sentence), and the defaults that depend on other settings (learning rate by optimizer and
model, batch size by device). Leaves out: preprocessing settings (`w2v_core.preprocess`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Literal

from w2v_core.errors import ConfigError

ModelKind = Literal["skipgram", "cbow"]
LossKind = Literal["negative", "softmax"]
OptimizerKind = Literal["sgd", "adam", "adamw"]
DeviceChoice = Literal["auto", "cpu", "cuda", "mps"]
VectorKind = Literal["input", "output", "average"]

# Full softmax computes a (batch, V) score matrix every step; past this vocabulary size one epoch takes
# far longer than negative sampling for no gain in quality (the blog's tweets had ~20k types after
# min_count). 50k types * 100 dims keeps a 1k-pair batch's logits at 200 MB.
MAX_SOFTMAX_VOCAB = 50_000


@dataclass(frozen=True)
class TrainConfig:
    model: ModelKind = "skipgram"  # skip-gram predicts context from centre; CBOW the reverse
    loss: LossKind = "negative"  # negative sampling (word2vec) or full softmax (the blog)
    dim: int = 100  # vector length
    window: int = 5  # max distance between centre and context; the effective one is 1..window
    negative: int = 5  # noise words per positive pair (negative sampling only)
    ns_exponent: float = 0.75  # noise distribution = unigram ** ns_exponent (Mikolov et al. 2013)
    sample: float = 1e-3  # frequent-word subsampling threshold; 0 turns subsampling off
    epochs: int = 5  # passes over the corpus
    lr: float | None = (
        None  # None -> SGD: 0.025 skip-gram, 0.05 CBOW (0.25 with softmax); Adam 1e-2
    )
    min_lr_fraction: float = 1e-4 / 0.025  # SGD decays linearly from lr to lr * this (gensim)
    optimizer: OptimizerKind = "sgd"  # word2vec's plain SGD, or Adam / AdamW as in d2l / the blog
    weight_decay: float = 0.01  # AdamW only
    batch_size: int | None = None  # centres per step of the batched (torch) engine; None -> auto
    seed: int = 1  # fixes initial vectors, subsampling, windows and negatives
    device: DeviceChoice = "auto"  # auto: CUDA, then Apple MPS, then CPU
    threads: int | None = None  # CPU threads; None -> all cores. Bit-for-bit reproducible only at 1
    engine: Literal["auto", "fused", "batched"] = "auto"  # auto: fused CPU kernel when it applies

    # ---- derived values ---------------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        if self.optimizer == "sgd":
            if self.model == "skipgram":
                return 0.025
            # CBOW's averaged context gives 1/(2W)-sized gradients; full softmax starts flatter
            return 0.05 if self.loss == "negative" else 0.25
        return 1e-2

    @property
    def cpu_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    # ---- validation -------------------------------------------------------------------------------
    def validate(self, vocab_size: int | None = None) -> None:
        """Raise `ConfigError` naming the first setting that cannot work."""
        if self.model not in ("skipgram", "cbow"):
            raise ConfigError(f"Unknown model '{self.model}': choose skipgram or cbow.")
        if self.loss not in ("negative", "softmax"):
            raise ConfigError(f"Unknown loss '{self.loss}': choose negative or softmax.")
        if self.optimizer not in ("sgd", "adam", "adamw"):
            raise ConfigError(f"Unknown optimizer '{self.optimizer}': choose sgd, adam or adamw.")
        if self.dim < 1 or self.dim > 2048:
            raise ConfigError(f"Vector size must be between 1 and 2048 (got {self.dim}).")
        if self.window < 1:
            raise ConfigError(
                f"Window must be at least 1 (got {self.window}): with no context words there is "
                "nothing to learn from."
            )
        if self.epochs < 1:
            raise ConfigError(f"Epochs must be at least 1 (got {self.epochs}).")
        if not 0 <= self.sample < 1:
            raise ConfigError(f"sample must be in [0, 1) (got {self.sample}); 1e-3 is typical.")
        if self.loss == "negative" and self.negative < 1:
            raise ConfigError("Negative sampling needs at least 1 negative word per pair.")
        lr = self.learning_rate
        if not lr > 0 or lr != lr:
            raise ConfigError(f"The learning rate must be positive (got {lr}).")
        if lr > 10:
            raise ConfigError(
                f"A learning rate of {lr} is far too high and would make training diverge; "
                "use 0.025 for SGD or 0.001-0.01 for Adam."
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"Batch size must be at least 1 (got {self.batch_size}).")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"Threads must be at least 1 (got {self.threads}).")
        if vocab_size is not None:
            if vocab_size < 2:
                raise ConfigError(
                    f"The vocabulary has {vocab_size} word(s); word2vec needs at least two distinct "
                    "words. Lower min_count or use a larger corpus."
                )
            if self.loss == "negative" and self.negative >= vocab_size:
                raise ConfigError(
                    f"negative={self.negative} noise words per pair needs a vocabulary larger than "
                    f"that, but it has {vocab_size} words. Use fewer negatives or a larger corpus."
                )
            if self.loss == "softmax" and vocab_size > MAX_SOFTMAX_VOCAB:
                raise ConfigError(
                    f"Full softmax scores every word at every step; with {vocab_size:,} words that "
                    f"is too slow (limit {MAX_SOFTMAX_VOCAB:,}). Use negative sampling, or raise "
                    "min_count / set a maximum vocabulary size."
                )
