"""Export: files that gensim, the Embedding Projector and spreadsheets read back unchanged."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError, RunFolderError
from w2v_core.export import (
    FORMATS,
    export,
    export_coordinates_csv,
    export_projector,
    export_run_zip,
    export_word2vec,
    run_zip_files,
    run_zip_size,
)
from w2v_core.run_folder import RunFolder
from w2v_core.vocab import Vocabulary


@pytest.fixture()
def emb() -> Embeddings:
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "über", "naïve", "on_the_mat"]  # non-ASCII and a phrase
    vectors = rng.standard_normal((len(words), 7)).astype(np.float32) * [1, 10, 0.01, 1, 1, 1, 1e-5]
    return Embeddings(words, vectors, counts=[60, 50, 40, 30, 20, 10])


def test_formats_literal_lists_the_cli_choices() -> None:
    assert FORMATS == ("word2vec", "word2vec-binary", "projector")


def test_word2vec_text_loads_in_gensim(emb: Embeddings, tmp_path: Path) -> None:
    path = export_word2vec(emb, tmp_path / "vectors.txt", binary=False)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert kv.index_to_key == emb.words
    np.testing.assert_allclose(kv.vectors, emb.vectors, rtol=1e-6, atol=1e-6)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "6 7"


def test_word2vec_text_round_trips_float32_exactly(emb: Embeddings, tmp_path: Path) -> None:
    path = export_word2vec(emb, tmp_path / "vectors.txt")
    kv = KeyedVectors.load_word2vec_format(str(path))
    np.testing.assert_array_equal(kv.vectors, emb.vectors)


def test_word2vec_binary_loads_in_gensim_exactly(emb: Embeddings, tmp_path: Path) -> None:
    path = export_word2vec(emb, tmp_path / "vectors.bin", binary=True)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert kv.index_to_key == emb.words
    np.testing.assert_array_equal(kv.vectors, emb.vectors)
    # word2vec.c layout: header, then per word "word " + D float32 + "\n"
    data = path.read_bytes()
    assert data.startswith(b"6 7\nthe ")
    assert len(data) == len(b"6 7\n") + sum(len(w.encode()) + 1 + 7 * 4 + 1 for w in emb.words)


def test_words_with_whitespace_are_written_with_underscores(tmp_path: Path) -> None:
    emb = Embeddings(["new york", "a\tb"], np.eye(2))
    kv = KeyedVectors.load_word2vec_format(str(export_word2vec(emb, tmp_path / "v.txt")))
    assert kv.index_to_key == ["new_york", "a_b"]


def test_projector_files_follow_the_projector_rules(emb: Embeddings, tmp_path: Path) -> None:
    vectors_tsv, metadata_tsv = export_projector(emb, tmp_path / "projector")
    assert vectors_tsv.name == "vectors.tsv" and metadata_tsv.name == "metadata.tsv"
    rows = vectors_tsv.read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(emb)  # no header on the vectors
    loaded = np.array([[float(v) for v in row.split("\t")] for row in rows])
    np.testing.assert_allclose(loaded, emb.vectors, rtol=1e-5, atol=1e-9)
    metadata = metadata_tsv.read_text(encoding="utf-8").splitlines()
    assert metadata[0] == "word\tcount"  # two columns -> a header row
    assert metadata[1:3] == ["the\t60", "cat\t50"]
    assert len(metadata) == len(emb) + 1


def test_projector_single_column_metadata_has_no_header(tmp_path: Path) -> None:
    emb = Embeddings(["x", "y"], np.eye(2))  # no counts
    _, metadata_tsv = export_projector(emb, tmp_path)
    assert metadata_tsv.read_text(encoding="utf-8") == "x\ny\n"


def test_export_dispatches_by_format(emb: Embeddings, tmp_path: Path) -> None:
    (binary,) = export(emb, "word2vec-binary", tmp_path / "v.bin")
    assert KeyedVectors.load_word2vec_format(str(binary), binary=True).index_to_key == emb.words
    assert [p.name for p in export(emb, "projector", tmp_path / "p")] == [
        "vectors.tsv",
        "metadata.tsv",
    ]
    with pytest.raises(ConfigError, match="Unknown export format"):
        export(emb, "glove", tmp_path / "g.txt")  # type: ignore[arg-type]


def test_coordinates_csv_quotes_words_and_adds_columns(tmp_path: Path) -> None:
    coords = np.array([[0.5, -1.0], [2.0, 3.25]])
    path = export_coordinates_csv(
        ["plain", 'with, comma "quoted"'],
        coords,
        tmp_path / "map.csv",
        counts=[5, 3],
        clusters=[1, 0],
    )
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {"word": "plain", "x": "0.5", "y": "-1", "count": "5", "cluster": "1"}
    assert rows[1]["word"] == 'with, comma "quoted"' and rows[1]["y"] == "3.25"
    with pytest.raises(ValueError, match="coords must have shape"):
        export_coordinates_csv(["a"], coords, tmp_path / "bad.csv")


def test_run_zip_holds_the_run_folder(tmp_path: Path) -> None:
    vocab = Vocabulary(["a", "b"], [3, 2])
    run = RunFolder.create(
        tmp_path / "my-run", TrainConfig(), vocab, encode_documents([["a", "b"]], vocab)
    )
    run.save_checkpoint(1, {"input": torch.eye(2), "output": torch.zeros(2, 2)}, {})
    run.request_stop()
    (run.checkpoint_dir / ".epoch_002.safetensors.123.tmp").write_bytes(b"half")
    path = export_run_zip(run.path, tmp_path / "out" / "my-run.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert archive.read("my-run/vocab.tsv") == run.vocab_tsv.read_bytes()
    assert {
        "my-run/run.json",
        "my-run/vocab.tsv",
        "my-run/corpus.npz",
        "my-run/checkpoints/epoch_001.safetensors",
        "my-run/checkpoints/epoch_001.json",
    } <= names
    assert not any(name.endswith((".tmp", "STOP")) for name in names)


def test_run_zip_of_the_last_epoch_leaves_the_older_checkpoints_out(tmp_path: Path) -> None:
    vocab = Vocabulary(["a", "b"], [3, 2])
    run = RunFolder.create(
        tmp_path / "r", TrainConfig(), vocab, encode_documents([["a", "b"]], vocab)
    )
    for epoch in (1, 2, 3):
        run.save_checkpoint(epoch, {"input": torch.eye(2) * epoch, "output": torch.eye(2)}, {})
    run.save_checkpoint("stopped", {"input": torch.eye(2), "output": torch.eye(2)}, {})
    reports: list[tuple[float, str]] = []
    path = export_run_zip(run.path, tmp_path / "last.zip", epochs="last", progress=
                          lambda fraction, message: reports.append((fraction, message)))  # fmt: skip
    with zipfile.ZipFile(path) as archive:
        checkpoints = sorted(n for n in archive.namelist() if "/checkpoints/" in n)
        info = archive.getinfo("r/checkpoints/epoch_003.safetensors")
    assert checkpoints == [
        "r/checkpoints/epoch_003.json",
        "r/checkpoints/epoch_003.safetensors",
        "r/checkpoints/stopped.json",
        "r/checkpoints/stopped.safetensors",
    ]
    assert info.compress_type == zipfile.ZIP_STORED  # float arrays: stored, not deflated
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    # the size shown beforehand: the files' sizes, which the zip exceeds only by its headers
    expected = run_zip_size(run.path, "last")
    assert expected == sum(f.stat().st_size for f in run_zip_files(run.path, "last"))
    assert expected < path.stat().st_size < expected + 4096
    assert run_zip_size(run.path, "all") > expected


def test_run_zip_inside_the_run_folder_does_not_include_itself(tmp_path: Path) -> None:
    vocab = Vocabulary(["a", "b"], [3, 2])
    run = RunFolder.create(
        tmp_path / "r", TrainConfig(), vocab, encode_documents([["a", "b"]], vocab)
    )
    path = export_run_zip(run.path, run.path / "r.zip")
    export_run_zip(run.path, run.path / "r.zip")  # again, with the old zip present
    with zipfile.ZipFile(path) as archive:
        assert "r/r.zip" not in archive.namelist()


def test_run_zip_of_a_non_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="not a run folder"):
        export_run_zip(tmp_path, tmp_path / "x.zip")


def test_coordinates_csv_neutralises_formulas(tmp_path) -> None:
    """OWASP CSV injection: a cell starting with = + - @ would run in Excel; numbers stay numbers."""
    import csv

    import numpy as np

    from w2v_core.export import export_coordinates_csv

    words = ['=HYPERLINK("http://x","y")', "+1", "-cmd", "@sum", "plain"]
    coords = np.array([[-1.5, 2.0]] * 5)
    path = export_coordinates_csv(words, coords, tmp_path / "map.csv", extra={"note": ["=1+1"] * 5})
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert [r[0] for r in rows[1:]] == ["'" + w for w in words[:4]] + ["plain"]
    assert rows[1][1] == "-1.5" and rows[1][3] == "'=1+1"
