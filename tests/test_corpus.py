"""Encoded corpus: ids, document offsets, alignment with source rows, files."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_core.corpus import EncodedCorpus, build_from_text_file, encode_documents
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
