"""Full softmax: the softmax engine's epoch time against its floor, the same-shaped matrix products.

One epoch of `SoftmaxTorchEngine` (skip-gram and CBOW, SGD and AdamW) on a synthetic corpus, and in
the same process, right before and after it, the three bare `torch.matmul` calls of every one of its
batches with the same shapes ((B, D) x (D, V), (B, V) x (V, D), (V, B) x (B, D)): the floor no
implementation of this loss can beat. The ratio engine / floor is what issue 11 asks to keep under 2.
Both are timed with the engine's own thread count (1 intra-op thread, as the trainer sets it), the
floor twice around each epoch so a change of load during the run shows up as their difference.

    .venv/bin/python benchmarks/bench_softmax.py [--vocab 3085] [--tokens 40000] [--device cpu]

The defaults are the blog's shape: 3,085 words (the tweets with min count 11) and 100 dimensions.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from w2v_core.backends.base import EpochContext, initial_vectors
from w2v_core.backends.softmax_torch import SoftmaxTorchEngine, softmax_batch_size
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def floor_seconds(n_batches: int, batch: int, vocab: int, dim: int, device: torch.device) -> float:
    """The three matrix products of `n_batches` softmax steps, nothing else."""
    hidden = torch.randn(batch, dim, device=device)  # (B, D)
    output = torch.randn(vocab, dim, device=device)  # (V, D)
    logits = hidden @ output.T  # warm-up
    synchronize(device)
    start = time.perf_counter()
    for _ in range(n_batches):
        logits = hidden @ output.T  # (B, V)
        _ = logits @ output  # (B, D)
        _ = logits.T @ hidden  # (V, D)
    synchronize(device)
    return time.perf_counter() - start


def engine_epoch_seconds(
    config: TrainConfig, corpus: EncodedCorpus, counts: np.ndarray, device: torch.device
) -> float:
    inputs, outputs = initial_vectors(len(counts), config.dim, config.seed, random_output=True)
    engine = SoftmaxTorchEngine(config, counts, corpus, inputs, outputs, device)
    context = EpochContext(0, lambda fraction: config.learning_rate, lambda result: False)
    synchronize(device)
    start = time.perf_counter()
    engine.run_epoch(context)
    synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=3085)
    parser.add_argument("--tokens", type=int, default=40_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    print(f"load average: {os.getloadavg()}")
    print(f"device {device}, {args.threads} thread(s), torch {torch.__version__}")
    rng = np.random.default_rng(0)
    ids = rng.integers(0, args.vocab, args.tokens).astype(np.int32)
    offsets = np.arange(0, args.tokens + 1, 20)
    if offsets[-1] != args.tokens:
        offsets = np.append(offsets, args.tokens)
    corpus = EncodedCorpus(ids, offsets, np.arange(len(offsets) - 1))
    counts = np.bincount(ids, minlength=args.vocab)
    print(f"corpus {args.tokens:,} tokens, vocabulary {args.vocab:,}, dim {args.dim}")
    print(f"{'model':9} {'optimizer':9} {'epoch s':>8} {'floor s':>16} {'ratio':>6} {'words/s':>9}")
    for model in ("skipgram", "cbow"):
        for optimizer in ("sgd", "adamw"):
            config = TrainConfig(
                model=model, loss="softmax", optimizer=optimizer, dim=args.dim, sample=0,
                lr=0.001 if optimizer == "adamw" else None,
            )  # fmt: skip
            batch = softmax_batch_size(config, args.vocab)
            n_batches = -(-args.tokens // batch)
            before = floor_seconds(n_batches, batch, args.vocab, args.dim, device)
            epoch = engine_epoch_seconds(config, corpus, counts, device)
            after = floor_seconds(n_batches, batch, args.vocab, args.dim, device)
            floor = (before + after) / 2
            print(
                f"{model:9} {optimizer:9} {epoch:8.2f} {floor:7.2f} ({before:.2f}/{after:.2f}) "
                f"{epoch / floor:6.2f} {args.tokens / epoch:9,.0f}"
            )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
