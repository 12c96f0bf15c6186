"""w2v_ui.queries: the caveat under an analogy's answer, on hand-made counts."""

from __future__ import annotations

import numpy as np

from w2v_ui import queries


class Counts:
    """Just what `analogy_caveat` reads of an `Embeddings`: the corpus counts."""

    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts
        self.counts = np.array(list(counts.values()))

    def count(self, word: str) -> int:
        return self._counts[word]


def table(word: str, cosine: float) -> dict[str, list]:
    return {"rank": [1], "word": [word], "cosine": [cosine], "count": [0]}


def test_a_word_seen_a_few_times_is_named_with_its_count() -> None:
    emb = Counts({"man": 900, "king": 7, "woman": 400, "queen": 1, "the": 2_000_000})
    caveat = queries.analogy_caveat(emb, ["man", "king", "woman"], table("queen", 0.5))
    assert caveat is not None
    assert "'king' (7 times), 'queen' (1 time) are in the corpus fewer than 20 times" in caveat
    assert "'man'" not in caveat and "similarity" not in caveat  # a large corpus: 0.5 is fine


def test_a_very_high_similarity_on_a_small_corpus_is_questioned() -> None:
    emb = Counts({"man": 900, "king": 300, "woman": 400, "prince": 250})
    caveat = queries.analogy_caveat(emb, ["man", "king", "woman"], table("prince", 0.94))
    assert caveat is not None and "A similarity of 0.94 on a corpus of only 1,850 words" in caveat
    assert queries.analogy_caveat(emb, ["man", "king", "woman"], table("prince", 0.6)) is None


def test_frequent_words_on_a_large_corpus_need_no_caveat() -> None:
    emb = Counts({"man": 90_000, "king": 3_000, "woman": 40_000, "queen": 2_500, "a": 5_000_000})
    assert queries.analogy_caveat(emb, ["man", "king", "woman"], table("queen", 0.94)) is None
