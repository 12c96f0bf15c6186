"""Sampling as in word2vec: frequent-word subsampling, dynamic windows, noise words.

Owns: the keep probability of each word (Mikolov et al. 2013, as gensim computes it), the noise
distribution (unigram ** 0.75), the per-epoch random generator (derived from seed and epoch so a resumed
run draws exactly what an uninterrupted one would), and batch-by-batch pair generation for the batched
engine. The full list of (centre, context) pairs is never built: pairs exist one batch at a time.
Leaves out: the losses and updates (`w2v_core.backends`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of a word, (V,) float64.

    gensim's formula (word2vec.c's variant of Mikolov et al. 2013): with t = sample * total_count,
    keep(w) = min(1, (sqrt(count_w / t) + 1) * t / count_w). sample = 0 keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * (threshold / counts)
    return np.minimum(keep, 1.0)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """Probability of drawing each word as a negative: count ** exponent, normalised. (V,) float64."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    return weights / weights.sum()


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed for one epoch's random draws; independent of what happened in earlier epochs."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint32)[0])


def linear_learning_rate(start: float, end: float, progress: float) -> float:
    """word2vec's linear decay: `start` at progress 0, `end` at progress 1."""
    progress = min(max(progress, 0.0), 1.0)
    return start - (start - end) * progress


def window_pairs(tokens: Sequence[str], window: int) -> list[tuple[str, str]]:
    """All (centre, context) pairs at distance <= `window` in one document, in reading order.

    The reference for hand-worked examples; training never builds this list.
    """
    pairs = []
    for i, centre in enumerate(tokens):
        for j in range(max(0, i - window), min(len(tokens), i + window + 1)):
            if j != i:
                pairs.append((centre, tokens[j]))
    return pairs


def subsample_positions(
    token_ids: torch.Tensor, keep_probability: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Positions of the tokens kept by subsampling this epoch. (N_kept,) int64, on token_ids' device."""
    draws = torch.rand(token_ids.shape, generator=generator, device=token_ids.device)
    return torch.nonzero(draws < keep_probability[token_ids.long()], as_tuple=False).squeeze(1)


def context_batch(
    kept_ids: torch.Tensor,
    kept_docs: torch.Tensor,
    centre_positions: torch.Tensor,
    window: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centres and their context words for a batch of positions in the subsampled corpus.

    Each centre draws its effective window uniformly in 1..window (word2vec's dynamic window);
    contexts outside that window, outside the corpus or in another document are masked out.

    Returns centre ids (B,), context ids (B, 2W) and a bool mask (B, 2W) of real contexts.
    """
    device = kept_ids.device
    n = kept_ids.shape[0]
    offsets = torch.cat(
        [torch.arange(-window, 0, device=device), torch.arange(1, window + 1, device=device)]
    )  # (2W,)
    effective = torch.randint(
        1, window + 1, centre_positions.shape, generator=generator, device=device
    )  # (B,)
    positions = centre_positions[:, None] + offsets[None, :]  # (B, 2W)
    inside = (positions >= 0) & (positions < n)
    positions = positions.clamp(0, max(n - 1, 0))
    same_doc = kept_docs[positions] == kept_docs[centre_positions][:, None]
    within = offsets.abs()[None, :] <= effective[:, None]
    mask = inside & same_doc & within  # (B, 2W)
    return kept_ids[centre_positions], kept_ids[positions], mask


def noise_words(
    noise_cdf: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """Draw word ids from the noise distribution by inverting its CDF. int64 tensor of `shape`."""
    draws = torch.rand(shape, generator=generator, device=noise_cdf.device, dtype=noise_cdf.dtype)
    return torch.searchsorted(noise_cdf, draws).clamp_(max=noise_cdf.shape[0] - 1)
