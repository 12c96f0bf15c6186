"""Sampling as in word2vec: windows, keep probabilities, noise distribution, batched pairs."""

from __future__ import annotations

import numpy as np
import torch

from w2v_core.sampling import (
    context_batch,
    epoch_seed,
    keep_probabilities,
    linear_learning_rate,
    noise_distribution,
    noise_words,
    subsample_positions,
    window_pairs,
)


def test_every_good_boy_does_fine_window_two():
    """The blog's example, by hand: with window 2 each word pairs with up to two words each side.

    every: good, boy          good: every, boy, does     boy: every, good, does, fine
    does: good, boy, fine      fine: boy, does
    """
    pairs = window_pairs("every good boy does fine".split(), window=2)
    assert pairs == [
        ("every", "good"), ("every", "boy"),
        ("good", "every"), ("good", "boy"), ("good", "does"),
        ("boy", "every"), ("boy", "good"), ("boy", "does"), ("boy", "fine"),
        ("does", "good"), ("does", "boy"), ("does", "fine"),
        ("fine", "boy"), ("fine", "does"),
    ]  # fmt: skip


def test_keep_probability_matches_formula_by_hand():
    # total 1000, sample 1e-3 -> threshold t = 1; a word seen 100 times keeps (sqrt(100)+1)/100
    counts = np.array([100, 4, 1])
    keep = keep_probabilities(counts, 1e-3 * 1000 / counts.sum())
    t = 1e-3 * 1000
    assert np.isclose(keep[0], (np.sqrt(100 / t) + 1) * t / 100)  # 0.11
    assert np.isclose(keep[0], 0.11)
    assert keep[2] == 1.0  # rare words are always kept


def test_keep_probability_matches_gensim():
    from gensim.models import Word2Vec

    sentences = [["a"] * 50 + ["b"] * 20 + ["c"] * 5 + ["d"]]
    model = Word2Vec(sentences, min_count=1, sample=0.01, vector_size=4, epochs=1, workers=1)
    ours = keep_probabilities(np.array([50, 20, 5, 1]), 0.01)
    for word, keep in zip("abcd", ours):
        gensim_keep = model.wv.get_vecattr(word, "sample_int") / 2**32
        assert abs(gensim_keep - keep) < 1e-6


def test_sample_zero_keeps_everything():
    assert keep_probabilities(np.array([10, 1]), 0.0).tolist() == [1.0, 1.0]


def test_noise_frequencies_follow_unigram_to_the_three_quarters():
    counts = np.array([1000, 100, 10, 1])
    expected = noise_distribution(counts)
    assert np.allclose(expected, counts**0.75 / (counts**0.75).sum())
    cdf = torch.from_numpy(np.cumsum(expected))
    draws = noise_words(cdf, (200_000,), torch.Generator().manual_seed(0))
    observed = np.bincount(draws.numpy(), minlength=4)
    # chi-square goodness of fit, 3 degrees of freedom: 16.27 is the 0.1% critical value
    expected_counts = expected * len(draws)
    chi2 = ((observed - expected_counts) ** 2 / expected_counts).sum()
    assert chi2 < 16.27


def test_subsampling_keeps_rare_words_and_thins_frequent_ones():
    counts = np.array([9000, 10])
    tokens = torch.tensor([0] * 9000 + [1] * 10)
    keep = torch.from_numpy(keep_probabilities(counts, 1e-3).astype(np.float32))
    kept = subsample_positions(tokens, keep, torch.Generator().manual_seed(1))
    kept_tokens = tokens[kept]
    assert int((kept_tokens == 1).sum()) == 10
    expected_frequent = 9000 * float(keep[0])
    assert abs(int((kept_tokens == 0).sum()) - expected_frequent) < 4 * np.sqrt(expected_frequent)


def test_context_batch_respects_documents_and_dynamic_window():
    ids = torch.arange(10)
    docs = torch.tensor([0] * 4 + [1] * 6)
    generator = torch.Generator().manual_seed(3)
    centres, contexts, mask = context_batch(
        ids, docs, torch.arange(10), window=3, generator=generator
    )
    assert centres.tolist() == list(range(10))
    for row in range(10):
        real = contexts[row][mask[row]].tolist()
        assert row not in real
        assert all(docs[c] == docs[row] for c in real)  # never crosses a document
        distances = {abs(c - row) for c in real}
        assert max(distances, default=0) <= 3
        # the dynamic window is one contiguous range 1..b on each side within the document
        if real:
            b = max(distances)
            same_doc = [c for c in range(row - b, row + b + 1) if 0 <= c < 10 and c != row]
            assert sorted(real) == [c for c in same_doc if docs[c] == docs[row]]


def test_dynamic_window_is_uniform_over_one_to_window():
    ids = torch.zeros(2001, dtype=torch.long)
    docs = torch.zeros(2001, dtype=torch.long)
    _, _, mask = context_batch(
        ids, docs, torch.full((20000,), 1000), 4, torch.Generator().manual_seed(0)
    )
    effective = mask.sum(dim=1) // 2
    frequencies = torch.bincount(effective, minlength=5)[1:].float() / 20000
    assert torch.allclose(frequencies, torch.full((4,), 0.25), atol=0.02)


def test_epoch_seeds_are_distinct_and_stable():
    assert epoch_seed(1, 0) == epoch_seed(1, 0)
    assert len({epoch_seed(1, e) for e in range(50)}) == 50


def test_linear_learning_rate_decays_from_start_to_end():
    assert linear_learning_rate(0.025, 0.0001, 0.0) == 0.025
    assert np.isclose(linear_learning_rate(0.025, 0.0001, 1.0), 0.0001)
    assert np.isclose(linear_learning_rate(0.025, 0.0001, 0.5), 0.01255)
