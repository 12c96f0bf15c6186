"""The command line as scripts and the app's workers use it: train, export, neighbors, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "w2v_core", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, lee_corpus_path) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    done = cli("train", "--corpus", str(lee_corpus_path), "--out", str(out), "--epochs", "2",
               "--threads", "1", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Finished 2 epoch(s)" in done.stderr
    return out


def test_train_writes_a_complete_run_folder(trained_run):
    for name in ["run.json", "vocab.tsv", "corpus.npz", "metrics.jsonl"]:
        assert (trained_run / name).is_file()
    assert (trained_run / "checkpoints" / "epoch_002.safetensors").is_file()


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-binary"])
def test_export_loads_in_gensim(trained_run, tmp_path, fmt):
    from gensim.models import KeyedVectors

    from w2v_core.run_folder import RunFolder

    out = tmp_path / "vectors.bin"
    done = cli("export", str(trained_run), "--format", fmt, "--out", str(out))
    assert done.returncode == 0, done.stderr
    vectors = KeyedVectors.load_word2vec_format(str(out), binary=fmt.endswith("binary"))
    run = RunFolder.open(trained_run)
    ours = run.load_checkpoint(2)["input"].numpy()
    vocab = run.vocab()
    assert len(vectors) == len(vocab)
    assert np.allclose(vectors[vocab.words[5]], ours[5], atol=1e-5)


def test_export_projector_writes_two_tsvs(trained_run, tmp_path):
    done = cli("export", str(trained_run), "--format", "projector", "--out", str(tmp_path / "p"))
    assert done.returncode == 0, done.stderr
    vectors = (tmp_path / "p" / "vectors.tsv").read_text(encoding="utf-8").splitlines()
    assert len(vectors[0].split("\t")) == 100


def test_neighbors_prints_words_and_similarities(trained_run):
    done = cli("neighbors", str(trained_run), "government", "--k", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    word, similarity = lines[0].split("\t")
    assert word != "government" and -1 <= float(similarity) <= 1


def test_unknown_word_suggests_and_fails_cleanly(trained_run):
    done = cli("neighbors", str(trained_run), "goverment")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "government" in done.stderr


@pytest.mark.parametrize(
    ("make_corpus", "extra", "message"),
    [
        (lambda p: p.write_text(""), [], "holds no words"),
        (lambda p: p.write_bytes(b"\x00\x01\x02binary"), [], "binary"),
        (lambda p: p.write_text("a b c\n"), ["--min-count", "5"], "min_count"),
        (lambda p: p.write_text("a a a a a a\n"), ["--min-count", "1"], "at least two distinct"),
        (lambda p: p.write_text("a b a b a b\n"), ["--window", "0"], "Window must be"),
        (
            lambda p: p.write_text("a b c a b c\n"),
            ["--min-count", "1", "--negative", "5"],
            "noise words",
        ),
        (lambda p: p.write_text("a b c a b c\n"), ["--min-count", "1", "--lr", "1e9"], "too high"),
        (lambda p: None, [], "does not exist"),
    ],
    ids=["empty", "binary", "min-count", "one-word", "window-0", "negative", "lr", "missing"],
)
def test_bad_input_gives_one_line_and_no_traceback(tmp_path, make_corpus, extra, message):
    corpus = tmp_path / "corpus.txt"
    make_corpus(corpus)
    done = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "run"), "--quiet", *extra)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]


def test_full_softmax_on_a_huge_vocabulary_is_refused(tmp_path):
    corpus = tmp_path / "huge.txt"
    words = [f"w{i}" for i in range(60_000)]
    corpus.write_text(" ".join(words) + "\n", encoding="utf-8")
    done = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "run"), "--loss", "softmax",
               "--min-count", "1", "--quiet")  # fmt: skip
    assert done.returncode == 2
    assert "negative sampling" in done.stderr and "Traceback" not in done.stderr


def test_existing_run_folder_is_never_overwritten(trained_run, lee_corpus_path):
    done = cli("train", "--corpus", str(lee_corpus_path), "--out", str(trained_run), "--quiet")
    assert done.returncode == 2
    assert "already holds a run" in done.stderr


def test_resume_a_finished_run_with_more_epochs(tmp_path, lee_corpus_path):
    out = tmp_path / "run"
    assert cli("train", "--corpus", str(lee_corpus_path), "--out", str(out), "--epochs", "1",
               "--quiet").returncode == 0  # fmt: skip
    done = cli("resume", str(out), "--epochs", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert (out / "checkpoints" / "epoch_002.safetensors").is_file()
