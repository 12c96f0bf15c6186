"""Evaluation: how well vectors agree with human judgements, via gensim's own evaluators.

Owns: word-pair similarity (WordSim-353, SimLex-999: Spearman's rho between the model's cosines and
human ratings) and the Google analogy set ("Athens Greece Baghdad ?", 3CosAdd accuracy), both run by
gensim's `KeyedVectors.evaluate_word_pairs` / `evaluate_word_analogies` on `Embeddings.to_gensim()`
with the files bundled inside the gensim package, so our numbers are gensim's numbers.
Leaves out: the queries themselves (`w2v_core.embeddings`).

Case: the benchmark files are mixed case ("Arafat", "FBI", "Athens") and our vocabulary is usually
lowercased. gensim's evaluators (`case_insensitive=True`, kept here) upper-case both the test words
and the model's words, so "Athens" matches "athens"; when a vocabulary keeps several case variants,
the first (most frequent) one is used. Questions with an unknown word are skipped and reported as the
out-of-vocabulary (OOV) share, never counted as wrong.

These benchmarks are English general-language sets: on a small or specialised corpus most pairs are
OOV and the scores say little; report them with the number of pairs used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError

PairDataset = Literal["wordsim353", "simlex999"]
PAIR_FILES: dict[str, str] = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_FILE = "questions-words.txt"
# gensim's default: search (and accept questions within) the 300k most frequent words.
DEFAULT_RESTRICT_VOCAB = 300_000


@dataclass(frozen=True)
class WordPairsResult:
    dataset: str
    spearman: float | None  # rank correlation with the human ratings; None when < 3 pairs known
    pearson: float | None
    pairs_used: int  # pairs with both words in the (restricted) vocabulary
    pairs_total: int  # valid pairs in the file
    oov_share: float  # pairs skipped for an unknown word, 0..1

    def summary(self) -> str:
        rho = "n/a" if self.spearman is None else f"{self.spearman:.3f}"
        return (
            f"{self.dataset}: Spearman {rho} on {self.pairs_used} of {self.pairs_total} pairs "
            f"({self.oov_share:.0%} with unknown words)"
        )


@dataclass(frozen=True)
class AnalogySection:
    name: str  # e.g. "capital-common-countries", "gram3-comparative"
    correct: int
    incorrect: int

    @property
    def attempted(self) -> int:
        return self.correct + self.incorrect

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.attempted if self.attempted else None


@dataclass(frozen=True)
class AnalogyResult:
    accuracy: float | None  # correct / attempted; None when no question had all four words known
    correct: int
    attempted: int  # questions with all four words known
    questions_total: int
    oov_share: float  # questions skipped for an unknown word, 0..1
    sections: list[AnalogySection]  # per section of the file, without gensim's "Total accuracy"

    def summary(self) -> str:
        accuracy = "n/a" if self.accuracy is None else f"{self.accuracy:.1%}"
        return (
            f"Google analogies: {accuracy} correct on {self.attempted} of {self.questions_total} "
            f"questions ({self.oov_share:.0%} with unknown words)"
        )


def benchmark_path(name: str) -> Path:
    """Path of a benchmark file bundled with gensim (`gensim.test.utils.datapath`)."""
    from gensim.test.utils import datapath

    return Path(datapath(name))


def evaluate_word_pairs(
    emb: Embeddings,
    which: PairDataset = "wordsim353",
    *,
    restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
    path: str | Path | None = None,
) -> WordPairsResult:
    """Spearman's rho between cosine similarities and human ratings of word pairs.

    Parameters
    ----------
    emb : Embeddings
    which : {"wordsim353", "simlex999"}
        WordSim-353 rates relatedness (cup-coffee is high); SimLex-999 rates similarity only
        (cup-coffee is low), which word2vec finds harder.
    restrict_vocab : int
        Only the first (most frequent) words count as known.
    path : optional
        A pairs file of the same format (word1<TAB>word2<TAB>score, `#` comments) to use instead.
    """
    if which not in get_args(PairDataset):
        raise ConfigError(f"Unknown word-pair benchmark '{which}': choose wordsim353 or simlex999.")
    pairs_path = Path(path) if path is not None else benchmark_path(PAIR_FILES[which])
    pairs = _read_pairs(pairs_path)
    total = len(pairs)
    known = {word.upper() for word in emb.words[:restrict_vocab]}  # gensim's case-insensitive rule
    used = sum(a in known and b in known for a, b in pairs)
    if used < 3:  # a rank correlation of fewer than three pairs means nothing
        return WordPairsResult(
            which, None, None, used, total, (total - used) / total if total else 0.0
        )
    with _quiet_gensim():
        pearson, spearman, oov_percent = emb.to_gensim().evaluate_word_pairs(
            str(pairs_path), restrict_vocab=restrict_vocab, case_insensitive=True
        )
    oov_share = oov_percent / 100  # gensim's figure; equals (total - used) / total
    return WordPairsResult(
        which, float(spearman.statistic), float(pearson.statistic), used, total, oov_share
    )


def evaluate_analogies(
    emb: Embeddings,
    restrict_vocab: int = 30_000,
    *,
    path: str | Path | None = None,
) -> AnalogyResult:
    """Accuracy on the Google analogy questions (a : b :: c : ?, answered by 3CosAdd).

    Only questions whose four words are all among the `restrict_vocab` most frequent words are
    asked, and the answer is searched among those words too (word2vec's `compute-accuracy` uses
    30,000). Each question is one matrix-vector product over that many words, so a large vocabulary
    takes tens of seconds.
    """
    analogy_path = Path(path) if path is not None else benchmark_path(ANALOGY_FILE)
    with _quiet_gensim():
        _, sections = emb.to_gensim().evaluate_word_analogies(
            str(analogy_path), restrict_vocab=restrict_vocab, case_insensitive=True
        )
    parts = [
        AnalogySection(s["section"], len(s["correct"]), len(s["incorrect"]))
        for s in sections
        if s["section"] != "Total accuracy"
    ]
    correct = sum(part.correct for part in parts)
    attempted = sum(part.attempted for part in parts)
    total = _count_analogy_questions(analogy_path)
    return AnalogyResult(
        accuracy=correct / attempted if attempted else None,
        correct=correct,
        attempted=attempted,
        questions_total=total,
        oov_share=(total - attempted) / total if total else 0.0,
        sections=parts,
    )


# ---- reading the files with gensim's rules ---------------------------------------------------------
def _read_pairs(path: Path) -> list[tuple[str, str]]:
    """Upper-cased word pairs of the valid lines (gensim: skip `#` lines and lines not word, word,
    number)."""
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                continue
            try:
                float(fields[2])
            except ValueError:
                continue
            pairs.append((fields[0].upper(), fields[1].upper()))
    return pairs


def _count_analogy_questions(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if not line.startswith(": ") and len(line.split()) == 4)


class _quiet_gensim:
    """Silence gensim's per-line INFO logging ("Skipping line #12 with OOV words") while it runs."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("gensim.models.keyedvectors")
        self._level = self._logger.level
        self._logger.setLevel(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)
