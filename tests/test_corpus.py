"""Encoded corpus: ids, document offsets, alignment with source rows, files."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_core.corpus import (
    EncodedCorpus,
    build_from_text_file,
    encode_documents,
    encode_tokens,
    provisional_ids,
)
from w2v_core.errors import CorpusError
from w2v_core.vocab import Vocabulary


def test_encoding_drops_unknown_tokens_and_short_documents():
    vocab = Vocabulary(["a", "b", "c"], [3, 2, 1])
    docs = [["a", "x", "b"], ["x"], ["c"], ["b", "c", "a", "y"]]
    corpus = encode_documents(docs, vocab)
    assert corpus.token_ids.tolist() == [0, 1, 1, 2, 0]
    assert corpus.doc_offsets.tolist() == [0, 2, 5]
    # documents 1 and 2 have fewer than two known words: dropped, rows remembered
    assert corpus.source_rows.tolist() == [0, 3]
    assert corpus.decode(vocab, 1) == ["b", "c", "a"]


def test_keep_empty_keeps_every_row():
    vocab = Vocabulary(["a"], [1])
    corpus = encode_documents([["a"], [], ["a", "a"]], vocab, keep_empty=True)
    assert corpus.n_documents == 3
    assert corpus.source_rows.tolist() == [0, 1, 2]


def test_npz_round_trip(tmp_path):
    corpus = EncodedCorpus(
        np.array([1, 2, 3], dtype=np.int32), np.array([0, 1, 3]), np.array([4, 9])
    )
    corpus.save(tmp_path / "corpus.npz")
    loaded = EncodedCorpus.load(tmp_path / "corpus.npz")
    assert loaded.token_ids.tolist() == [1, 2, 3]
    assert loaded.doc_offsets.tolist() == [0, 1, 3]
    assert loaded.source_rows.tolist() == [4, 9]


def test_text_file_builds_vocabulary_and_corpus(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b a\nb a c\n\nc c a\n", encoding="utf-8")
    vocab, corpus = build_from_text_file(path, min_count=2)
    assert vocab.words == ["a", "c", "b"]
    assert corpus.n_documents == 3


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match="holds no words"):
        build_from_text_file(path)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(CorpusError, match="binary"):
        build_from_text_file(path)


def test_invalid_utf8_is_replaced_not_fatal(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"caf\xe9 ok ok\ncaf\xe9 ok\n")
    vocab, _ = build_from_text_file(path, min_count=2)
    assert "ok" in vocab and "caf\ufffd" in vocab


def test_encode_tokens_worked_by_hand():
    """words = [a, x, b, c]; docs (by provisional id) [0 1 2] [1] [3 3 0]; vocab {a: 0, c: 1}.

    doc 0 -> a (x and b unknown): one token, dropped; doc 1 -> nothing, dropped;
    doc 2 -> c c a = ids 1 1 0, kept as the only document, from row 2.
    """
    vocab = Vocabulary(["a", "c"], [2, 2])
    corpus = encode_tokens(
        ["a", "x", "b", "c"], np.array([0, 1, 2, 1, 3, 3, 0]), np.array([3, 1, 3]), vocab
    )
    assert corpus.token_ids.tolist() == [1, 1, 0]
    assert corpus.doc_offsets.tolist() == [0, 3]
    assert corpus.source_rows.tolist() == [2]


def test_provisional_ids_number_tokens_in_first_seen_order():
    words, ids, lengths = provisional_ids([["b", "a", "b"], [], ["c", "a"]])
    assert words == ["b", "a", "c"]
    assert ids.tolist() == [0, 1, 0, 2, 1]
    assert lengths.tolist() == [3, 0, 2]


def test_every_path_encodes_the_same_text_the_same_way(lee_corpus_path, tmp_path):
    """The text-file reader, `encode_documents` and the preprocessing pipeline (splitting at spaces
    only) share one encoder, so the same text gives the same vocabulary and corpus."""
    from w2v_core.preprocess import PreprocessConfig, preprocess
    from w2v_core.sources import load_file

    lines = lee_corpus_path.read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if line.strip()] + ["lonely", "the"]  # one-word docs: dropped
    path = tmp_path / "lee.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    from_file = build_from_text_file(path, min_count=5)
    documents = [line.split() for line in lines]
    vocab = Vocabulary.from_documents(documents, min_count=5)
    from_lists = (vocab, encode_documents(documents, vocab))
    whitespace_only = PreprocessConfig(
        lowercase=False, char_filter="none", max_token_length=None, stopwords_language=None
    )
    result = preprocess(load_file(path), whitespace_only, use_cache=False)
    from_pipeline = (result.vocab, result.corpus)

    for other_vocab, other in (from_lists, from_pipeline):
        assert other_vocab == from_file[0]
        assert np.array_equal(other.token_ids, from_file[1].token_ids)
        assert np.array_equal(other.doc_offsets, from_file[1].doc_offsets)
        assert np.array_equal(other.source_rows, from_file[1].source_rows)
    assert from_file[1].n_documents == len(lines) - 2


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32"])
def test_a_corpus_file_with_a_byte_order_mark_is_read_as_text(tmp_path, encoding) -> None:
    """Windows Notepad saves "Unicode" as UTF-16 with a BOM: NUL bytes, but text, not binary."""
    from w2v_core.corpus import read_text_documents

    path = tmp_path / "corpus.txt"
    path.write_text("très bien merci\nnão sei\n", encoding=encoding)
    assert list(read_text_documents(path)) == [["très", "bien", "merci"], ["não", "sei"]]
