"""The command line as scripts and the app's workers use it: train, export, neighbors, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from app_support import cli


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


def test_export_zip_of_the_last_checkpoint_opens_as_a_run(trained_run, tmp_path):
    import zipfile

    from w2v_core.embeddings import Embeddings

    out = tmp_path / "run.zip"
    done = cli("export", str(trained_run), "--format", "zip", "--checkpoints", "last",
               "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "unzipped")
    copy = tmp_path / "unzipped" / trained_run.name
    assert sorted(p.name for p in (copy / "checkpoints").iterdir()) == [
        "epoch_002.json",
        "epoch_002.safetensors",
    ]
    assert Embeddings.from_run(copy).most_similar("government", k=3)


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
    # 300k words x 1.2M centres: 2e17 flops per epoch, over an hour on any CPU (check_trainable)
    words = [f"w{i}" for i in range(300_000)]
    corpus.write_text((" ".join(words) + "\n") * 4, encoding="utf-8")
    done = cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "run"), "--loss", "softmax",
               "--min-count", "1", "--quiet")  # fmt: skip
    assert done.returncode == 2
    assert "negative sampling" in done.stderr and "Traceback" not in done.stderr
    assert "per epoch" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # refused before any folder was made


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


# ---- the app's data path from the command line ------------------------------------------------------
def write_csv(path: Path, rows: int = 400, seed: int = 0) -> Path:
    """A small labelled CSV with two topics, in the shape of an app upload."""
    import random

    rng = random.Random(seed)
    animals = "cat dog horse cow sheep goat pig duck".split()
    tools = "hammer saw drill wrench chisel pliers file screw".split()
    lines = ["id,label,text"]
    for i in range(rows):
        words = animals if i % 2 else tools
        lines.append(f'{i},{i % 2},"The {" and the ".join(rng.choices(words, k=12))}!"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    data = write_csv(folder / "texts.csv")
    out = folder / "run"
    done = cli("train", "--data", str(data), "--text-column", "text", "--preprocessing", "blog",
               "--out", str(out), "--epochs", "2", "--dim", "12", "--threads", "1",
               "--min-count", "2", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_train_data_uses_the_apps_preprocessing(data_run: Path) -> None:
    from w2v_core.preprocess import PreprocessConfig
    from w2v_core.run_folder import RunFolder

    run = RunFolder.open(data_run)
    data = run.info()["data"]
    assert data["spec"]["text_column"] == "text" and data["fingerprint"]
    assert PreprocessConfig.from_dict(data["preprocess"]).char_filter == "blog"
    assert "the" not in run.vocab().words  # the blog preset removes NLTK's English stopwords
    assert {"cat", "hammer"} <= set(run.vocab().words)


def test_rerun_at_one_thread_gives_byte_identical_vectors(data_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    done = cli("rerun", str(data_run), "--out", str(out), "--threads", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    for name in ("epoch_001.safetensors", "epoch_002.safetensors"):
        original = (data_run / "checkpoints" / name).read_bytes()
        assert (out / "checkpoints" / name).read_bytes() == original


def test_rerun_refuses_changed_or_missing_data(data_run: Path, tmp_path: Path) -> None:
    import shutil

    from w2v_core.run_folder import RunFolder

    copy = tmp_path / "copy"
    shutil.copytree(data_run, copy)
    spec = RunFolder(copy).info()["data"]["spec"]
    moved = tmp_path / "texts.csv"
    write_csv(moved, seed=1)  # other rows under the same name
    RunFolder(copy).update(
        data={**RunFolder(copy).info()["data"], "spec": {**spec, "key": str(moved)}}
    )
    done = cli("rerun", str(copy), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "changed" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    moved.unlink()
    done = cli("rerun", str(copy), "--out", str(tmp_path / "y"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "texts.csv" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_rerun_of_a_corpus_file_run(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    done = cli("rerun", str(trained_run), "--out", str(out), "--threads", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    name = "epoch_002.safetensors"
    assert (out / "checkpoints" / name).read_bytes() == (
        trained_run / "checkpoints" / name
    ).read_bytes()


@pytest.mark.parametrize("value", ["nonsense", '{"lowercase": tru', '{"no_such_option": 1}'])
def test_bad_preprocessing_gives_one_line(tmp_path: Path, value: str) -> None:
    data = write_csv(tmp_path / "t.csv", rows=20)
    done = cli("train", "--data", str(data), "--preprocessing", value, "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "run.json").exists()


def test_every_training_setting_is_a_cli_option_with_its_help() -> None:
    import dataclasses

    from w2v_core.cli import build_parser
    from w2v_core.config import TrainConfig

    train = build_parser()._subparsers._group_actions[0].choices["train"]  # noqa: SLF001
    options = {a.dest: a for a in train._actions}  # noqa: SLF001
    for spec in dataclasses.fields(TrainConfig):
        action = options[f"config_{spec.name}"]
        assert action.option_strings == [f"--{spec.name.replace('_', '-')}"]
        assert spec.metadata["help"].replace("%", "%%") in action.help
        assert action.choices == TrainConfig.field_choices(spec.name)


def test_queries_default_to_the_runs_own_vectors(trained_run, tmp_path):
    """A run whose settings explore the output vectors (the blog presets) answers `neighbors` and
    `export` with them, as the app opens it; --vectors still chooses."""
    import shutil

    from gensim.models import KeyedVectors

    from w2v_core.embeddings import Embeddings
    from w2v_core.run_folder import RunFolder

    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    run = RunFolder.open(copy)
    run.update(config={**run.info()["config"], "explore_vectors": "output"})

    def neighbours(*extra: str) -> list[str]:
        done = cli("neighbors", str(copy), "government", "--k", "5", *extra)
        assert done.returncode == 0, done.stderr
        return [line.split("\t")[0] for line in done.stdout.strip().splitlines()]

    expected = {kind: [w for w, _ in Embeddings.from_run(copy, kind=kind).most_similar(
        "government", k=5)] for kind in ("input", "output")}  # fmt: skip
    assert expected["input"] != expected["output"]
    assert neighbours() == expected["output"]
    assert neighbours("--vectors", "input") == expected["input"]
    out = tmp_path / "vectors.txt"
    assert cli("export", str(copy), "--format", "word2vec", "--out", str(out)).returncode == 0
    output = run.load_checkpoint(2)["output"].numpy()
    assert np.allclose(KeyedVectors.load_word2vec_format(str(out))[run.vocab().words[5]],
                       output[5], atol=1e-5)  # fmt: skip
