"""Data page: built-in corpora, uploads and dataset folders, counts, columns, error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import app_test, page, read, texts

from w2v_core import sources


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


def test_a_local_dataset_folder_loads(
    at, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shared_data / "tweets_hate_speech_detection"
    if not folder.is_dir():
        pytest.skip(f"needs {folder}")
    monkeypatch.setenv("W2V_LOCAL_DATA_DIRS", str(shared_data))  # the operator shares the folder
    at.segmented_control(key="data.kind").set_value("hub").run(timeout=120)
    at.text_input(key="data.hub_name").input(str(folder)).run(timeout=180)
    assert not at.exception, at.exception
    assert metrics(at)["Documents"] == "31,962"
    assert at.session_state["data_source"].text_column == "tweet"


def _upload_someone_elses_file() -> sources.DataSpec:
    """Another session's upload, stored where the app keeps uploads."""
    return sources.store_upload("interview.txt", b"my private interview with a patient\n" * 5)


@pytest.mark.parametrize("typed", ["folder", "digest", "~"])
def test_typed_text_never_reaches_another_sessions_upload_or_the_home_folder(
    at, typed: str
) -> None:
    upload = _upload_someone_elses_file()
    value = {"folder": str(upload.file_path().parent), "digest": upload.key, "~": "~"}[typed]
    at.segmented_control(key="data.kind").set_value("hub").run()
    at.text_input(key="data.hub_name").input(value).run()
    assert not at.exception, at.exception
    shown = " ".join(read(at.error) + [str(f.value) for f in at.dataframe])
    assert "private interview" not in shown
    assert at.session_state["data_source"].kind != "upload"
    if typed == "digest":  # a digest is just a name: a Hub id, not found offline
        assert "offline" in shown or "no dataset" in shown, shown
    else:
        assert "local folders are off" in shown and "W2V_LOCAL_DATA_DIRS" in shown, shown


def test_an_allowed_folder_still_hides_the_upload_cache(
    at, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    upload = _upload_someone_elses_file()
    monkeypatch.setenv("W2V_LOCAL_DATA_DIRS", os.pathsep.join([str(tmp_path), "/"]))
    at.segmented_control(key="data.kind").set_value("hub").run()
    at.text_input(key="data.hub_name").input(str(upload.file_path().parent)).run()
    assert not at.exception, at.exception
    assert any("not inside the folders" in text for text in read(at.error)), read(at.error)
    assert at.session_state["data_source"].kind != "upload"


FRENCH = "Il était très tard quand nous sommes arrivés à la gare; le garçon a déjà mangé.\n" * 3


def test_a_western_european_upload_says_how_it_was_read(at) -> None:
    at.segmented_control(key="data.kind").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("lettre.txt", FRENCH.encode("cp1252")).run()
    assert not at.exception, at.exception
    assert any("Read as Western European (Windows-1252)" in text for text in texts(at.caption))
    assert at.dataframe[0].value["text"][0].startswith("Il était très tard")
    assert at.session_state["data_source"].encoding is None  # detected


def test_the_person_can_choose_another_encoding(at) -> None:
    at.segmented_control(key="data.kind").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("lettre.txt", FRENCH.encode("cp1252")).run()
    at.selectbox(key="data.encoding").set_value("cp1250").run()
    assert not at.exception, at.exception
    assert at.session_state["data_source"].encoding == "cp1250"
    assert any("Read as Central European (Windows-1250)" in text for text in texts(at.caption))
    assert at.dataframe[0].value["text"][0].startswith("Il était trčs tard")  # as the person asked


def test_a_missing_nltk_corpus_offline_says_it_cannot_be_downloaded(
    no_nltk_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nltk

    def offline(*args, **kwargs):  # what nltk.download(raise_on_error=True) raises without network
        raise ValueError(
            "Error loading inaugural: <urlopen error [Errno -2] Name or service not known>"
        )

    monkeypatch.setattr(nltk, "download", offline)
    app = app_test().run()
    app.switch_page(page("data")).run()
    app.button(key="data.download.inaugural").click().run()
    assert not app.exception, app.exception
    assert any("cannot reach NLTK's server" in text for text in texts(app.error))


def test_the_download_button_makes_the_corpus_available(
    no_nltk_data: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import nltk

    def download(package, download_dir=None, **kwargs):  # an online machine, simulated
        target = Path(download_dir or no_nltk_data) / "corpora"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / "nltk_data" / "corpora" / f"{package}.zip", target)
        return True

    monkeypatch.setattr(nltk, "download", download)
    app = app_test().run()
    app.switch_page(page("data")).run()
    assert not any("inaugural" in option for option in app.radio(key="data.builtin").options)
    app.button(key="data.download.inaugural").click().run()
    assert not app.exception, app.exception
    assert any("inaugural" in option for option in app.radio(key="data.builtin").options)


def test_jargon_on_the_data_page_comes_with_plain_words(
    at, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encoding name and the Hub's offline switch each get a plain line beside them."""
    at.segmented_control(key="data.kind").set_value("upload").run()
    at.file_uploader(key="data.upload").upload("lettre.txt", FRENCH.encode("cp1252")).run()
    at.selectbox(key="data.encoding").set_value("cp1250").run()
    line = next(t for t in read(at.caption) if "Read as Central European (Windows-1250)" in t)
    assert "is the table that turns a file's bytes into letters" in line
    at.segmented_control(key="data.kind").set_value("hub").run()  # offline (conftest)
    assert any(
        "environment variable: a setting given when the server" in t for t in read(at.caption)
    )
    at.text_input(key="data.hub_name").input("nobody-here/no-such-dataset").run()
    errors = read(at.error)
    assert any("HF_HUB_OFFLINE=1 (an environment variable that tells" in t for t in errors), errors
