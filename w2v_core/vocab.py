"""Vocabulary: the words a model knows, their corpus counts and their integer ids.

Owns: counting, the `min_count` / `max_size` cut-off, the id order (most frequent first, ties broken
alphabetically so ids are stable across runs), lookups and the `vocab.tsv` format (word<TAB>count).
Leaves out: tokenisation and filtering (see `w2v_core.preprocess`) and encoding documents into ids
(see `w2v_core.corpus`).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from w2v_core.errors import CorpusError, UnknownWordError
from w2v_core.io_utils import atomic_write_text


class Vocabulary:
    """Words with counts; id 0 is the most frequent word.

    Parameters
    ----------
    words : sequence of str
        Words in id order.
    counts : sequence of int
        Corpus count of each word, same order as `words`.
    """

    def __init__(self, words: Sequence[str], counts: Sequence[int] | np.ndarray) -> None:
        if len(words) != len(counts):
            raise ValueError("words and counts must have the same length")
        self.words: list[str] = list(words)
        self.counts: np.ndarray = np.asarray(counts, dtype=np.int64)
        self._index: dict[str, int] = {word: i for i, word in enumerate(self.words)}
        if len(self._index) != len(self.words):
            raise ValueError("vocabulary words must be unique")

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_counts(
        cls, counts: Mapping[str, int], min_count: int = 5, max_size: int | None = None
    ) -> Vocabulary:
        """Keep words seen at least `min_count` times, the `max_size` most frequent at most."""
        if min_count < 1:
            raise CorpusError("min_count must be at least 1.")
        kept = [(word, count) for word, count in counts.items() if count >= min_count]
        kept.sort(key=lambda item: (-item[1], item[0]))  # most frequent first, stable ties
        if max_size is not None:
            kept = kept[:max_size]
        return cls([w for w, _ in kept], [c for _, c in kept])

    @classmethod
    def from_documents(
        cls, documents: Iterable[Sequence[str]], min_count: int = 5, max_size: int | None = None
    ) -> Vocabulary:
        """Count tokens over `documents` (each a list of tokens) and apply the cut-off."""
        counter: Counter[str] = Counter()
        for tokens in documents:
            counter.update(tokens)
        return cls.from_counts(counter, min_count=min_count, max_size=max_size)

    # ---- lookups ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def get_id(self, word: str, default: int = -1) -> int:
        """Id of `word`, or `default` when unknown (no error: used in hot encoding loops)."""
        return self._index.get(word, default)

    def id_of(self, word: str) -> int:
        """Id of `word`; raises `UnknownWordError` with close suggestions when unknown."""
        try:
            return self._index[word]
        except KeyError:
            raise UnknownWordError(word, self.suggest(word)) from None

    def count_of(self, word: str) -> int:
        return int(self.counts[self.id_of(word)])

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Vocabulary words that look like `word` (prefix matches first, then fuzzy matches)."""
        lowered = word.lower()
        if lowered != word and lowered in self._index:
            return [lowered]
        close = difflib.get_close_matches(lowered, self.words[:50_000], n=n, cutoff=0.75)
        if len(close) < n and len(lowered) >= 3:
            prefixed = [w for w in self.words[:50_000] if w.startswith(lowered[:4])]
            close += [w for w in prefixed if w not in close][: n - len(close)]
        return close[:n]

    @property
    def total_count(self) -> int:
        return int(self.counts.sum())

    # ---- persistence --------------------------------------------------------------------------
    def save_tsv(self, path: str | Path) -> None:
        """Write `word<TAB>count` lines, atomically."""
        lines = [f"{word}\t{int(count)}\n" for word, count in zip(self.words, self.counts)]
        atomic_write_text(Path(path), "".join(lines))

    @classmethod
    def load_tsv(cls, path: str | Path) -> Vocabulary:
        words: list[str] = []
        counts: list[int] = []
        with open(path, encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if not line:
                    continue
                word, sep, count = line.rpartition("\t")
                if not sep:
                    raise CorpusError(f"{path}: line {line_number} is not 'word<TAB>count'.")
                words.append(word)
                counts.append(int(count))
        return cls(words, counts)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and self.words == other.words
            and np.array_equal(self.counts, other.counts)
        )

    def __repr__(self) -> str:
        head = ", ".join(self.words[:5])
        return f"Vocabulary({len(self)} words: {head}{', ...' if len(self) > 5 else ''})"
