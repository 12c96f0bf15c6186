"""What `preprocess` returns: `PreprocessResult` (vocabulary, encoded corpus, aligned metadata) and
`PreprocessStats` (the numbers, Zipf data and warnings the Preprocess page shows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from w2v_core.corpus import EncodedCorpus
from w2v_core.preprocess.config import PreprocessConfig
from w2v_core.vocab import Vocabulary

if TYPE_CHECKING:
    from w2v_core.sources.dataset import TextDataset


@dataclass
class PreprocessStats:
    """Numbers a person reads on the Preprocess page (all plain ints/floats/str: JSON as is)."""

    n_documents_in: int  # rows of the data set
    n_documents_kept: int  # documents with at least two tokens left (the model trains on these)
    n_tokens_before: int  # words as written (split at whitespace)
    n_tokens_after: int  # tokens in the encoded corpus
    n_types_before: int  # distinct tokens the character filter found (before stopwords, stems...)
    n_types_after: int  # vocabulary size
    share_tokens_kept: float  # n_tokens_after / n_tokens_before
    top_words: list[tuple[str, int]]  # most frequent vocabulary words with counts
    zipf_ranks: list[int]  # ranks (1 = most frequent) of a log-spaced sample of all final words,
    zipf_counts: list[int]  # and their counts: a Zipf plot is counts against ranks, log-log
    stages: list[tuple[str, int]]  # tokens left after each step, in order
    removed: dict[str, int]  # tokens removed, by reason
    warnings: list[str] = field(default_factory=list)  # plain-language advice
    stopword_source: str = "none"  # "nltk" or "none" ("scikit-learn" in runs of before 0.2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PreprocessStats:
        values = dict(values)
        values["top_words"] = [tuple(x) for x in values["top_words"]]
        values["stages"] = [tuple(x) for x in values["stages"]]
        return cls(**values)


@dataclass
class PreprocessResult:
    """What `preprocess` gives: the trainer's inputs plus everything the Preprocess page shows.

    Document `i` of `corpus` came from row `corpus.source_rows[i]` of `dataset`; `metadata` holds that
    row's label/metadata columns, in corpus order.
    """

    vocab: Vocabulary
    corpus: EncodedCorpus
    stats: PreprocessStats
    examples: list[tuple[str, list[str]]]  # (original text, final tokens) for the first rows
    config: PreprocessConfig
    dataset: TextDataset
    from_cache: bool = False
    seconds: float = 0.0
    cache_path: Path | None = None

    @property
    def metadata(self) -> Any:
        """`datasets.Dataset` of the metadata columns, row i <-> corpus document i (None if none)."""
        if not self.dataset.metadata_columns:
            return None
        columns = self.dataset.dataset.select_columns(list(self.dataset.metadata_columns))
        return columns.select(self.corpus.source_rows.tolist())

    def metadata_column(self, name: str) -> list[Any]:
        """One metadata column as a list aligned with the corpus documents."""
        if name not in self.dataset.metadata_columns:
            raise KeyError(
                f"'{name}' is not a metadata column ({', '.join(self.dataset.metadata_columns)})"
            )
        return self.metadata[name]

    def document_text(self, i: int) -> str:
        """The original text of corpus document `i`."""
        return self.dataset.text_at(int(self.corpus.source_rows[i]))

    def documents_with(self, word: str, limit: int = 10) -> list[int]:
        """Indices of corpus documents containing `word` (first `limit`), to show where it is used."""
        word_id = self.vocab.id_of(word)
        positions = np.flatnonzero(self.corpus.token_ids == word_id)
        documents = np.unique(np.searchsorted(self.corpus.doc_offsets, positions, side="right") - 1)
        return documents[:limit].tolist()

    def data_description(self) -> dict[str, Any]:
        """For run.json: where the data came from (with the `DataSpec` that loads it again under
        "spec"), its fingerprint, and how it was preprocessed ("preprocess"): enough to rebuild the
        corpus with `prepare_corpus(DataSpec.from_dict(d["spec"]), PreprocessConfig.from_dict(
        d["preprocess"]), expected_fingerprint=d["fingerprint"])`."""
        return {
            **self.dataset.describe(),
            "preprocess": self.config.to_dict(),
            "stopword_list": self.stats.stopword_source,  # which list "english" really meant
            "n_documents_in": self.stats.n_documents_in,
        }
