"""Turning `Embeddings` answers into what the Neighbours and Map pages show.

Tables are plain dicts of columns (what `st.dataframe` draws), so they are tested without a browser.
The queries themselves are `w2v_core.embeddings.Embeddings` methods; this module only shapes them.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from w2v_ui.widgets import shown_word

NEIGHBOUR_COLUMNS = {
    "rank": st.column_config.NumberColumn("#", width="small"),
    "word": st.column_config.TextColumn("word"),
    "cosine": st.column_config.ProgressColumn(
        "cosine similarity",
        min_value=-1.0,
        max_value=1.0,
        format="%.3f",
        help="1 = same direction, 0 = unrelated, negative = opposite.",
    ),
    "count": st.column_config.NumberColumn("times in corpus", format="%d"),
    "agree": st.column_config.TextColumn(
        "runs that agree",
        help="This run belongs to a stability study: in how many of its runs' own top-k lists "
        "(their final vectors) the neighbour appears.",
    ),
}


def _table(emb: Any, pairs: list[tuple[str, float]]) -> dict[str, list]:
    return {
        "rank": list(range(1, len(pairs) + 1)),
        "word": [w for w, _ in pairs],
        "cosine": [round(float(s), 4) for _, s in pairs],
        "count": [emb.count(w) for w, _ in pairs],
    }


def neighbours_table(emb: Any, word: str, k: int = 10) -> dict[str, list]:
    """The `k` nearest words to `word`: rank, word, cosine, corpus count."""
    return _table(emb, emb.most_similar(word, k=k))


def with_study_agreement(table: dict[str, list], run_name: str, word: str, k: int) -> dict:
    """The table with a "runs that agree" column ("4 of 5") when the run belongs to a stability
    study with finished runs; unchanged otherwise."""
    from w2v_ui import stability_view

    agree = stability_view.runs_that_agree(run_name, word, table["word"], k)
    return table if agree is None else {**table, "agree": agree}


def analogy_table(emb: Any, a: str, b: str, c: str, k: int = 10) -> dict[str, list]:
    """'a is to b as c is to ?' answers, best first."""
    return _table(emb, emb.analogy(a, b, c, k=k))


RARE_COUNT = 20  # a word seen fewer times than this has a vector word2vec could barely learn
SMALL_CORPUS_TOKENS = 1_000_000  # Mikolov et al.'s analogies needed corpora of a billion words
SUSPICIOUS_SIMILARITY = 0.9  # on a small corpus, an answer this close is more noise than meaning


def analogy_caveat(emb: Any, words: list[str], table: dict[str, list]) -> str | None:
    """A plain warning when an analogy's answer rests on too little evidence, else None: one of the
    three words or the best answer seen fewer than `RARE_COUNT` times, or a best similarity above
    `SUSPICIOUS_SIMILARITY` on a corpus under `SMALL_CORPUS_TOKENS` words."""
    if emb.counts is None or not table["word"]:
        return None
    best, similarity = table["word"][0], table["cosine"][0]
    rare = [(w, emb.count(w)) for w in dict.fromkeys([*words, best]) if emb.count(w) < RARE_COUNT]
    tokens = int(emb.counts.sum())
    parts = []
    if rare:
        seen = ", ".join(f"'{shown_word(w)}' ({n:,} time{'s' if n != 1 else ''})" for w, n in rare)
        parts.append(
            f"{seen} {'is' if len(rare) == 1 else 'are'} in the corpus fewer than {RARE_COUNT} "
            "times: too few for word2vec to learn what a word means."
        )
    if similarity >= SUSPICIOUS_SIMILARITY and tokens < SMALL_CORPUS_TOKENS:
        parts.append(
            f"A similarity of {similarity:.2f} on a corpus of only {tokens:,} words says more "
            "about how alike the vectors still are than about the words."
        )
    if not parts:
        return None
    return (
        "Take this answer with caution. "
        + " ".join(parts)
        + " Analogies such as man : king :: woman : queen need corpora of many millions of words."
    )


def split_words(text: str) -> list[str]:
    """Words typed in a box, split on spaces and commas; duplicates dropped, order kept."""
    return list(dict.fromkeys(w for w in re.split(r"[\s,;]+", text or "") if w))


def similarity_words(value: float) -> str:
    """A hedged plain reading of a cosine similarity."""
    if value >= 0.7:
        reading = "very similar: used in nearly the same contexts"
    elif value >= 0.4:
        reading = "clearly related"
    elif value >= 0.15:
        reading = "weakly related"
    else:
        reading = "unrelated in this corpus"
    return f"{reading}. Scales differ between runs, so compare values within one run."


def example_words(emb: Any, n: int = 6, start: int = 30, stop: int = 400) -> list[str]:
    """A few frequent but not top words made of letters: good first queries for a new person.

    English function words ("could", "would") are skipped when the vocabulary still has them: their
    neighbours say little about the corpus.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [
        w
        for w in emb.words[start:stop]
        if w.isalpha() and len(w) >= 4 and w.lower() not in ENGLISH_STOP_WORDS
    ]
    if len(words) < n:
        words = [w for w in emb.words[:stop] if w.isalpha()] or list(emb.words[:stop])
    step = max(len(words) // n, 1)
    return words[::step][:n]


UNTRAINED_ALIGNMENT = 0.98  # above this, words barely differ in direction (see `alignment`)


def alignment(emb: Any, n: int = 500) -> float:
    """Length of the mean of the `n` most frequent words' unit vectors: 0 = spread out, 1 = all one way.

    Early in training (and after too few epochs on a small corpus) word2vec vectors share one
    dominant direction, so every cosine is close to 1 and neighbour lists are mostly noise.
    """
    import numpy as np

    unit = emb.unit_vectors[:n]  # (n, D)
    return float(np.linalg.norm(unit.mean(axis=0))) if len(unit) else 0.0


def undertrained_warning(emb: Any) -> str | None:
    """A plain warning when the vectors are too alike to mean much, else None."""
    if alignment(emb) < UNTRAINED_ALIGNMENT:
        return None
    return (
        "These vectors are barely trained: almost every word points the same way, so all cosine "
        "similarities are close to 1 and neighbour lists are mostly noise. This is normal after "
        "one or two epochs on a small corpus; train more epochs (the Quick demo preset does)."
    )
