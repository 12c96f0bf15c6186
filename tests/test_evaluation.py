"""Evaluation: scores on tiny hand-made vectors that can be worked out by hand, and the same numbers
as gensim's evaluators on gensim's bundled benchmark files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from w2v_core import evaluation
from w2v_core import trainer as trainer_module
from w2v_core.config import TrainConfig
from w2v_core.corpus import build_from_text_file, encode_documents
from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError
from w2v_core.evaluation import (
    EPOCH_ANALOGY_VOCAB,
    EvaluationFileError,
    benchmark_path,
    evaluate_analogies,
    evaluate_checkpoint,
    evaluate_missing,
    evaluate_user_test,
    evaluate_word_pairs,
    missing_evaluations,
    read_test_file,
    stored_evaluations,
)
from w2v_core.run_folder import STOPPED, RunFolder
from w2v_core.trainer import train
from w2v_core.vocab import Vocabulary


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


# ---- scores of every checkpoint, stored in the run folder ----------------------------------------


def benchmark_words(n_pairs: int = 60) -> list[str]:
    """Words of the first WordSim-353 pairs and of the first capital-country analogies."""
    lines = [
        line.split("\t")
        for line in benchmark_path("wordsim353.tsv").read_text().splitlines()
        if not line.startswith("#")
    ]
    words = [w.lower() for a, b, _ in lines[:n_pairs] for w in (a, b)]
    words += ["athens", "greece", "baghdad", "iraq", "bangkok", "thailand", "berlin", "germany"]
    return list(dict.fromkeys(words))


def run_with_vectors(root: Path, words: list[str], epochs: int = 2, dim: int = 12) -> RunFolder:
    """A run folder whose checkpoints hold random vectors (a different draw each epoch)."""
    import torch

    vocab = Vocabulary(words, list(range(10 * len(words), 0, -10)))
    run = RunFolder.create(
        root / "run", TrainConfig(dim=dim, epochs=epochs), vocab, encode_documents([words], vocab)
    )
    for epoch in range(1, epochs + 1):
        vectors = np.random.default_rng(epoch).standard_normal((len(words), dim)).astype("float32")
        tensors = {"input": torch.from_numpy(vectors), "output": torch.from_numpy(-vectors)}
        run.save_checkpoint(epoch, tensors, {"epoch": epoch, "complete": True})
    run.update(epochs_completed=epochs)
    return run


def test_stored_scores_equal_gensims_own_on_the_same_vectors(tmp_path: Path) -> None:
    run = run_with_vectors(tmp_path, benchmark_words())
    evaluate_missing(run)
    records = stored_evaluations(run)
    assert [r.epoch for r in records] == [1, 2]
    for record in records:
        kv = Embeddings.from_run(run, record.epoch).to_gensim()
        pearson, spearman, _ = kv.evaluate_word_pairs(str(benchmark_path("wordsim353.tsv")))
        assert record.wordsim353.spearman == pytest.approx(spearman.statistic, abs=1e-12)
        assert record.wordsim353.pearson == pytest.approx(pearson.statistic, abs=1e-12)
        accuracy, _ = kv.evaluate_word_analogies(
            str(benchmark_path("questions-words.txt")), restrict_vocab=EPOCH_ANALOGY_VOCAB
        )
        assert record.analogies.attempted > 0
        assert record.analogies.accuracy == accuracy
        assert record.kind == "input" and record.error is None and record.seconds > 0
    assert records[0].wordsim353.spearman != records[1].wordsim353.spearman  # really per epoch
    assert missing_evaluations(run) == []


def test_coverage_counts_on_a_tiny_vocabulary(tmp_path: Path) -> None:
    """WordSim-353 opens with love-sex, tiger-cat, tiger-tiger and has no other pair of these four
    words; SimLex-999 has none of them."""
    emb = Embeddings(["love", "sex", "tiger", "cat"], np.random.default_rng(0).normal(size=(4, 3)))
    wordsim = evaluate_word_pairs(emb, "wordsim353")
    assert (wordsim.pairs_used, wordsim.pairs_total) == (3, 353)
    assert wordsim.coverage == "3 of 353 pairs; 350 skipped: a word is not in the vocabulary"
    assert wordsim.spearman is not None and wordsim.message is None
    restricted = evaluate_word_pairs(emb, "wordsim353", restrict_vocab=3)  # cat is 4th: 2 left
    assert restricted.coverage == (
        "2 of 353 pairs; 351 skipped: a word is not among the 3 most frequent words of the "
        "vocabulary"
    )
    simlex = evaluate_word_pairs(emb, "simlex999")
    assert simlex.coverage == "0 of 999 pairs; 999 skipped: a word is not in the vocabulary"


def test_no_overlap_gives_a_message_not_nan(tmp_path: Path) -> None:
    run = run_with_vectors(tmp_path, ["zorblat", "quuxite", "frobnic", "glemph"], epochs=1)
    (record,) = evaluate_missing(run)
    for name, result in record.benchmarks():
        assert result is not None and result.message, name
    assert record.wordsim353.spearman is None and record.simlex999.spearman is None
    assert record.analogies.accuracy is None
    assert "No pair of WordSim-353 has both words" in record.wordsim353.message
    assert "No analogy question has all four words" in record.analogies.message
    text = run.evaluation_json.read_text()
    assert "NaN" not in text and "null" in text


def test_equal_human_scores_give_a_message_not_nan(angles: Embeddings, tmp_path: Path) -> None:
    """Four known pairs all rated 5: Spearman's rho is undefined (scipy gives NaN)."""
    path = tmp_path / "same.tsv"
    path.write_text("".join(f"anchor\tw{i}\t5\n" for i in range(1, 5)), encoding="utf-8")
    result = evaluate_word_pairs(angles, path=path)
    assert result.pairs_used == 4 and result.spearman is None
    assert "give no rank correlation" in result.message


def test_the_trainer_stores_an_evaluation_per_epoch(
    tmp_path: Path, lee_corpus_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainer_module, "EVALUATION_SHARE", float("inf"))  # no time budget
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=5)
    config = TrainConfig(dim=16, epochs=3, threads=1, keep_every=2)
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    train(config, vocab, corpus, run=run)
    records = stored_evaluations(run)
    assert run.saved_epochs() == [2, 3]  # epoch 1's vectors were pruned, its scores kept
    assert [r.epoch for r in records] == [1, 2, 3]
    for record in records:
        assert record.error is None and record.wordsim353.pairs_used > 0
    for record in records[1:]:
        again = evaluate_word_pairs(Embeddings.from_run(run, record.epoch), "wordsim353")
        assert record.wordsim353.spearman == pytest.approx(again.spearman, abs=1e-12)
    assert missing_evaluations(run) == []


def test_evaluations_keep_to_their_share_of_the_training_time(
    tmp_path: Path, lee_corpus_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no time for evaluations, the first epoch (nothing spent yet) and the last are scored;
    the others are left for the Evaluate page's "compute the missing epochs"."""
    monkeypatch.setattr(trainer_module, "EVALUATION_SHARE", 0.0)
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=5)
    config = TrainConfig(dim=8, epochs=4, threads=1)
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    train(config, vocab, corpus, run=run)
    assert [r.epoch for r in stored_evaluations(run)] == [1, 4]
    assert missing_evaluations(run) == [2, 3]


def test_an_evaluation_error_is_recorded_and_training_finishes(
    tmp_path: Path, lee_corpus_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("benchmark file unreadable")

    monkeypatch.setattr(evaluation, "evaluate_embeddings", broken)
    vocab, corpus = build_from_text_file(lee_corpus_path, min_count=5)
    config = TrainConfig(dim=8, epochs=2, threads=1)
    run = RunFolder.create(tmp_path / "run", config, vocab, corpus)
    assert train(config, vocab, corpus, run=run).status == "finished"
    assert run.written_status().value == "finished"
    records = stored_evaluations(run)
    assert [r.epoch for r in records] == [1, 2]
    assert all("benchmark file unreadable" in r.error for r in records)
    assert missing_evaluations(run) == [1, 2]  # failed ones are computed again on demand
    monkeypatch.undo()
    evaluate_missing(run)
    assert [r.error for r in stored_evaluations(run)] == [None, None]


def test_a_damaged_file_counts_as_missing_and_is_recomputed(tmp_path: Path) -> None:
    run = run_with_vectors(tmp_path, benchmark_words(20))
    evaluate_missing(run)
    run.evaluation_json.write_text('{"format_version": 1, "checkpoints": {"epoch_0', "utf-8")
    assert stored_evaluations(run) == [] and missing_evaluations(run) == [1, 2]
    evaluate_missing(run)
    assert [r.epoch for r in stored_evaluations(run)] == [1, 2]
    # one damaged entry: only that checkpoint is missing
    values = json.loads(run.evaluation_json.read_text())
    values["checkpoints"]["epoch_001"]["input"]["position"] = "not a number"
    run.evaluation_json.write_text(json.dumps(values), "utf-8")
    assert missing_evaluations(run) == [1]


def test_a_rewritten_stopped_checkpoint_drops_its_old_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import w2v_core.run_folder as run_folder

    run = run_with_vectors(tmp_path, benchmark_words(20), epochs=1)
    tensors = run.load_checkpoint(1)
    meta = {"epoch": 2, "complete": False, "epoch_fraction": 0.25}
    monkeypatch.setattr(run_folder, "now_iso", lambda: "2026-01-01T00:00:00+00:00")
    run.save_checkpoint(STOPPED, tensors, meta)
    record = evaluate_checkpoint(run, STOPPED)
    assert record.position == pytest.approx(1.25)
    assert [r.epoch for r in stored_evaluations(run)] == [STOPPED]  # epoch 1 not evaluated yet
    monkeypatch.setattr(run_folder, "now_iso", lambda: "2026-01-01T00:05:00+00:00")
    run.save_checkpoint(STOPPED, {k: torch.zeros_like(v) for k, v in tensors.items()}, meta)
    assert stored_evaluations(run) == []
    assert missing_evaluations(run) == [1, STOPPED]


# ---- the user's own test files ----------------------------------------------------------------------
def test_a_pair_file_with_bad_lines_reports_them_and_uses_the_rest(angles: Embeddings) -> None:
    """Lines 2 (tab), 3 (comma) and 5 (spaces) are pairs; 1 is a header, 4 has no number, 6 has
    two fields, 7 is a comment, 8 is empty, 9 is not UTF-8; 10 is a pair with an unknown word."""
    data = (
        b"word1,word2,score\n"
        b"anchor\tw1\t1\n"
        b"Anchor, w2, 2.0\n"
        b"anchor w3 many\n"
        b"anchor   w4   4\n"
        b"anchor w3\n"
        b"# my comment\n"
        b"\n"
        b"anchor \xff\xfe 3\n"
        b"anchor unknown 9\n"
    )
    test = read_test_file(data, "pairs", name="mine.csv")
    assert [(b.number, b.reason) for b in test.bad_lines] == [
        (1, "'score' is not a number"),
        (4, "'many' is not a number"),
        (6, "expected two words and a number, found 2 field(s)"),
        (9, "not UTF-8 text"),
    ]
    assert test.items == 4
    result = evaluate_user_test(angles, test)
    assert result.dataset == "mine.csv"
    assert (result.pairs_used, result.pairs_total) == (3, 4)
    assert result.coverage == "3 of 4 pairs; 1 skipped: a word is not in the vocabulary"
    # anchor-w1, w2, w4 rated 1, 2, 4; cosines rank w1 < w2 < w4 too: rho = 1
    assert result.spearman == pytest.approx(1.0)


def test_an_analogy_file_with_or_without_sections(royals: Embeddings) -> None:
    plain = read_test_file(
        "man king woman queen\nman king woman\nman,king,woman,apple\n", "analogies"
    )
    assert [(b.number, b.reason) for b in plain.bad_lines] == [
        (2, "expected four words (a b c d), found 3")
    ]
    result = evaluate_user_test(royals, plain)
    assert (result.correct, result.attempted, result.questions_total) == (1, 2, 2)
    sectioned = read_test_file(
        ": family\nman king woman queen\n:\nman woman king queen\n", "analogies"
    )
    result = evaluate_user_test(royals, sectioned)
    assert [s.name for s in result.sections] == ["family", "section at line 3"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "has no usable line: each line should hold two words and a number"),
        (b"# only a comment\nfoo bar\n", "(line 2: expected two words and a number, found 2"),
        (b"a b 1\n" * (evaluation.MAX_TEST_FILE_BYTES // 6 + 1), "may be at most 5 MB"),
    ],
    ids=["empty", "no-usable-line", "too-large"],
)
def test_an_unusable_pair_file_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(EvaluationFileError, match=re.escape(message)):
        read_test_file(data, "pairs", name="bad.txt")
