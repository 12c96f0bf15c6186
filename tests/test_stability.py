"""Stability studies (w2v_core.stability): hand-checkable cases, the study folder, progress, the CLI.

The hand-made vectors are 2D unit vectors at chosen angles from the word "t", so every cosine is the
cosine of a known angle and every top-k list can be read off the angles:

    run 1: a 10°, b 20°, c 30°, d 120°  -> top 2 of t: {a, b}
    run 2: a 10°, c 20°, b 30°, d 120°  -> top 2 of t: {a, c}
    run 3: b 10°, a 20°, c 40°, d 120°  -> top 2 of t: {a, b}

Jaccard@2 of the pairs: (1,2) = |{a}| / |{a,b,c}| = 1/3, (1,3) = 1, (2,3) = 1/3; mean 5/9.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from app_support import cli, make_run

from w2v_core.compare import jaccard_at_k
from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError, RunFolderError, UnknownWordError, W2VError
from w2v_core.run_folder import RunFolder
from w2v_core.stability import (
    Study,
    agreement_counts,
    bootstrap_corpus,
    bootstrap_documents,
    check_run_count,
    shared_of,
    stability_level,
    study_of,
    study_report,
    study_vectors,
    word_stability,
)
from w2v_core.vocab import Vocabulary

WORDS = ["t", "a", "b", "c", "d"]
ANGLES = {  # degrees from t, per run
    "run-1": {"a": 10, "b": 20, "c": 30, "d": 120},
    "run-2": {"a": 10, "c": 20, "b": 30, "d": 120},
    "run-3": {"b": 10, "a": 20, "c": 40, "d": 120},
}


def angle_embeddings(angles: dict[str, float], words=WORDS) -> Embeddings:
    rows = [[1.0, 0.0] if w == "t" else _unit(angles[w]) for w in words]
    return Embeddings(words, np.array(rows), counts=[50, 40, 30, 20, 10][: len(words)])


def _unit(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


def _cos(degrees: float) -> float:
    return math.cos(math.radians(degrees))


@pytest.fixture
def three_runs():
    return study_vectors([(name, angle_embeddings(a)) for name, a in ANGLES.items()])


# ---- hand-checkable -------------------------------------------------------------------------------
def test_jaccard_of_two_known_neighbour_lists():
    # {a, b, c, d} and {c, d, e, f}: 2 shared of 6 distinct
    assert jaccard_at_k(["a", "b", "c", "d"], ["c", "d", "e", "f"]) == pytest.approx(2 / 6)
    assert jaccard_at_k([("a", 0.9), ("b", 0.8)], ["b", "a"]) == 1.0


def test_word_stability_is_mean_jaccard_over_run_pairs(three_runs):
    result = word_stability(three_runs, "t", k=2)
    assert [j for _, _, j in result.pair_jaccard] == pytest.approx([1 / 3, 1.0, 1 / 3])
    assert result.stability == pytest.approx(5 / 9)
    assert result.n_runs == 3 and result.level == "moderate"


def test_neighbours_across_runs_count_agreement_and_cosine_spread(three_runs):
    rows = {n.word: n for n in word_stability(three_runs, "t", k=2).neighbours}
    assert {w: n.runs for w, n in rows.items()} == {"a": 3, "b": 2, "c": 1}  # d is in no top 2
    cos_a = [_cos(10), _cos(10), _cos(20)]  # over all three runs
    assert rows["a"].mean_cosine == pytest.approx(np.mean(cos_a), abs=1e-6)
    assert rows["a"].std_cosine == pytest.approx(np.std(cos_a), abs=1e-6)
    cos_c = [_cos(30), _cos(20), _cos(40)]  # c counts in one run, but its cosine in all three
    assert rows["c"].mean_cosine == pytest.approx(np.mean(cos_c), abs=1e-6)
    assert [n.word for n in word_stability(three_runs, "t", k=2).neighbours] == ["a", "b", "c"]


def test_agreement_counts_on_hand_made_vectors():
    members = [angle_embeddings(a) for a in ANGLES.values()]
    assert agreement_counts(members, "t", ["a", "b", "c", "d"], k=2) == [3, 2, 1, 0]
    # a run that does not know the word agrees with none of its neighbours
    without_t = Embeddings(["a", "b"], np.eye(2))
    assert agreement_counts([*members, without_t], "t", ["a"], k=2) == [3]


def test_stability_readings_and_warning(three_runs):
    assert stability_level(0.29) == "low" and stability_level(0.3) == "moderate"
    assert stability_level(0.6) == "high"
    assert shared_of(1.0, 10) == 10 and shared_of(0.0, 10) == 0
    assert shared_of(1 / 3, 10) == pytest.approx(5.0)  # J = 5 / 15
    result = word_stability(three_runs, "t", k=2)
    assert result.warning is None
    assert "share about 1 of the 2" in result.reading  # 2*2*(5/9)/(14/9) = 1.43
    low = {f"run-{i}": {"a": 10 + 40 * (i == 2), "b": 20, "c": 30 - 25 * (i == 2), "d": 120}
           for i in (1, 2)}  # fmt: skip
    unstable = word_stability(
        study_vectors([(n, angle_embeddings(a)) for n, a in low.items()]), "t", k=1
    )
    assert unstable.stability == 0.0 and unstable.level == "low"
    assert "unstable" in unstable.warning and "below 0.3" in unstable.warning


def test_study_report_orders_most_and_least_stable(three_runs):
    report = study_report(three_runs, k=2, min_count=5)
    by_word = dict(zip(report.words, report.stability, strict=True))
    assert by_word["t"] == pytest.approx(5 / 9)
    assert report.most_stable(1)[0][1] == pytest.approx(max(report.stability))
    assert report.least_stable(1)[0][1] == pytest.approx(min(report.stability))
    assert list(report.counts) == [50, 40, 30, 20, 10] and report.min_count == 5
    assert not report.sampled and report.shared_vocab_size == 5


def test_runs_with_different_vocabularies_compare_on_the_shared_words():
    first = angle_embeddings(ANGLES["run-1"])
    second = angle_embeddings({"a": 10, "b": 20, "c": 30}, words=["t", "a", "b", "c"])
    vectors = study_vectors([("one", first), ("two", second)])
    assert vectors.shared_size == 4 and vectors.vocab_sizes == [5, 4]
    assert "compared on the 4 words every run knows" in vectors.vocabulary_note()
    with pytest.raises(W2VError, match="in only 1 of the 2 runs"):
        word_stability(vectors, "d")
    with pytest.raises(UnknownWordError, match="not in the vocabulary"):
        word_stability(vectors, "zebra")


def test_bootstrap_sample_document_counts():
    documents = bootstrap_documents(300, seed=7)
    counts = np.bincount(documents, minlength=300)
    assert len(documents) == 300 and counts.sum() == 300  # drawn with replacement, D of D
    assert counts.max() >= 2 and (counts == 0).any()  # some twice, some never
    assert 0.55 < (counts > 0).mean() < 0.72  # about 1 - 1/e = 63% appear
    assert np.array_equal(documents, bootstrap_documents(300, seed=7))
    assert not np.array_equal(documents, bootstrap_documents(300, seed=8))


def test_bootstrap_corpus_repeats_documents_and_recounts_the_vocabulary():
    vocab = Vocabulary(["x", "y", "z", "w"], [6, 4, 2, 2])
    documents = [["x", "y", "x"], ["z", "w"], ["x", "y", "x", "y", "x"]]
    corpus = encode_documents(documents, vocab)
    # documents 0, 0 and 2: x 2+2+3 = 7, y 1+1+2 = 4, z and w never drawn
    sample_vocab, sample = bootstrap_corpus(vocab, corpus, np.array([0, 0, 2]), min_count=1)
    assert sample_vocab.words == ["x", "y"] and list(sample_vocab.counts) == [7, 4]
    assert sample.n_documents == 3 and sample.n_tokens == 11
    assert sample.decode(sample_vocab, 1) == ["x", "y", "x"]
    assert list(sample.source_rows) == [0, 0, 2]
    # min_count applies to the sample's counts: y (4) goes, and document 0 keeps too few words
    cut_vocab, cut = bootstrap_corpus(vocab, corpus, np.array([0, 0, 2]), min_count=5)
    assert cut_vocab.words == ["x"] and cut.n_tokens == 7


def test_run_count_limits():
    assert check_run_count(2) == 2 and check_run_count(20) == 20
    for bad in (1, 21, 0):
        with pytest.raises(ConfigError, match="from 2 to 20 runs"):
            check_run_count(bad)


# ---- the study folder ---------------------------------------------------------------------------
def _tiny(n_docs: int = 40):
    words = ["cat", "dog", "cow", "saw", "drill", "file"]
    documents = [words[:3] * 2 if i % 2 else words[3:] * 2 for i in range(n_docs)]
    vocab = Vocabulary.from_documents(documents, min_count=1)
    return vocab, encode_documents(documents, vocab)


def test_study_folder_lists_its_runs_and_records_bootstrap_samples(tmp_path):
    vocab, corpus = _tiny()
    config = TrainConfig(dim=4, epochs=1, negative=2, seed=3)
    study = Study.create(
        tmp_path / "s", config, vocab, corpus, {"min_count": 1}, n_runs=3, bootstrap=True
    )
    info = json.loads((tmp_path / "s" / "study.json").read_text())
    assert info["kind"] == "stability-study" and info["seeds"] == [3, 4, 5]
    assert info["bootstrap"] and info["n_documents"] == 40
    members = study.members()
    assert [m.name for m in members] == ["run-01-seed-3", "run-02-seed-4", "run-03-seed-5"]
    for member, entry in zip(members, info["members"], strict=True):
        run = RunFolder.open(member.path)
        assert run.config().seed == member.seed
        documents = study.sample_documents(member)
        counts = np.bincount(documents, minlength=40)
        assert counts.sum() == 40 == entry["documents_drawn"]
        assert (counts > 0).sum() == entry["distinct_documents"]
        # the run's corpus is exactly the drawn documents, repeats included
        assert run.corpus().n_documents == 40
        assert sorted(run.corpus().source_rows) == sorted(corpus.source_rows[documents])
        found_study, found_member = study_of(member.path)
        assert found_study.path == study.path and found_member == member
    assert study.progress().status == "created" and study.progress().finished == 0
    with pytest.raises(RunFolderError, match="already holds a study"):
        Study.create(tmp_path / "s", config, vocab, corpus, {}, n_runs=2)
    with pytest.raises(RunFolderError, match="not a stability study"):
        Study.open(tmp_path)


def test_progress_counts_finished_runs_and_member_links(tmp_path):
    vocab, corpus = _tiny()
    study = Study.create(
        tmp_path / "s", TrainConfig(dim=4, epochs=2, negative=2), vocab, corpus, {}, n_runs=2,
        runs_root=tmp_path / "runs",
    )  # fmt: skip
    members = study.members()
    assert all(m.path.parent == (tmp_path / "runs").resolve() for m in members)
    RunFolder(members[0].path).set_status("finished", epochs_completed=2)
    progress = study.progress()
    assert progress.finished == 1 and progress.fraction_done == pytest.approx(0.5)
    assert progress.status == "stopped" and "1 of 2 runs done" in progress.summary()
    assert study_of(tmp_path / "runs" / members[1].name)[1].index == 2
    assert study_of(make_run(tmp_path, "lonely")) is None


# ---- the command line -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.txt"
    rng = np.random.default_rng(0)
    topics = [["cat", "dog", "horse", "cow"], ["hammer", "saw", "drill", "wrench"]]
    lines = [" ".join(rng.choice(topics[i % 2], 10)) for i in range(120)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_trains_a_study_and_prints_a_words_neighbours(tmp_path, tiny_corpus):
    out = tmp_path / "study"
    made = cli(
        "stability", "--corpus", str(tiny_corpus), "--seeds", "2", "--bootstrap", "--epochs", "2",
        "--dim", "8", "--min-count", "2", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "Finished all 2 runs" in made.stderr
    info = json.loads((out / "study.json").read_text())
    assert info["bootstrap"] and len(info["members"]) == 2
    assert all(
        (out / m["path"] / "checkpoints" / "epoch_002.json").is_file() for m in info["members"]
    )
    table = cli("stability", str(out), "--word", "cat", "--k", "3")
    assert table.returncode == 0, table.stderr
    assert "Neighbours of 'cat' across 2 runs" in table.stdout
    assert " of 2 " in table.stdout and "Stability" in table.stdout
    as_json = json.loads(cli("stability", str(out), "--word", "cat", "--json").stdout)
    assert as_json["runs"] == 2 and as_json["k"] == 10
    assert all(1 <= n["runs"] <= 2 for n in as_json["neighbours"])
    summary = cli("stability", str(out))
    assert "most stable" in summary.stdout and "least stable" in summary.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1"], "from 2 to 20 runs"),
        (["--seeds", "21"], "from 2 to 20 runs"),
        (["--seeds", "two"], "'two' is not a whole number"),
    ],
)
def test_cli_refuses_bad_seed_counts(tmp_path, tiny_corpus, args, message):
    result = cli("stability", "--corpus", str(tiny_corpus), *args, "--out", str(tmp_path / "s"))
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_cli_bad_study_folder_and_unknown_word(tmp_path):
    not_study = cli("stability", str(tmp_path), "--word", "cat")
    assert not_study.returncode == 2 and "is not a stability study folder" in not_study.stderr
    assert "Traceback" not in not_study.stderr
    vocab, corpus = _tiny()
    study = Study.create(tmp_path / "s", TrainConfig(dim=4, epochs=1), vocab, corpus, {}, n_runs=2)
    for member in study.members():  # finished runs with hand-made vectors
        run = RunFolder(member.path)
        vectors = torch.randn(len(vocab), 4, generator=torch.Generator().manual_seed(member.seed))
        run.save_checkpoint(1, {"input": vectors, "output": vectors.clone()}, {"epoch": 1})
        run.set_status("finished", epochs_completed=1)
    unknown = cli("stability", str(study.path), "--word", "catt")
    assert unknown.returncode == 2 and "'catt' is not in the vocabulary. Did you mean: cat" in (
        unknown.stderr
    )
    both = cli("stability", str(study.path), "--corpus", "x.txt", "--word", "cat")
    assert both.returncode == 2 and "not both" in both.stderr
