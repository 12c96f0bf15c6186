"""Data page: built-in corpora, uploads and dataset folders, counts, columns, error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import app_test, page, texts


@pytest.fixture()
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("W2V_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("W2V_WARM_UP", "0")
    app = app_test().run()
    app.switch_page(page("data")).run()
    return app


def metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_the_default_built_in_corpus_is_shown_with_counts(at) -> None:
    assert not at.exception
    assert metrics(at)["Documents"] == "300"  # the Lee corpus: 300 news articles
    assert at.dataframe[0].value.shape[0] == 8  # the first rows
    assert at.session_state["data_source"].key == "lee"
    assert at.session_state["data_source"].text_column == "text"


def test_an_uploaded_csv_offers_its_text_columns(at) -> None:
    at.segmented_control(key="data.kind").set_value("upload").run()
    csv = "id,speech,year\n1,We choose to go to the moon,1962\n2,Ask not what your country can do,1961\n"
    at.file_uploader(key="data.upload").upload("speeches.csv", csv.encode()).run()
    assert not at.exception, at.exception
    assert metrics(at)["Documents"] == "2"
    choice = at.session_state["data_source"]
    assert (choice.kind, choice.label, choice.text_column) == ("upload", "speeches.csv", "speech")
    assert any("Only" in text for text in texts(at.warning))  # a tiny corpus gets a warning


def test_a_binary_upload_gets_a_plain_error(at) -> None:
    at.segmented_control(key="data.kind").set_value("upload").run()
    at.file_uploader(key="data.upload").upload(
        "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00binary"
    ).run()
    assert not at.exception
    assert any("binary" in text or "not plain text" in text for text in texts(at.error))


def test_a_missing_dataset_folder_gets_a_plain_error(at, tmp_path: Path) -> None:
    at.segmented_control(key="data.kind").set_value("hub").run()
    at.text_input(key="data.hub_name").input(str(tmp_path / "no_such_folder")).run()
    assert not at.exception
    assert at.error, "expected an error box saying the folder does not exist"


def test_a_local_dataset_folder_loads(at, shared_data: Path) -> None:
    folder = shared_data / "tweets_hate_speech_detection"
    if not folder.is_dir():
        pytest.skip(f"needs {folder}")
    at.segmented_control(key="data.kind").set_value("hub").run(timeout=120)
    at.text_input(key="data.hub_name").input(str(folder)).run(timeout=180)
    assert not at.exception, at.exception
    assert metrics(at)["Documents"] == "31,962"
    assert at.session_state["data_source"].text_column == "tweet"
