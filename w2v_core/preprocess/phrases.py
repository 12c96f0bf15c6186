"""Phrases: join adjacent words that occur together far more often than chance (`new_york`).

Owns: bigram counting and scoring (gensim's "original" scorer, so thresholds mean what they mean in
gensim), greedy joining, and `segment_sums`, the per-document count used across the pipeline. Works
on integer token ids with numpy; knows nothing about strings.
"""

from __future__ import annotations

import numpy as np


def segment_sums(mask: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per-document count of True in `mask`, documents back to back with `lengths` tokens each."""
    cumulative = np.zeros(len(mask) + 1, dtype=np.int64)
    np.cumsum(mask, out=cumulative[1:])
    ends = np.cumsum(lengths)
    return cumulative[ends] - cumulative[ends - lengths]


def find_phrases(
    token_ids: np.ndarray,
    lengths: np.ndarray,
    n_words: int,
    min_count: int = 5,
    threshold: float = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join frequent bigrams, as gensim's `Phrases` with its default ("original") scoring does.

    A pair (a, b) of adjacent tokens in one document is a phrase when
    ``(count(ab) - min_count) / count(a) / count(b) * len_vocab > threshold``, with `len_vocab` the
    number of distinct words plus distinct pairs (Mikolov et al. 2013, "Distributed Representations
    of Words and Phrases", section 4, as implemented by gensim). Pairs are joined greedily from the
    left, so in "a b c" with both ab and bc phrases only ab is joined.

    Returns (new token ids, new document lengths, phrase pairs): phrase k gets id `n_words + k` and
    joins the words `pairs[k, 0]` and `pairs[k, 1]`.
    """
    no_pairs = np.zeros((0, 2), dtype=np.int64)
    if len(token_ids) < 2:
        return token_ids, lengths, no_pairs
    token_ids = token_ids.astype(np.int64, copy=False)
    word_counts = np.bincount(token_ids, minlength=n_words)
    first, second = token_ids[:-1], token_ids[1:]
    valid = np.ones(len(first), dtype=bool)
    ends = np.cumsum(lengths)
    valid[ends[(ends > 0) & (ends < len(token_ids))] - 1] = False  # pairs never cross documents
    keys = first * n_words + second  # (N-1,) pair code; n_words**2 fits in int64 for any vocabulary
    pair_keys, pair_counts = np.unique(keys[valid], return_counts=True)
    len_vocab = int(np.count_nonzero(word_counts)) + len(pair_keys)
    a, b = pair_keys // n_words, pair_keys % n_words
    scores = (pair_counts - min_count) / word_counts[a] / word_counts[b] * len_vocab
    phrase_keys = pair_keys[scores > threshold]
    if len(phrase_keys) == 0:
        return token_ids, lengths, no_pairs
    is_phrase = valid & np.isin(keys, phrase_keys)  # (N-1,)
    # greedy from the left: inside each run of consecutive phrase starts, take every other one
    position = np.arange(len(is_phrase))
    run_start = np.where(is_phrase & ~np.r_[False, is_phrase[:-1]], position, 0)
    np.maximum.accumulate(run_start, out=run_start)
    chosen = np.flatnonzero(is_phrase & ((position - run_start) % 2 == 0))
    merged = token_ids.copy()
    merged[chosen] = n_words + np.searchsorted(phrase_keys, keys[chosen])
    keep = np.ones(len(token_ids), dtype=bool)
    keep[chosen + 1] = False
    new_lengths = segment_sums(keep, lengths)
    pairs = np.stack([phrase_keys // n_words, phrase_keys % n_words], axis=1)
    return merged[keep], new_lengths, pairs
