"""Embeddings: queries on hand-made vectors whose answers can be worked out on paper, and loading
from run folders built by hand (no trainer involved)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.embeddings import Embeddings, restrict_to_shared, shared_words
from w2v_core.errors import ConfigError, RunFolderError, UnknownWordError
from w2v_core.run_folder import RunFolder
from w2v_core.vocab import Vocabulary

SQRT_HALF = math.sqrt(0.5)


def make_run(path: Path, words: list[str], checkpoints: dict) -> RunFolder:
    """A run folder holding `checkpoints` {epoch: (input (V, D), output (V, D))}, made by hand."""
    vocab = Vocabulary(words, list(range(len(words) + 10, 10, -1)))
    corpus = encode_documents([words], vocab)
    run = RunFolder.create(path, TrainConfig(), vocab, corpus)
    for epoch, (input_vectors, output_vectors) in checkpoints.items():
        tensors = {
            "input": torch.as_tensor(np.asarray(input_vectors, dtype=np.float32)),
            "output": torch.as_tensor(np.asarray(output_vectors, dtype=np.float32)),
        }
        run.save_checkpoint(epoch, tensors, {"epoch": epoch})
    return run


@pytest.fixture()
def compass() -> Embeddings:
    """a = x; b = x + y (45 degrees from a); c = z (90 degrees); d = -x (180 degrees)."""
    vectors = [[1, 0, 0], [1, 1, 0], [0, 0, 2], [-3, 0, 0]]
    return Embeddings(["a", "b", "c", "d"], np.array(vectors), counts=[40, 30, 20, 10])


@pytest.fixture()
def royals() -> Embeddings:
    """Axes: 0 royal, 1 male, 2 female, 3 fruit. king = (royal + male)/sqrt2, queen likewise."""
    s = SQRT_HALF
    vectors = {
        "man": [0, 1, 0, 0],
        "woman": [0, 0, 1, 0],
        "king": [s, s, 0, 0],
        "queen": [s, 0, s, 0],
        "apple": [0, 0, 0, 1],
    }
    return Embeddings(list(vectors), np.array(list(vectors.values())))


# ---- basic access ----------------------------------------------------------------------------------
def test_lookup_len_contains_count(compass: Embeddings) -> None:
    assert len(compass) == 4 and compass.vector_size == 3
    assert "b" in compass and "z" not in compass
    assert compass.index_of("c") == 2
    assert compass.count("b") == 30
    np.testing.assert_array_equal(compass["c"], [0, 0, 2])
    np.testing.assert_allclose(compass.get_vector("c", norm=True), [0, 0, 1])


def test_unit_vectors_are_unit_length_and_zero_rows_stay_zero() -> None:
    emb = Embeddings(["x", "zero"], np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(emb.unit_vectors, [[0.6, 0.8], [0.0, 0.0]])
    assert emb.similarity("x", "zero") == 0.0


def test_vectors_are_copied_and_read_only() -> None:
    source = np.eye(2, dtype=np.float32)
    emb = Embeddings(["x", "y"], source)
    source[0, 0] = 5.0
    assert emb["x"][0] == 1.0
    with pytest.raises(ValueError):
        emb.vectors[0, 0] = 2.0


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="3 words but 2"):
        Embeddings(["a", "b", "c"], np.zeros((2, 4)))


def test_unknown_word_raises_with_suggestion(royals: Embeddings) -> None:
    with pytest.raises(UnknownWordError) as caught:
        royals.most_similar("quen")
    assert caught.value.word == "quen"
    assert "queen" in caught.value.suggestions
    assert "Did you mean: queen" in str(caught.value)
    with pytest.raises(KeyError):  # UnknownWordError is a KeyError, as gensim users expect
        royals["Kingg"]


# ---- queries ---------------------------------------------------------------------------------------
def test_most_similar_order_and_cosines_by_hand(compass: Embeddings) -> None:
    """cos(a, b) = 1/sqrt2, cos(a, c) = 0, cos(a, d) = -1; the query word itself is left out."""
    result = compass.most_similar("a", k=10)
    assert [w for w, _ in result] == ["b", "c", "d"]
    np.testing.assert_allclose([s for _, s in result], [SQRT_HALF, 0.0, -1.0], atol=1e-6)
    assert compass.most_similar("a", k=1) == [("b", pytest.approx(SQRT_HALF))]
    assert compass.most_similar("a", k=0) == []


def test_similarity_by_hand(compass: Embeddings) -> None:
    assert compass.similarity("a", "b") == pytest.approx(SQRT_HALF)
    assert compass.similarity("a", "d") == pytest.approx(-1.0)
    assert compass.similarity("c", "c") == pytest.approx(1.0)


def test_analogy_king_man_woman_is_queen(royals: Embeddings) -> None:
    """q = mean(unit king - unit man + unit woman) = (s, s - 1, 1, 0) / 3 with s = 1/sqrt2.
    cos(q, queen) = (s*s + 1*s) / |(s, s - 1, 1)| = (0.5 + s) / sqrt(0.5 + (1 - s)^2 + 1)."""
    s = SQRT_HALF
    expected = (0.5 + s) / math.sqrt(0.5 + (1 - s) ** 2 + 1)  # = 0.9586
    result = royals.analogy("man", "king", "woman", k=2)
    assert result[0][0] == "queen"
    assert result[0][1] == pytest.approx(expected, abs=1e-6)
    same = royals.most_similar(positive=["king", "woman"], negative=["man"], k=2)
    assert same == result
    assert all(w not in ("king", "woman", "man") for w, _ in result)


def test_most_similar_matches_gensim(royals: Embeddings) -> None:
    kv = royals.to_gensim()
    ours = royals.most_similar(positive=["king", "woman"], negative=["man"], k=2)
    theirs = kv.most_similar(positive=["king", "woman"], negative=["man"], topn=2)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)


def test_most_similar_matches_gensim_on_random_vectors() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    emb = Embeddings(words, rng.standard_normal((300, 16)))
    kv = emb.to_gensim()
    for positive, negative in [(["w1"], []), (["w2", "w3"], ["w4"]), (["w5"], ["w6", "w7"])]:
        ours = emb.most_similar(positive, negative, k=5)
        theirs = kv.most_similar(positive=positive, negative=negative, topn=5)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_restrict_vocab_searches_only_frequent_words(compass: Embeddings) -> None:
    """d = -x: among the 3 most frequent words, c (cos 0) > b (-1/sqrt2) > a (-1)."""
    assert [w for w, _ in compass.most_similar("d", k=5, restrict_vocab=3)] == ["c", "b", "a"]
    result = compass.most_similar("a", k=5, restrict_vocab=2)
    assert [w for w, _ in result] == ["b"]


def test_ties_go_to_the_more_frequent_word() -> None:
    emb = Embeddings(["q", "x", "y"], np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0]]))
    assert [w for w, _ in emb.most_similar("q")] == ["x", "y"]


def test_doesnt_match_picks_the_odd_one_out() -> None:
    vectors = {
        "cat": [1.0, 0.1, 0.0],
        "dog": [0.9, 0.2, 0.0],
        "cow": [1.0, 0.0, 0.1],
        "hammer": [0.0, 0.1, 1.0],
    }
    emb = Embeddings(list(vectors), np.array(list(vectors.values())))
    assert emb.doesnt_match(["cat", "dog", "hammer", "cow"]) == "hammer"
    assert emb.doesnt_match(["cat", "dog", "hammer", "cow"]) == emb.to_gensim().doesnt_match(
        ["cat", "dog", "hammer", "cow"]
    )


def test_similar_by_vector_excludes_nothing(compass: Embeddings) -> None:
    result = compass.similar_by_vector(np.array([2.0, 0.0, 0.0]), k=2)
    assert result[0] == ("a", pytest.approx(1.0))
    assert result[1] == ("b", pytest.approx(SQRT_HALF))


def test_most_similar_many_equals_one_by_one() -> None:
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(600)]
    emb = Embeddings(words, rng.standard_normal((600, 8)))
    chosen = words[:300] + ["w0"]  # more than one batch, and a duplicate
    many = emb.most_similar_many(chosen, k=4)
    assert list(many) == words[:300]
    for word in ("w0", "w150", "w299"):
        one = emb.most_similar(word, k=4)
        assert [w for w, _ in many[word]] == [w for w, _ in one]
        np.testing.assert_allclose([s for _, s in many[word]], [s for _, s in one], atol=1e-6)


# ---- restriction and gensim --------------------------------------------------------------------------
def test_restrict_and_shared_vocabulary(compass: Embeddings) -> None:
    other = Embeddings(["d", "x", "a"], np.ones((3, 3)), counts=[1, 2, 3])
    assert shared_words(compass, other) == ["a", "d"]
    a, b = restrict_to_shared(compass, other)
    assert a.words == b.words == ["a", "d"]
    np.testing.assert_array_equal(a["d"], [-3, 0, 0])
    assert a.count("d") == 10 and b.count("d") == 1
    with pytest.raises(UnknownWordError):
        compass.restrict(["a", "nope"])


def test_restrict_to_shared_without_common_words_is_a_clear_error(compass: Embeddings) -> None:
    with pytest.raises(ConfigError, match="no word in common"):
        restrict_to_shared(compass, Embeddings(["zz"], np.ones((1, 3))))


def test_to_gensim_keeps_order_vectors_and_counts(compass: Embeddings) -> None:
    kv = compass.to_gensim()
    assert kv.index_to_key == compass.words
    np.testing.assert_array_equal(kv.vectors, compass.vectors)
    assert kv.get_vecattr("b", "count") == 30


# ---- loading from a run folder -------------------------------------------------------------------------
def test_from_run_reads_input_output_and_average(tmp_path: Path) -> None:
    words = ["the", "cat", "sat"]
    input_vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    output_vectors = -2 * np.ones((3, 2), dtype=np.float32)
    run = make_run(tmp_path / "run", words, {1: (input_vectors, output_vectors)})
    emb = Embeddings.from_run(run.path)
    assert emb.words == words and emb.epoch == 1 and emb.kind == "input"
    assert list(emb.counts) == [13, 12, 11]
    np.testing.assert_array_equal(emb.vectors, input_vectors)
    out = Embeddings.from_run(run, 1, "output")
    np.testing.assert_array_equal(out.vectors, output_vectors)
    average = Embeddings.from_run(run, kind="average")
    np.testing.assert_array_equal(average["sat"], [(4 - 2) / 2, (5 - 2) / 2])


def test_from_run_defaults_to_the_newest_vectors(tmp_path: Path) -> None:
    words = ["a", "b"]
    run = make_run(
        tmp_path / "run",
        words,
        {1: (np.zeros((2, 2)), np.zeros((2, 2))), 2: (np.ones((2, 2)), np.zeros((2, 2)))},
    )
    assert Embeddings.from_run(run).epoch == 2
    assert Embeddings.from_run(run)["a"][0] == 1.0
    # A stop part-way through epoch 3 leaves newer vectors than epoch 2 (the trainer deletes the
    # stopped checkpoint once a later epoch completes, so a stopped checkpoint is always newest).
    run.save_checkpoint("stopped", {"input": 7 * torch.ones(2, 2), "output": torch.zeros(2, 2)}, {})
    assert Embeddings.from_run(run).epoch == "stopped"
    assert Embeddings.from_run(run, 2)["a"][0] == 1.0
    stopped = Embeddings.from_run(run, "stopped")
    assert stopped.epoch == "stopped" and stopped["b"][1] == 7.0


def test_from_run_without_checkpoint_says_training_has_not_finished_an_epoch(
    tmp_path: Path,
) -> None:
    run = make_run(tmp_path / "run", ["a", "b"], {})
    with pytest.raises(RunFolderError, match="has not finished an epoch yet"):
        Embeddings.from_run(run)
    run.set_status("failed", error="The loss became NaN.")
    with pytest.raises(RunFolderError, match="failed before it saved any vectors: The loss"):
        Embeddings.from_run(run)


def test_from_run_missing_epoch_and_bad_kind(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", ["a", "b"], {1: (np.ones((2, 2)), np.ones((2, 2)))})
    with pytest.raises(RunFolderError, match="epochs saved: 1"):
        Embeddings.from_run(run, 3)
    with pytest.raises(ConfigError, match="vector kind"):
        Embeddings.from_run(run, kind="context")  # type: ignore[arg-type]
    with pytest.raises(RunFolderError, match="not a run folder"):
        Embeddings.from_run(tmp_path / "nowhere")
