"""Encoded corpus: every document's token ids in one flat array, plus document offsets.

Owns: the one encoder every corpus goes through (`provisional_ids` -> `vocabulary_from_tokens` ->
`encode_tokens`; used by the preprocessing pipeline, plain-text corpus files and `encode_documents`),
reading a plain-text corpus file (one document per line, tokens separated by whitespace), and
saving/loading the encoded form (`corpus.npz`, plain arrays, never pickled). Document `i` is `token_ids[doc_offsets[i]:doc_offsets[i + 1]]`; training
windows never cross these boundaries. `source_rows[i]` is the row of the original data set that
document `i` came from, so labels and metadata stay aligned after empty documents are dropped.
Leaves out: tokenisation and filtering (`w2v_core.preprocess`), and pair generation
(`w2v_core.sampling`).
"""

from __future__ import annotations

import codecs
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2v_core.errors import CorpusError
from w2v_core.io_utils import atomic_write
from w2v_core.vocab import Vocabulary

# Corpus sizes (tokens after preprocessing) where advice changes; the one home for them.
TINY_CORPUS_TOKENS = 50_000  # training defaults: 20 epochs, at most 50 dimensions
NOISY_CORPUS_TOKENS = 100_000  # preprocessing warns: expect neighbours that change run to run
SMALL_CORPUS_TOKENS = 300_000  # training defaults: 10 epochs


@dataclass(frozen=True)
class EncodedCorpus:
    """Token ids of all documents back to back. Out-of-vocabulary tokens are already dropped."""

    token_ids: np.ndarray  # (N,) int32, ids into the vocabulary
    doc_offsets: (
        np.ndarray
    )  # (D + 1,) int64, doc i spans token_ids[doc_offsets[i]:doc_offsets[i+1]]
    source_rows: np.ndarray  # (D,) int64, row of the original data set for each document

    def __post_init__(self) -> None:
        if self.doc_offsets.ndim != 1 or len(self.doc_offsets) != len(self.source_rows) + 1:
            raise ValueError("doc_offsets must have one more entry than source_rows")
        if len(self.doc_offsets) and int(self.doc_offsets[-1]) != len(self.token_ids):
            raise ValueError("the last document offset must equal the number of tokens")

    @property
    def n_tokens(self) -> int:
        return int(len(self.token_ids))

    @property
    def n_documents(self) -> int:
        return int(len(self.source_rows))

    def document(self, i: int) -> np.ndarray:
        return self.token_ids[self.doc_offsets[i] : self.doc_offsets[i + 1]]

    def iter_documents(self) -> Iterator[np.ndarray]:
        for i in range(self.n_documents):
            yield self.document(i)

    def decode(self, vocab: Vocabulary, i: int) -> list[str]:
        """Words of document `i` (for previews and tests)."""
        return [vocab.words[t] for t in self.document(i)]

    def word_counts(self, vocab_size: int) -> np.ndarray:
        """How often each id occurs in this corpus, (V,) int64."""
        return np.bincount(self.token_ids, minlength=vocab_size).astype(np.int64)

    # ---- persistence (plain arrays, never pickled) ----------------------------------------------
    def save(self, path: str | Path) -> None:
        def write(temp: Path) -> None:
            with open(temp, "wb") as handle:
                np.savez(
                    handle,
                    token_ids=self.token_ids,
                    doc_offsets=self.doc_offsets,
                    source_rows=self.source_rows,
                )

        atomic_write(Path(path), write)

    @classmethod
    def load(cls, path: str | Path) -> EncodedCorpus:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                token_ids=arrays["token_ids"].astype(np.int32, copy=False),
                doc_offsets=arrays["doc_offsets"].astype(np.int64, copy=False),
                source_rows=arrays["source_rows"].astype(np.int64, copy=False),
            )


# ---- the one encoder ---------------------------------------------------------------------------------
# Every corpus (the preprocessing pipeline, plain-text corpus files, lists of token lists) is encoded
# the same way: each distinct token gets a provisional id in order of first appearance, counting and
# the remap to vocabulary ids are numpy operations, and `encode_tokens` applies the rules below.
def provisional_ids(
    documents: Iterable[Sequence[str]],
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(distinct tokens in first-seen order, (N,) int32 ids into them, (D,) int64 tokens per doc).

    One dictionary look-up per token, done in C: the hot loop of reading any corpus.
    """
    index: defaultdict[str, int] = defaultdict()
    index.default_factory = index.__len__  # a new token gets the next id
    lookup = index.__getitem__
    ids = array("i")
    lengths = array("q")
    for tokens in documents:
        lengths.append(len(tokens))
        ids.extend(map(lookup, tokens))
    return (
        list(index),
        np.frombuffer(ids, dtype=np.int32) if len(ids) else np.zeros(0, np.int32),
        np.frombuffer(lengths, dtype=np.int64) if len(lengths) else np.zeros(0, np.int64),
    )


def vocabulary_from_tokens(
    words: Sequence[str], counts: np.ndarray, min_count: int, max_vocab_size: int | None
) -> Vocabulary:
    """`Vocabulary.from_counts` over (word, count) pairs; `CorpusError` when no word is left."""
    vocab = Vocabulary.from_counts(
        dict(zip(words, counts.tolist(), strict=True)), min_count=min_count, max_size=max_vocab_size
    )
    if len(vocab) == 0:
        most = int(counts.max()) if len(counts) else 0
        raise CorpusError(
            f"No word occurs at least min_count={min_count} times (the most frequent occurs "
            f"{most} times). Lower min_count or use more text."
        )
    return vocab


def encode_tokens(
    words: Sequence[str],
    token_ids: np.ndarray,
    doc_lengths: np.ndarray,
    vocab: Vocabulary,
    keep_empty: bool = False,
) -> EncodedCorpus:
    """Encode documents given as provisional ids into `words` (see `provisional_ids`).

    The rules of every corpus: tokens not in `vocab` are dropped; documents left with fewer than two
    tokens cannot give a training pair and are dropped unless `keep_empty` is true; `source_rows`
    remembers which input document each kept one is.
    """
    to_vocab = np.fromiter((vocab.get_id(w) for w in words), dtype=np.int64, count=len(words))
    ids = to_vocab[token_ids] if len(token_ids) else np.zeros(0, np.int64)  # (N,), -1: not in vocab
    known = ids >= 0
    doc_of_token = np.repeat(np.arange(len(doc_lengths)), doc_lengths)  # (N,)
    known_per_doc = np.bincount(doc_of_token[known], minlength=len(doc_lengths))  # (D_in,)
    # fewer than two words give no training pair
    kept_docs = np.ones(len(doc_lengths), dtype=bool) if keep_empty else known_per_doc >= 2
    keep = known & kept_docs[doc_of_token]
    doc_offsets = np.zeros(int(kept_docs.sum()) + 1, dtype=np.int64)
    np.cumsum(known_per_doc[kept_docs], out=doc_offsets[1:])
    return EncodedCorpus(
        ids[keep].astype(np.int32), doc_offsets, np.flatnonzero(kept_docs).astype(np.int64)
    )


def encode_documents(
    documents: Iterable[Sequence[str]], vocab: Vocabulary, keep_empty: bool = False
) -> EncodedCorpus:
    """Map each document's tokens to ids with the rules of `encode_tokens`."""
    words, token_ids, doc_lengths = provisional_ids(documents)
    return encode_tokens(words, token_ids, doc_lengths, vocab, keep_empty)


# Byte-order marks, longest first (UTF-32 LE's starts with UTF-16 LE's), and the codec that reads
# past each: a pre-tokenised file saved by Windows Notepad as "Unicode" is UTF-16 with a BOM.
_BOM_CODECS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_text_documents(path: str | Path) -> Iterator[list[str]]:
    """Yield the whitespace-separated tokens of each line of a text file.

    UTF-8, or UTF-16/UTF-32/UTF-8 when the file starts with a byte-order mark. Invalid bytes are
    replaced rather than fatal; a file with NUL bytes and no byte-order mark is refused as binary.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"Corpus file '{path}' does not exist.")
    with open(path, "rb") as probe:
        head = probe.read(8192)
    encoding = next((codec for bom, codec in _BOM_CODECS if head.startswith(bom)), None)
    if encoding is None and b"\x00" in head:
        raise CorpusError(
            f"'{path.name}' looks like a binary file, not text. "
            "Give a plain-text file with one document per line."
        )
    with open(path, encoding=encoding or "utf-8", errors="replace") as handle:
        for line in handle:
            yield line.split()


def build_from_text_file(
    path: str | Path, min_count: int = 5, max_vocab_size: int | None = None
) -> tuple[Vocabulary, EncodedCorpus]:
    """Read a plain-text corpus file (one document per line) and encode it, in one pass.

    The text is read and looked up once (`provisional_ids`); the result equals
    `Vocabulary.from_counts` followed by `encode_documents`.
    Raises `CorpusError` with a plain explanation when the file is empty or when no word reaches
    `min_count`.
    """
    words, token_ids, doc_lengths = provisional_ids(read_text_documents(path))
    if not words:
        raise CorpusError(f"The corpus file '{Path(path).name}' holds no words.")
    counts = np.bincount(token_ids, minlength=len(words))  # (types,)
    vocab = vocabulary_from_tokens(words, counts, min_count, max_vocab_size)
    return vocab, encode_tokens(words, token_ids, doc_lengths, vocab)
