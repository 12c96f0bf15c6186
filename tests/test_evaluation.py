"""Evaluation: scores on tiny hand-made vectors that can be worked out by hand, and the same numbers
as gensim's evaluators on gensim's bundled benchmark files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError
from w2v_core.evaluation import benchmark_path, evaluate_analogies, evaluate_word_pairs


def at_angle(degrees: float) -> list[float]:
    radians = math.radians(degrees)
    return [math.cos(radians), math.sin(radians)]


@pytest.fixture()
def pairs_file(tmp_path: Path) -> Path:
    """Gold ratings 1..4 for anchor-w1..w4, one pair with an unknown word, a comment line."""
    lines = [
        "# Word 1\tWord 2\tHuman (mean)",
        "Anchor\tw1\t1.0",
        "anchor\tW2\t2.0",
        "ANCHOR\tw3\t3.0",
        "anchor\tw4\t4.0",
        "anchor\tunknown\t5.0",
    ]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def angles() -> Embeddings:
    """anchor at 0 degrees; w1..w4 at 80, 20, 50, 5 degrees, so cosines rank w1 < w3 < w2 < w4."""
    words = ["anchor", "w1", "w2", "w3", "w4"]
    return Embeddings(words, np.array([at_angle(a) for a in (0, 80, 20, 50, 5)]))


def test_word_pairs_spearman_by_hand(angles: Embeddings, pairs_file: Path) -> None:
    """Gold ranks 1 2 3 4, model ranks 1 3 2 4: d = (0, -1, 1, 0), so
    rho = 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / (4 * 15) = 0.8.
    Mixed case in the file matches the lowercase vocabulary; the unknown pair is skipped."""
    result = evaluate_word_pairs(angles, "wordsim353", path=pairs_file)
    assert result.spearman == pytest.approx(0.8)
    assert result.pairs_used == 4 and result.pairs_total == 5
    assert result.oov_share == pytest.approx(0.2)
    cosines = [math.cos(math.radians(a)) for a in (80, 20, 50, 5)]
    assert result.pearson == pytest.approx(stats.pearsonr([1, 2, 3, 4], cosines).statistic)
    assert "Spearman 0.800 on 4 of 5 pairs (20% with unknown words)" in result.summary()


def test_word_pairs_on_bundled_wordsim_equal_gensim_and_scipy() -> None:
    """Random vectors for the words of the first 40 pairs; every pair of the file whose two words
    are known counts (later pairs reuse some of these words)."""
    path = benchmark_path("wordsim353.tsv")
    lines = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    all_pairs = [(a.lower(), b.lower(), float(score)) for a, b, score in lines]
    words = list(dict.fromkeys(w for a, b, _ in all_pairs[:40] for w in (a, b)))
    emb = Embeddings(words, np.random.default_rng(3).standard_normal((len(words), 10)))
    known = [(a, b, score) for a, b, score in all_pairs if a in emb and b in emb]

    result = evaluate_word_pairs(emb, "wordsim353")
    expected_rho = stats.spearmanr(
        [score for _, _, score in known], [emb.similarity(a, b) for a, b, _ in known]
    ).statistic
    pearson, spearman, oov_percent = emb.to_gensim().evaluate_word_pairs(str(path))
    assert result.spearman == pytest.approx(expected_rho, abs=1e-6)
    assert result.spearman == pytest.approx(spearman.statistic, abs=1e-12)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-12)
    assert result.pairs_total == 353
    assert result.pairs_used == len(known) >= 40
    assert result.oov_share == pytest.approx(oov_percent / 100)
    assert result.oov_share == pytest.approx(1 - len(known) / 353)


def test_word_pairs_with_too_few_known_pairs_gives_no_score() -> None:
    emb = Embeddings(["tiger", "cat", "zebra"], np.eye(3))
    result = evaluate_word_pairs(emb, "simlex999")
    assert result.spearman is None and result.pearson is None
    assert result.pairs_used < 3 and result.pairs_total == 999
    assert "n/a" in result.summary()


def test_unknown_pair_dataset_is_a_clear_error(angles: Embeddings) -> None:
    with pytest.raises(ConfigError, match="wordsim353 or simlex999"):
        evaluate_word_pairs(angles, "men3000")  # type: ignore[arg-type]


@pytest.fixture()
def royals() -> Embeddings:
    s = math.sqrt(0.5)
    vectors = {
        "man": [0, 1, 0, 0],
        "woman": [0, 0, 1, 0],
        "king": [s, s, 0, 0],
        "queen": [s, 0, s, 0],
        "apple": [0, 0, 0, 1],
    }
    return Embeddings(list(vectors), np.array(list(vectors.values())))


def test_analogies_by_hand(royals: Embeddings, tmp_path: Path) -> None:
    """man:king :: woman:queen is right; expecting apple there is wrong (queen wins); a question
    with an unknown word is skipped, not counted wrong."""
    path = tmp_path / "questions.txt"
    path.write_text(
        ": family\nman king woman queen\nMan King Woman Apple\n: other\nman woman king kingdom\n",
        encoding="utf-8",
    )
    result = evaluate_analogies(royals, path=path)
    assert (result.correct, result.attempted, result.questions_total) == (1, 2, 3)
    assert result.accuracy == pytest.approx(0.5)
    assert result.oov_share == pytest.approx(1 / 3)
    assert [(s.name, s.correct, s.incorrect) for s in result.sections] == [
        ("family", 1, 1),
        ("other", 0, 0),
    ]
    assert result.sections[1].accuracy is None


def test_analogies_on_bundled_questions_with_planted_capitals() -> None:
    """capital_i = e_i, country_i = (e_i + c) / sqrt2 with one shared "country" axis c: every
    capital-country question among these words is answered right (3CosAdd gives the right country
    cosine 1.207 / |q| against 0.5 / |q| for the others)."""
    pairs = [
        ("athens", "greece"),
        ("baghdad", "iraq"),
        ("bangkok", "thailand"),
        ("berlin", "germany"),
    ]
    dim = len(pairs) + 1
    words, rows = [], []
    for i, (capital, country) in enumerate(pairs):
        e = np.eye(dim)[i]
        words += [capital, country]
        rows += [e, (e + np.eye(dim)[-1]) / math.sqrt(2)]
    emb = Embeddings(words, np.array(rows))

    path = benchmark_path("questions-words.txt")
    known = {w.upper() for w in words}
    lines = path.read_text().splitlines()
    expected_attempted = sum(
        1 for line in lines if not line.startswith(":") and set(line.upper().split()) <= known
    )
    result = evaluate_analogies(emb)
    assert expected_attempted > 0
    assert result.attempted == expected_attempted
    assert result.accuracy == 1.0
    assert result.questions_total == 19544
    score, _ = emb.to_gensim().evaluate_word_analogies(str(path), restrict_vocab=30_000)
    assert result.accuracy == score
    assert {s.name for s in result.sections if s.attempted} <= {
        "capital-common-countries",
        "capital-world",
    }


def test_analogies_restrict_vocab_skips_rare_words(royals: Embeddings, tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text(": family\nman king woman queen\n", encoding="utf-8")
    result = evaluate_analogies(royals, restrict_vocab=3, path=path)  # queen is 4th
    assert result.attempted == 0 and result.accuracy is None
    assert result.oov_share == 1.0
