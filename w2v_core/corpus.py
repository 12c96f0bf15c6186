"""Encoded corpus: every document's token ids in one flat array, plus document offsets.

Owns: turning token lists into ids (`encode_documents`), reading a plain-text corpus file (one document
per line, tokens separated by whitespace), and saving/loading the encoded form (`corpus.npz`, plain
arrays, never pickled). Document `i` is `token_ids[doc_offsets[i]:doc_offsets[i + 1]]`; training
windows never cross these boundaries. `source_rows[i]` is the row of the original data set that
document `i` came from, so labels and metadata stay aligned after empty documents are dropped.
Leaves out: tokenisation and filtering (`w2v_core.preprocess`), and pair generation
(`w2v_core.sampling`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2v_core.errors import CorpusError
from w2v_core.io_utils import atomic_write
from w2v_core.vocab import Vocabulary


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


def encode_documents(
    documents: Iterable[Sequence[str]], vocab: Vocabulary, keep_empty: bool = False
) -> EncodedCorpus:
    """Map tokens to ids, dropping tokens not in `vocab`.

    Documents left with fewer than two tokens cannot give a training pair and are dropped unless
    `keep_empty` is true; `source_rows` remembers where each kept document came from.
    """
    lookup = vocab.get_id
    chunks: list[np.ndarray] = []
    lengths: list[int] = []
    rows: list[int] = []
    for row, tokens in enumerate(documents):
        ids = np.fromiter((i for i in map(lookup, tokens) if i >= 0), dtype=np.int32)
        if len(ids) < 2 and not keep_empty:
            continue
        chunks.append(ids)
        lengths.append(len(ids))
        rows.append(row)
    token_ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
    doc_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=doc_offsets[1:])
    return EncodedCorpus(token_ids, doc_offsets, np.asarray(rows, dtype=np.int64))


def read_text_documents(path: str | Path) -> Iterator[list[str]]:
    """Yield the whitespace-separated tokens of each line of a UTF-8 text file.

    Invalid UTF-8 bytes are replaced rather than fatal; a file with NUL bytes is refused as binary.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"Corpus file '{path}' does not exist.")
    with open(path, "rb") as probe:
        if b"\x00" in probe.read(8192):
            raise CorpusError(
                f"'{path.name}' looks like a binary file, not text. "
                "Give a plain-text file with one document per line."
            )
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            yield line.split()


def build_from_text_file(
    path: str | Path, min_count: int = 5, max_vocab_size: int | None = None
) -> tuple[Vocabulary, EncodedCorpus]:
    """Read a plain-text corpus file (one document per line) and encode it, in one pass.

    Each token gets a provisional id in order of first appearance; counting and the final remap to
    vocabulary ids are then numpy operations, so the text is read and looked up only once. The
    result equals `Vocabulary.from_counts` followed by `encode_documents`.
    Raises `CorpusError` with a plain explanation when the file is empty or when no word reaches
    `min_count`.
    """
    provisional: dict[str, int] = {}
    flat = array("i")  # provisional ids of every token, documents back to back
    lengths: list[int] = []
    for tokens in read_text_documents(path):
        flat.extend([provisional.setdefault(token, len(provisional)) for token in tokens])
        lengths.append(len(tokens))
    if not provisional:
        raise CorpusError(f"The corpus file '{Path(path).name}' holds no words.")
    provisional_ids = np.frombuffer(flat, dtype=np.int32)  # (N,)
    counts = np.bincount(provisional_ids, minlength=len(provisional))  # (types,)
    vocab = Vocabulary.from_counts(
        dict(zip(provisional, counts.tolist())), min_count=min_count, max_size=max_vocab_size
    )
    if len(vocab) == 0:
        raise CorpusError(
            f"No word occurs at least min_count={min_count} times (the most frequent occurs "
            f"{int(counts.max())} times). Lower min_count or use a larger corpus."
        )
    to_vocab_id = np.full(len(provisional), -1, dtype=np.int64)  # (types,)
    to_vocab_id[[provisional[word] for word in vocab.words]] = np.arange(len(vocab))
    vocab_ids = to_vocab_id[provisional_ids]  # (N,), -1 for words under the cut-off
    doc_of_token = np.repeat(np.arange(len(lengths)), lengths)  # (N,)
    known = vocab_ids >= 0
    known_per_doc = np.bincount(doc_of_token[known], minlength=len(lengths))  # (D_in,)
    trainable = known_per_doc >= 2  # as encode_documents: fewer than two words give no pair
    keep = known & trainable[doc_of_token]
    doc_offsets = np.zeros(int(trainable.sum()) + 1, dtype=np.int64)
    np.cumsum(known_per_doc[trainable], out=doc_offsets[1:])
    corpus = EncodedCorpus(
        vocab_ids[keep].astype(np.int32),
        doc_offsets,
        np.flatnonzero(trainable).astype(np.int64),
    )
    return vocab, corpus
