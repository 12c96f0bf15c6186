"""The interface between the trainer (epochs, reports, checkpoints, stop) and a training engine.

The trainer owns the loop over epochs, the learning-rate schedule, reporting and checkpoints; an engine
owns how one epoch of updates is computed. An engine reports after each chunk of work (a few thousand
corpus words) through `EpochContext.on_chunk`, and stops early when that returns True.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk of work did."""

    words_done: int  # corpus words (before subsampling) consumed; drives progress and lr decay
    loss_sum: float  # sum of per-example losses in this chunk
    loss_count: (
        int  # number of examples in loss_sum (positive pairs for skip-gram, centres for CBOW)
    )
    # The d2l book's loss (its masked SigmoidBCELoss, chapter 15.4): per centre, the mean binary
    # cross-entropy over its valid context and noise positions; summed over centres, and the number
    # of centres. 0 / 0 from engines that do not compute it.
    d2l_loss_sum: float = 0.0
    d2l_loss_count: int = 0


@dataclass(frozen=True)
class EpochContext:
    epoch: int  # 0-based
    lr_at: Callable[[float], float]  # learning rate at a fraction (0..1) of this epoch
    on_chunk: Callable[[ChunkResult], bool]  # returns True when the engine must stop now


class TrainingEngine(Protocol):
    """One way of computing updates. Vectors live in `input_vectors` / `output_vectors`."""

    name: str  # shown to the user and recorded in run.json, e.g. "fused-cpu" or "batched-torch"

    def run_epoch(self, context: EpochContext) -> bool:
        """Train one epoch; True when it finished, False when stopped part-way."""
        ...

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything needed to continue training: 'input', 'output', and optimizer state."""
        ...

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what `state_tensors` returned (for resume)."""
        ...


def initial_vectors(
    vocab_size: int, dim: int, seed: int, random_output: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """word2vec's initialisation: input uniform in (-0.5/dim, 0.5/dim), output zeros. float32 CPU.

    With `random_output` the output vectors are drawn like the input ones: full softmax starts from
    a saddle point when both the scores and their gradients are zero (the blog's nn.Linear is random
    too), and only crawls away from it.
    """
    rng = np.random.default_rng(seed)
    input_vectors = (rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim  # (V, D)
    if random_output:
        output_vectors = (rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim  # (V, D)
    else:
        output_vectors = np.zeros((vocab_size, dim), dtype=np.float32)  # (V, D)
    return torch.from_numpy(input_vectors), torch.from_numpy(output_vectors)


EngineFactory = Callable[[TrainConfig, np.ndarray, EncodedCorpus, torch.device], TrainingEngine]
