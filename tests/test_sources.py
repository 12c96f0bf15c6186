"""Data sources: built-in corpora, Hugging Face folders/Hub, uploads, decoding, and bad input.

Real data comes from ../shared/data (the tweets folder, NLTK's zips) and gensim's bundled Lee corpus;
tests needing ../shared skip with a reason when it is absent.
"""

from __future__ import annotations

import codecs
import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomllib

from w2v_core import sources
from w2v_core.errors import CorpusError, SourceError
from w2v_core.sources import (
    MAX_UPLOAD_MB,
    TextDataset,
    decode_bytes,
    hub_schema,
    list_builtin_corpora,
    load_builtin,
    load_hub,
    read_upload,
)
from w2v_core.sources import hub as hub_module
from w2v_core.sources import upload as upload_module

REPO_ROOT = Path(__file__).resolve().parent.parent


def invalid_utf8_bytes(data: bytes) -> int:
    """Count bytes that are not valid UTF-8, independently of the code under test."""
    return sum(1 for ch in data.decode("utf-8", "surrogateescape") if "\udc80" <= ch <= "\udcff")


@pytest.fixture()
def tweets_folder(shared_data: Path) -> Path:
    folder = shared_data / "tweets_hate_speech_detection"
    if not (folder / "train.csv").is_file():
        pytest.skip(f"needs {folder}/train.csv, which is absent")
    return folder


# ---- built-in corpora -------------------------------------------------------------------------------
def test_lee_corpus_is_listed_available_without_download(no_nltk_data: Path) -> None:
    corpora = {c.key: c for c in list_builtin_corpora()}
    lee = corpora["lee"]
    assert lee.available and lee.needs_download is None and lee.provider == "gensim"
    assert lee.n_documents == 300 and lee.n_tokens > 50_000 and lee.description
    assert all(c.name and c.description for c in corpora.values())


def test_load_lee_gives_its_300_articles(lee_corpus_path: Path) -> None:
    data = load_builtin("lee")
    assert data.n_rows == 300
    assert next(data.texts()).startswith(
        "Hundreds of people have been forced to vacate their homes"
    )
    words_in_file = len(lee_corpus_path.read_text(encoding="utf-8").split())
    assert sum(len(t.split()) for t in data.texts()) == words_in_file
    assert data.source == {"kind": "builtin", "key": "lee", "provider": "gensim"}


def test_nltk_corpora_are_offered_for_download_when_absent(no_nltk_data: Path) -> None:
    corpora = {c.key: c for c in list_builtin_corpora()}
    for key in ("inaugural", "state_union", "brown", "movie_reviews"):
        assert not corpora[key].available
        assert corpora[key].needs_download == key
        assert "download" in corpora[key].unavailable_reason.lower()
    with pytest.raises(SourceError, match="download"):
        load_builtin("inaugural")


def test_nltk_corpora_appear_when_nltk_data_holds_them(nltk_data: Path) -> None:
    corpora = {c.key: c for c in list_builtin_corpora()}
    assert all(corpora[k].available for k in ("inaugural", "state_union", "brown", "movie_reviews"))


def test_inaugural_paragraphs_carry_year_and_president(nltk_data: Path) -> None:
    data = load_builtin("inaugural")
    first = data.preview(1)[0]
    assert first["year"] == 1789 and first["president"] == "Washington"
    assert first["text"] == "Fellow-Citizens of the Senate and of the House of Representatives:"
    listed = {c.key: c for c in list_builtin_corpora()}["inaugural"]
    assert 0.8 * listed.n_documents <= data.n_rows <= 1.2 * listed.n_documents
    assert data.metadata_columns == ("year", "president", "speech", "paragraph")


def test_brown_sentences_lose_their_tags_and_keep_their_genre(nltk_data: Path) -> None:
    data = load_builtin("brown")
    first = data.preview(1)[0]
    assert first["text"].startswith("The Fulton County Grand Jury said Friday an investigation of")
    assert "/" not in first["text"] and first["category"] == "news"
    assert 50_000 < data.n_rows < 65_000


def test_movie_reviews_are_labelled_half_positive(nltk_data: Path) -> None:
    data = load_builtin("movie_reviews")
    labels = data.dataset["label"]
    assert data.n_rows == 2000 and labels.count("pos") == 1000 and labels.count("neg") == 1000


def test_state_union_spans_truman_to_bush(nltk_data: Path) -> None:
    years = load_builtin("state_union").dataset["year"]
    assert min(years) == 1945 and max(years) == 2006


def test_unknown_builtin_key_names_the_choices() -> None:
    with pytest.raises(SourceError, match="lee"):
        load_builtin("shakespeare")


def test_download_offline_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    def offline(*args, **kwargs):  # what nltk.download(raise_on_error=True) raises without network
        raise ValueError(
            "Error loading inaugural: <urlopen error [Errno -2] Name or service not known>"
        )

    monkeypatch.setattr(nltk, "download", offline)
    with pytest.raises(SourceError, match="offline"):
        sources.download_nltk_corpus("inaugural")
    with pytest.raises(SourceError, match="not an NLTK corpus"):
        sources.download_nltk_corpus("lee")


# ---- Hugging Face: local dataset folder and the Hub -------------------------------------------------
def test_hub_schema_of_the_tweets_folder(tweets_folder: Path) -> None:
    schema = hub_schema(str(tweets_folder))
    assert schema.is_local and schema.configs == ("default",)
    assert list(schema.splits) == ["train"]
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {"id": "number", "label": "number", "tweet": "text"}
    assert schema.suggested_text_column == "tweet"


def test_load_tweets_folder_replaces_and_counts_invalid_bytes(tweets_folder: Path) -> None:
    data = load_hub(str(tweets_folder), text_column="tweet", label_columns=("label",))
    assert data.n_rows == 31_962
    assert next(data.texts()).startswith("@user when a father is dysfunctional")
    raw = (tweets_folder / "train.csv").read_bytes()
    assert data.encoding_report.invalid_bytes_replaced == invalid_utf8_bytes(raw) > 0
    assert sum(t.count("\N{REPLACEMENT CHARACTER}") for t in data.texts()) == invalid_utf8_bytes(
        raw
    )
    assert data.metadata_columns == ("label",) and set(data.dataset["label"]) == {0, 1}
    assert data.source["kind"] == "folder" and data.source["split"] == "train"


def test_tweets_folder_with_strict_decoding_fails_clearly(tweets_folder: Path) -> None:
    with pytest.raises(SourceError, match="not valid UTF-8"):
        load_hub(str(tweets_folder), encoding_errors="strict")


def test_streaming_only_the_first_rows(tweets_folder: Path) -> None:
    data = load_hub(str(tweets_folder), max_rows=100)
    assert data.n_rows == 100
    assert next(data.texts()).startswith("@user when a father is dysfunctional")


def test_hub_errors_for_split_and_column(tweets_folder: Path) -> None:
    with pytest.raises(SourceError, match="no split 'test'.*train"):
        load_hub(str(tweets_folder), split="test")
    with pytest.raises(SourceError, match="holds numbers.*tweet"):
        load_hub(str(tweets_folder), text_column="label")
    with pytest.raises(SourceError, match="no column 'text'"):
        load_hub(str(tweets_folder), text_column="text")


def test_unknown_hub_id_while_offline_names_alternatives() -> None:
    # conftest sets HF_HUB_OFFLINE=1, as on every machine of this project
    with pytest.raises(SourceError, match="offline.*Alternatives.*built-in corpus"):
        load_hub("nobody-here/no-such-dataset")
    with pytest.raises(SourceError, match="offline"):
        hub_schema("nobody-here/no-such-dataset")


def test_unreachable_hub_fails_fast_without_offline_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub_module, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(SourceError, match="offline"):
        load_hub("tweets_hate_speech_detection")


def test_unknown_hub_id_online_says_it_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    def not_found(*args, **kwargs):
        raise DatasetNotFoundError("Dataset 'nobody-here/no-such-dataset' doesn't exist on the Hub")

    monkeypatch.setattr(hub_module, "_check_path", lambda value, folders=None: (value, False))
    monkeypatch.setattr(datasets, "load_dataset_builder", not_found)
    with pytest.raises(SourceError, match="There is no dataset 'nobody-here/no-such-dataset'"):
        load_hub("nobody-here/no-such-dataset")


def test_folder_of_text_files_loads_like_a_hub_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"first line of a\nsecond line of a\n")
    (folder / "b.txt").write_bytes(b"a line of b with a bad \xff byte\n")
    schema = hub_schema(str(folder))
    assert [c.name for c in schema.columns] == ["text"] and schema.suggested_text_column == "text"
    data = load_hub(str(folder))
    assert data.n_rows == 3 and data.encoding_report.invalid_bytes_replaced == 1
    assert list(data.texts())[2] == "a line of b with a bad \N{REPLACEMENT CHARACTER} byte"


def test_bad_dataset_paths(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        load_hub(str(tmp_path / "missing"))
    with pytest.raises(SourceError, match="neither a folder"):
        load_hub("not a valid id!")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="empty|no data files|Could not read"):
        load_hub(str(tmp_path / "empty"))


# ---- which local folders the app may read ------------------------------------------------------------
def _letters_folder(parent: Path) -> Path:
    folder = parent / "letters"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"first line of a\nsecond line of a\n")
    return folder


def test_with_no_folders_allowed_a_path_is_refused_naming_the_variable(tmp_path: Path) -> None:
    folder = _letters_folder(tmp_path)
    for typed in (str(folder), "~", "~/", "./letters", "../x"):
        with pytest.raises(SourceError, match="local folders are off.*W2V_LOCAL_DATA_DIRS"):
            hub_schema(typed, local_folders=())
    assert load_hub(str(folder)).n_rows == 2  # the command line (no restriction) still reads it


def test_a_folder_inside_an_allowed_one_loads_by_its_resolved_path(tmp_path: Path) -> None:
    folder = _letters_folder(tmp_path / "shared")
    schema = hub_schema(str(folder / ".." / "letters"), local_folders=(tmp_path / "shared",))
    assert schema.is_local and schema.dataset_id == str(folder.resolve())
    assert load_hub(str(folder), local_folders=[str(tmp_path / "shared")]).n_rows == 2


def test_dot_dot_symlinks_and_the_cache_cannot_escape_the_allowed_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    private = _letters_folder(tmp_path / "private")
    (shared / "link").symlink_to(private, target_is_directory=True)
    cache = shared / "cache"  # an operator who shares a folder that holds the uploads
    monkeypatch.setenv("W2V_CACHE_DIR", str(cache))
    upload = sources.store_upload("interview.txt", b"my private interview\n")
    for typed in (
        str(shared / ".." / "private" / "letters"),
        str(shared / "link"),
        str(upload.file_path().parent),
        str(cache),
        str(tmp_path),
    ):
        with pytest.raises(SourceError, match="not inside the folders.*W2V_LOCAL_DATA_DIRS"):
            load_hub(typed, local_folders=(shared,))


def test_a_hub_id_that_names_a_folder_here_is_not_read_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _letters_folder(tmp_path)
    monkeypatch.chdir(tmp_path)  # `datasets` would read ./letters for the id "letters"
    with pytest.raises(SourceError, match="local folders are off"):
        load_hub("letters", local_folders=())
    with pytest.raises(SourceError, match="offline"):  # an id with no such folder goes to the Hub
        load_hub("someone/letters", local_folders=())


def test_the_allowed_folders_come_from_the_environment_separated_by_pathsep() -> None:
    import os

    value = os.pathsep.join(["/srv/corpora", " ", "/data/class"])
    assert sources.local_folders_from_env({"W2V_LOCAL_DATA_DIRS": value}) == (
        Path("/srv/corpora"),
        Path("/data/class"),
    )
    assert sources.local_folders_from_env({}) == ()


def test_load_spec_in_the_app_refuses_folders_files_and_upload_keys_outside(
    tmp_path: Path,
) -> None:
    folder = _letters_folder(tmp_path)
    with pytest.raises(SourceError, match="local folders are off"):
        sources.load_spec(sources.DataSpec.from_path(folder), local_folders=())
    with pytest.raises(SourceError, match="local folders are off"):
        sources.load_spec(sources.DataSpec.from_path(folder / "a.txt"), local_folders=())
    sneaky = sources.DataSpec("upload", "../../etc", "x", filename="passwd.txt")
    with pytest.raises(SourceError, match="not the digest of an upload"):
        sources.load_spec(sneaky, local_folders=())
    assert sources.load_spec(sources.DataSpec.from_path(folder / "a.txt")).n_rows == 2  # CLI


def test_old_uploads_that_no_run_names_are_deleted(tmp_path: Path) -> None:
    import os
    import time

    day = 24 * 3600
    now = time.time()
    runs = tmp_path / "runs"

    def upload(text: bytes, age: float) -> Path:
        path = sources.store_upload("notes.txt", text).file_path()
        os.utime(path, (now - age, now - age))
        return path.parent

    forgotten = upload(b"nobody needs this any more\n", 2 * day)
    in_a_run = upload(b"a run was trained on this\n", 2 * day)
    in_a_study = upload(b"a study was run on this\n", 2 * day)
    recent = upload(b"someone is working with this today\n", 3600)
    (runs / "my-run").mkdir(parents=True)
    (runs / "my-run" / "run.json").write_text(json.dumps({"data": {"key": in_a_run.name}}))
    (runs / "studies" / "s1").mkdir(parents=True)
    (runs / "studies" / "s1" / "study.json").write_text(json.dumps({"x": in_a_study.name}))
    other = sources.uploads_dir() / "not-an-upload"
    other.mkdir()
    os.utime(other, (now - 9 * day, now - 9 * day))

    assert sources.prune_uploads([runs], now=now) == [forgotten.name]
    assert not forgotten.exists()
    assert in_a_run.is_dir() and in_a_study.is_dir() and recent.is_dir() and other.is_dir()
    upload(b"a run was trained on this\n", 0)  # uploading again makes it young again
    assert sources.prune_uploads([], now=now) == [in_a_study.name]


# ---- uploads ----------------------------------------------------------------------------------------
def test_txt_lines_are_documents_and_blank_lines_are_skipped() -> None:
    data = read_upload("notes.txt", b"first line here\r\n\r\n  \nsecond line\nthird")
    assert list(data.texts()) == ["first line here", "second line", "third"]
    assert data.dataset["line"] == [1, 4, 5]
    whole = read_upload("notes.txt", b"first line\nsecond line\n", txt_mode="whole")
    assert whole.n_rows == 1 and next(whole.texts()) == "first line\nsecond line\n"


def test_tweets_csv_upload_picks_the_text_column_and_counts_bad_bytes(tweets_folder: Path) -> None:
    raw = (tweets_folder / "train.csv").read_bytes()
    data = read_upload("train.csv", raw, metadata_columns=("label",))
    assert data.text_column == "tweet" and data.n_rows == 31_962
    assert data.encoding_report.encoding == "utf-8"
    assert data.encoding_report.invalid_bytes_replaced == invalid_utf8_bytes(raw)
    # the same text as the folder loaded through `datasets`: same fingerprint, so the same cache
    assert data.fingerprint() == load_hub(str(tweets_folder)).fingerprint()


def test_csv_delimiters_and_tsv() -> None:
    semicolons = read_upload("x.csv", b"author;speech\nA;Ich bin ein Berliner\nB;Yes we can\n")
    assert semicolons.text_column == "speech" and semicolons.n_rows == 2
    tabs = read_upload("x.tsv", b"id\ttext\n1\thello world\n2\tgood bye\n")
    assert list(tabs.texts()) == ["hello world", "good bye"]


def test_csv_without_the_chosen_column_lists_the_columns() -> None:
    with pytest.raises(SourceError, match="no column 'text'.*id, label, tweet"):
        read_upload("t.csv", b"id,label,tweet\n1,0,hello there\n", text_column="text")


def test_numeric_column_as_text_is_refused() -> None:
    with pytest.raises(SourceError, match="'label' holds numbers.*tweet"):
        read_upload("t.csv", b"id,label,tweet\n1,0,hello there\n", text_column="label")
    with pytest.raises(SourceError, match="No column of 'n.csv' holds text"):
        read_upload("n.csv", b"a,b\n1,2\n3,4\n")
    data = read_upload("t.csv", b"id,label,tweet\n1,0,hello there\n")
    with pytest.raises(SourceError, match="holds numbers"):
        data.with_columns("id")


def test_malformed_csv_rows_are_skipped_and_reported() -> None:
    data = read_upload("t.csv", b"id,text\n1,fine row\n2,too,many,fields\n3,another fine row\n")
    assert list(data.texts()) == ["fine row", "another fine row"]
    assert any("1 malformed row was skipped" in note for note in data.notes)


def test_jsonl_json_and_parquet() -> None:
    lines = b'{"text": "first doc", "party": "A"}\n{"text": "second doc", "party": "B"}\n'
    data = read_upload("d.jsonl", lines, metadata_columns=("party",))
    assert list(data.texts()) == ["first doc", "second doc"] and data.dataset["party"] == ["A", "B"]
    array = json.dumps([{"body": "one two"}, {"body": "three four"}]).encode()
    assert list(read_upload("d.json", array).texts()) == ["one two", "three four"]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": ["parquet text", "more"], "year": [1990, 1991]}), buffer)
    parquet = read_upload("d.parquet", buffer.getvalue())
    assert parquet.n_rows == 2 and [c.kind for c in parquet.columns] == ["text", "number"]
    with pytest.raises(SourceError, match="JSON Lines"):
        read_upload("bad.jsonl", b'{"text": "ok"}\n{not json\n')


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_of_text_files() -> None:
    archive = _zip(
        {
            "speeches/a.txt": b"line one of a\nline two of a\n",
            "speeches/b.txt": "caf\u00e9 line of b\n".encode(),
            "__MACOSX/._a.txt": b"\x00\x05junk",
            "readme.md": b"not a text file for us",
        }
    )
    lines = read_upload("speeches.zip", archive)
    assert lines.dataset["file"] == ["speeches/a.txt", "speeches/a.txt", "speeches/b.txt"]
    assert list(lines.texts())[2] == "caf\u00e9 line of b"
    whole = read_upload("speeches.zip", archive, txt_mode="whole")
    assert whole.n_rows == 2 and whole.metadata_columns == ()


def test_zip_without_text_files_says_what_it_holds() -> None:
    archive = _zip({"report.pdf": b"%PDF-1.4", "photo.png": b"\x89PNG\r\n"})
    with pytest.raises(SourceError, match="no .txt files.*report.pdf"):
        read_upload("docs.zip", archive)
    with pytest.raises(SourceError, match="not a valid zip"):
        read_upload("broken.zip", b"PK\x03\x04 this is not really a zip")


def _zip_whose_header_understates(real_mb: int, claimed: int) -> bytes:
    """A zip of one .txt member of `real_mb` MB whose headers claim `claimed` bytes."""
    import struct

    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)
    with archive, archive.open("bomb.txt", "w") as member:
        for _ in range(real_mb):
            member.write(b"word " * 200_000)  # 1 MB, compresses to a kilobyte or so
    data = bytearray(buffer.getvalue())
    assert data[:4] == b"PK\x03\x04" and not data[6] & 0x08  # sizes in the local header
    struct.pack_into("<I", data, 22, claimed)  # local header: uncompressed size
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, claimed)  # central directory: uncompressed size
    return bytes(data)


def test_zip_whose_header_lies_about_its_size_is_read_in_bounded_memory() -> None:
    import tracemalloc

    archive = _zip_whose_header_understates(real_mb=100, claimed=1000)
    assert len(archive) < 2_000_000  # small on the wire, 100 MB unpacked
    tracemalloc.start()
    try:
        with pytest.raises(SourceError, match="cannot be unpacked"):  # the size check fails
            read_upload("bomb.zip", archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while reading a lying zip"


def test_zip_skips_binary_files_named_txt() -> None:
    archive = _zip({"good.txt": b"real words here\n", "bad.txt": b"\x89PNG\r\n\x1a\n\x00\x00"})
    data = read_upload("mixed.zip", archive)
    assert list(data.texts()) == ["real words here"]
    assert any("bad.txt" in note for note in data.notes)


def test_empty_file_is_refused() -> None:
    for content in (b"", b"  \n\n "):
        with pytest.raises(SourceError, match="empty"):
            read_upload("empty.txt", content)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
        (b"PK\x03\x04\x14\x00\x06\x00", "zip archive"),
        (bytes(range(256)) * 8, "binary"),
    ],
)
def test_binary_file_renamed_txt_is_refused(content: bytes, expected: str) -> None:
    with pytest.raises(SourceError, match=expected):
        read_upload("notes.txt", content)


def test_unsupported_formats_name_the_supported_ones() -> None:
    with pytest.raises(SourceError, match="Save spreadsheets as .csv"):
        read_upload("table.xlsx", b"PK\x03\x04 excel")
    with pytest.raises(SourceError, match=r"\.csv"):
        read_upload("notes.docx", b"PK\x03\x04 word")


def test_upload_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_module, "MAX_UPLOAD_MB", 1)
    with pytest.raises(SourceError, match="limit is 1 MB"):
        read_upload("big.txt", b"word " * 220_000)


def test_streamlit_upload_limit_agrees_with_the_core() -> None:
    config = REPO_ROOT / ".streamlit" / "config.toml"
    if not config.is_file():
        pytest.skip("the app has no .streamlit/config.toml yet")
    settings = tomllib.loads(config.read_text(encoding="utf-8"))
    assert settings["server"]["maxUploadSize"] == MAX_UPLOAD_MB


def test_one_enormous_line_is_one_document(lee_corpus_path: Path) -> None:
    words = " ".join(lee_corpus_path.read_text(encoding="utf-8").split())
    line = " ".join([words] * 12)  # ~4 MB on one line
    data = read_upload("huge.txt", line.encode())
    assert data.n_rows == 1 and len(next(data.texts())) == len(line)
    table = read_upload("huge.csv", ("id,text\n1," + line.replace(",", " ") + "\n").encode())
    assert table.n_rows == 1 and len(next(table.texts())) == len(line)


# ---- decoding ---------------------------------------------------------------------------------------
def test_invalid_utf8_bytes_are_replaced_and_counted() -> None:
    text = "Grüße aus Köln, ça va très bien. " * 20
    data = text.encode("utf-8") + b" broken \xc3 and \xff here"
    decoded = decode_bytes(data)
    assert decoded.report.encoding == "utf-8" and decoded.report.invalid_bytes_replaced == 2
    assert decoded.text.endswith(
        "broken \N{REPLACEMENT CHARACTER} and \N{REPLACEMENT CHARACTER} here"
    )
    assert "2 invalid bytes replaced" in decoded.report.describe()


def test_windows_1252_text_is_detected() -> None:
    text = (
        "Die Straße war voll, und Müller sagte: «Wir gehen zurück über die Brücke.» "
        "Später aßen sie Käse und tranken Kaffee im Café an der Ecke. "
    ) * 10
    decoded = decode_bytes(text.encode("cp1252"))
    assert decoded.report.detected and decoded.report.invalid_bytes_replaced == 0
    assert decoded.text == text


WESTERN_EUROPEAN = {
    "french": "Il était très tard quand nous sommes arrivés à la gare. Le garçon a déjà mangé une "
    "crêpe, puis il a bu un café noir. « Où est la clé ? » demanda-t-elle. C'est l'été, la forêt "
    "est belle et nos élèves préfèrent étudier dehors, même si leur maître n'est pas d'accord.\n",
    "german": "Die Straße war voll, und Müller sagte, dass wir über die Brücke zurückgehen müssen. "
    "Später aßen sie Käse, tranken Kaffee und hörten den Vögeln zu. Größere Häuser stehen weiter "
    "südlich; die Bürger wählen nächste Woche einen neuen Bürgermeister.\n",
    "spanish": "El niño pequeño comió una manzana en la montaña. ¿Dónde está la estación? Mañana "
    "iremos juntos al café de la esquina; allí también venden pasteles y jamón. La canción que "
    "escuché ayer habla de un corazón roto y de la última noche del año.\n",
    "portuguese": "A informação chegou ontem à noite: não há solução fácil para a questão. Os "
    "irmãos estão à espera no salão, e a avó já preparou o almoço com feijão e pão. É possível "
    "que a reunião comece às três horas, então não esqueça as canções.\n",
}


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
@pytest.mark.parametrize("language", list(WESTERN_EUROPEAN))
@pytest.mark.parametrize("repeats", [1, 20])
def test_western_european_text_is_detected_without_mojibake(
    language: str, encoding: str, repeats: int
) -> None:
    """French in cp1252 used to come out as "trčs" (read as CP1257), Portuguese as "năo" (CP1250)."""
    text = WESTERN_EUROPEAN[language] * repeats
    decoded = decode_bytes(text.encode(encoding))
    assert decoded.text == text
    assert decoded.report.invalid_bytes_replaced == 0 and decoded.report.detected
    assert decoded.report.encoding == "cp1252"  # a superset of latin-1's letters
    assert "Western European (Windows-1252)" in decoded.report.describe()


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Wczoraj poszliśmy do sklepu, żeby kupić chleb. Łódź jest dużym miastem, a jej "
         "mieszkańcy są bardzo mili; gęś i łabędź pływają. ", "cp1250"),
        ("Вчера мы пошли в магазин, чтобы купить хлеб и молоко. Москва — большой город. ", "cp1251"),
        ("Χθες πήγαμε στο κατάστημα για να αγοράσουμε ψωμί και γάλα. Η Αθήνα είναι μεγάλη. ",
         "cp1253"),
        ("Dün markete gittik ve ekmek ile süt aldık. İstanbul büyük bir şehir ve insanları çok "
         "misafirperverdir. Çocuklar bahçede oynuyor, ağaçların altında gölge var. ", "cp1254"),
    ],
)  # fmt: skip
def test_other_single_byte_encodings_are_not_taken_for_western_european(
    text: str, encoding: str
) -> None:
    decoded = decode_bytes((text * 5).encode(encoding))
    assert decoded.text == text * 5


@pytest.mark.parametrize(
    ("data", "encoding", "plain"),
    [
        ("Grüße, ça va".encode(), "utf-8", "UTF-8"),
        (codecs.BOM_UTF8 + "Grüße, ça va".encode(), "utf-8", "UTF-8"),
        (codecs.BOM_UTF16_LE + "Grüße, ça va".encode("utf-16-le"), "utf-16-le", "UTF-16"),
        (codecs.BOM_UTF16_BE + "Grüße, ça va".encode("utf-16-be"), "utf-16-be", "UTF-16"),
    ],
)
def test_unicode_text_is_read_and_named_plainly(data: bytes, encoding: str, plain: str) -> None:
    decoded = decode_bytes(data)
    assert decoded.text == "Grüße, ça va" and decoded.report.encoding == encoding
    assert decoded.report.describe().startswith(f"Read as {plain}")


def test_every_offered_encoding_has_a_plain_name_and_decodes() -> None:
    from w2v_core.sources import ENCODING_CHOICES, encoding_label

    assert "cp1252" in ENCODING_CHOICES and "utf-8" in ENCODING_CHOICES
    for name, label in ENCODING_CHOICES.items():
        assert codecs.lookup(name).name == name and label == encoding_label(name)
        decode_bytes(b"plain ascii", encoding=name)
    assert encoding_label("latin-1") == "Western European (ISO-8859-1, Latin-1)"
    assert encoding_label("x-unknown") == "X-UNKNOWN"


def test_encoding_can_be_chosen_and_unknown_names_are_refused() -> None:
    assert decode_bytes("café".encode("latin-1"), encoding="latin-1").text == "café"
    with pytest.raises(SourceError, match="not an encoding"):
        decode_bytes(b"abc", encoding="klingon-8")
    data = read_upload("l.txt", "naïve café\n".encode("cp1252"), encoding="cp1252")
    assert list(data.texts()) == ["naïve café"] and data.encoding_report.encoding == "cp1252"


def test_utf16_and_utf8_byte_order_marks() -> None:
    text = "word2vec über alles\nzweite Zeile\n"
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF8, "utf-8")):
        data = read_upload("bom.txt", bom + text.encode(encoding))
        assert list(data.texts()) == ["word2vec über alles", "zweite Zeile"]
    no_bom = read_upload("le.txt", text.encode("utf-16-le"))
    assert list(no_bom.texts()) == ["word2vec über alles", "zweite Zeile"]


# ---- TextDataset ------------------------------------------------------------------------------------
def test_fingerprint_depends_on_text_only_not_on_chunking() -> None:
    import datasets

    texts = ["alpha beta", "gamma", "", "delta epsilon"]
    one_chunk = TextDataset.from_texts(texts)
    table = pa.Table.from_batches(
        [pa.record_batch({"text": pa.array(texts[:1], pa.string())}),
         pa.record_batch({"text": pa.array(texts[1:], pa.string())})]
    )  # fmt: skip
    two_chunks = TextDataset("x", {}, datasets.Dataset(table), "text")
    assert one_chunk.fingerprint() == two_chunks.fingerprint()
    assert (
        TextDataset.from_texts(["alpha beta", "gamma", "", "delta"]).fingerprint()
        != one_chunk.fingerprint()
    )
    assert (
        TextDataset.from_texts(["alpha", "beta gamma"]).fingerprint()
        != TextDataset.from_texts(["alphabeta", " gamma"]).fingerprint()
    )


def test_with_columns_and_preview() -> None:
    data = TextDataset.from_texts(
        ["x" * 1000, "short"], metadata={"party": ["A", "B"], "note": ["n1", "n2"]}
    )
    assert data.metadata_columns == ("party", "note")
    chosen = data.with_columns("note", ["party"])
    assert chosen.text_column == "note" and list(chosen.texts()) == ["n1", "n2"]
    assert chosen.metadata_columns == ("party",)
    preview = data.preview(1, max_chars=10)
    assert preview == [{"text": "x" * 10 + "\N{HORIZONTAL ELLIPSIS}", "party": "A", "note": "n1"}]
    assert data.text_at(1) == "short"
    with pytest.raises(SourceError, match="3 values for 2 texts"):
        TextDataset.from_texts(["a", "b"], metadata={"label": [1, 2, 3]})


def test_source_error_is_a_corpus_error() -> None:
    assert issubclass(SourceError, CorpusError)  # callers that catch CorpusError see it too


# ---- DataSpec: one description of the data for the app, run.json and the CLI -------------------------
SPEECHES_CSV = (
    "id,speech,year\n1,We choose to go to the moon,1962\n2,Ask not what your country,1961\n"
)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("speeches.csv", SPEECHES_CSV.encode(), "file"),
        ("notes.txt", b"one line\nanother line\n", "file"),
        ("rows.jsonl", b'{"text": "a b"}\n{"text": "c d"}\n', "file"),
    ],
)
def test_spec_from_path_reads_the_format_from_the_suffix(
    tmp_path: Path, name: str, content: bytes, kind: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    spec = sources.DataSpec.from_path(path)
    assert (spec.kind, spec.key, spec.label) == (kind, str(path.resolve()), name)
    data = sources.load_spec(spec)
    assert data.n_rows == 2
    assert data.spec == spec.with_columns(data.text_column, ())


def test_spec_from_path_of_a_folder_is_a_local_dataset(tweets_folder: Path) -> None:
    spec = sources.DataSpec.from_path(tweets_folder, text_column="tweet")
    assert (spec.kind, spec.text_column) == ("hub", "tweet")
    data = sources.load_spec(spec)
    assert data.n_rows == 31_962 and data.text_column == "tweet"


def test_spec_from_path_refuses_missing_paths_and_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="There is no file or folder"):
        sources.DataSpec.from_path(tmp_path / "nowhere.csv")
    sheet = tmp_path / "table.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(SourceError, match=r"cannot be read.*\.csv"):
        sources.DataSpec.from_path(sheet)


def test_spec_text_column_and_encoding_reach_the_loader(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_bytes("title,body\ncaf\xe9,na\xefve r\xe9sum\xe9\n".encode("cp1252"))
    spec = sources.DataSpec.from_path(path, text_column="title", encoding="cp1252")
    data = sources.load_spec(spec)
    assert data.text_column == "title"
    assert data.text_at(0) == "café"
    assert data.encoding_report.encoding == "cp1252"


def test_spec_round_trips_through_run_json(tmp_path: Path) -> None:
    path = tmp_path / "speeches.csv"
    path.write_text(SPEECHES_CSV, encoding="utf-8")
    spec = sources.DataSpec.from_path(path, text_column="speech").with_columns("speech", ("year",))
    data = sources.load_spec(spec)
    saved = json.loads(json.dumps(data.describe()))  # as run.json holds it
    again = sources.DataSpec.from_dict(saved["spec"])
    assert again == spec and hash(again) == hash(spec)
    assert sources.load_spec(again).fingerprint() == saved["fingerprint"]
    hub = sources.DataSpec(
        "hub", "some/id", "some/id", "text", config="en", split="test", max_rows=50
    )
    assert sources.DataSpec.from_dict(hub.to_dict()) == hub


def test_spec_of_unknown_kind_is_refused() -> None:
    with pytest.raises(SourceError, match="kinds are"):
        sources.DataSpec("ftp", "x", "x")  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="lacks key"):
        sources.DataSpec.from_dict({"kind": "file"})


def test_uploads_are_stored_once_by_content_and_load_again() -> None:
    spec = sources.store_upload("speeches.csv", SPEECHES_CSV.encode())
    again = sources.store_upload("speeches.csv", SPEECHES_CSV.encode())
    assert spec == again and spec.kind == "upload" and len(spec.key) == 64
    assert spec.file_path().read_bytes() == SPEECHES_CSV.encode()
    data = sources.load_spec(spec)
    assert (data.n_rows, data.text_column, data.name) == (2, "speech", "speeches.csv")


def test_a_lost_upload_says_to_upload_again() -> None:
    spec = sources.DataSpec("upload", "0" * 64, "gone.txt", filename="gone.txt")
    with pytest.raises(SourceError, match="'gone.txt' is no longer on this server"):
        sources.load_spec(spec)


def test_builtin_spec_keeps_its_metadata_columns() -> None:
    corpus = next(c for c in list_builtin_corpora() if c.key == "lee")
    spec = sources.DataSpec("builtin", "lee", corpus.name, "text", corpus.metadata_columns)
    data = sources.load_spec(spec)
    assert data.metadata_columns == ("line",) and data.spec == spec


def test_the_upload_limit_counts_megabytes_as_the_browser_does(monkeypatch) -> None:
    """The browser's uploader takes "1MB" as 1,000,000 bytes: exactly that passes, one more not."""
    monkeypatch.setattr(upload_module, "MAX_UPLOAD_MB", 1)
    assert read_upload("ok.txt", b"w" * 999_999 + b"\n").n_rows == 1
    with pytest.raises(SourceError, match="limit is 1 MB"):
        read_upload("big.txt", b"w" * 1_000_001)


def test_a_whitespace_only_upload_says_what_it_holds() -> None:
    with pytest.raises(SourceError, match="only spaces and line breaks, 7 bytes"):
        read_upload("blank.txt", b"  \n\t\n  ")
    with pytest.raises(SourceError, match="0 bytes"):
        read_upload("empty.txt", b"")


def test_random_bytes_without_a_nul_are_not_taken_for_text() -> None:
    import random

    rng = random.Random(0)
    noise = bytes(rng.randrange(1, 256) for _ in range(20_000))
    with pytest.raises(SourceError, match="Most of 'noise.txt' is not text"):
        read_upload("noise.txt", noise)


def test_an_upload_read_from_a_file_object_is_streamed_in_chunks() -> None:
    """Streamlit's UploadedFile is passed as it is: read in 1 MiB chunks, never copied whole."""
    import hashlib

    data = bytes(range(256)) * 10_000  # 2.56 MB: three chunks
    reads: list[int] = []

    class Upload(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            reads.append(size)
            return super().read(size)

    upload = Upload(data)
    upload.read(7)  # a page may have read some already: the whole file is stored all the same
    spec = sources.store_upload("big.txt", upload)
    assert spec.key == hashlib.sha256(data).hexdigest() == sources.store_upload("big.txt", data).key
    assert spec.file_path().read_bytes() == data
    assert reads[1:] == [sources.spec.UPLOAD_CHUNK_BYTES] * 4  # 3 chunks, then the empty read
    assert not list(sources.uploads_dir().glob(".upload.*"))  # no temporary file left behind


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_lines_of_only_unicode_spaces_are_not_documents(newline: str) -> None:
    """A line of no-break spaces, ideographic spaces or a line separator is empty, as a line of
    blanks is; a trailing \\r of Windows line ends is dropped; a zero-width space is not a space."""
    lines = ["first line", "\u00a0\u3000", " \t\v\x85", "\u2028", "  last\u200b", ""]
    data = read_upload("spaces.txt", newline.join(lines).encode())
    assert data.dataset["text"] == ["first line", "  last\u200b"]
    assert data.dataset["line"] == [1, 5]
