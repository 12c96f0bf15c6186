"""Vocabulary: ordering, cut-offs, lookups, suggestions, vocab.tsv round trip."""

from __future__ import annotations

import pytest

from w2v_core.errors import CorpusError, UnknownWordError
from w2v_core.vocab import Vocabulary


def test_ids_follow_frequency_with_alphabetical_ties():
    vocab = Vocabulary.from_documents([["b", "a", "c", "a"], ["c", "a", "d"]], min_count=1)
    # a:3, c:2, b:1, d:1 -> ties b/d broken alphabetically
    assert vocab.words == ["a", "c", "b", "d"]
    assert vocab.counts.tolist() == [3, 2, 1, 1]
    assert vocab.id_of("c") == 1


def test_min_count_and_max_size_cut():
    counts = {"x": 10, "y": 5, "z": 4, "w": 7}
    assert Vocabulary.from_counts(counts, min_count=5).words == ["x", "w", "y"]
    assert Vocabulary.from_counts(counts, min_count=1, max_size=2).words == ["x", "w"]


def test_min_count_below_one_is_refused():
    with pytest.raises(CorpusError):
        Vocabulary.from_counts({"a": 1}, min_count=0)


def test_unknown_word_suggests_close_words():
    vocab = Vocabulary(["government", "governor", "people"], [5, 3, 2])
    with pytest.raises(UnknownWordError) as caught:
        vocab.id_of("goverment")
    assert "government" in caught.value.suggestions
    assert "Did you mean" in str(caught.value)
    assert vocab.get_id("goverment") == -1


def test_uppercase_query_suggests_lowercase_word():
    vocab = Vocabulary(["paris", "london"], [2, 1])
    with pytest.raises(UnknownWordError) as caught:
        vocab.id_of("Paris")
    assert caught.value.suggestions == ["paris"]


def test_tsv_round_trip(tmp_path):
    vocab = Vocabulary(["the", "naïve", "#tag", "@user"], [9, 4, 2, 1])
    vocab.save_tsv(tmp_path / "vocab.tsv")
    assert Vocabulary.load_tsv(tmp_path / "vocab.tsv") == vocab
    assert (tmp_path / "vocab.tsv").read_text(encoding="utf-8").splitlines()[1] == "naïve\t4"
