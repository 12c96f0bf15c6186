"""The data set a session works with: a small, hashable `DataChoice`, and loading it (cached).

Session state holds only the `DataChoice` (source, key, columns); the rows themselves are loaded by
`load(choice)`, cached per process, so twenty students choosing the Lee corpus share one copy.
Uploads are written once to the cache folder under their SHA-256, so a `DataChoice` names an upload
by content and never carries the bytes.
Leaves out: reading sources (`w2v_core.sources`) and cleaning text (`w2v_core.preprocess`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import streamlit as st

from w2v_core import sources

DataKind = Literal["builtin", "hub", "upload"]
KIND_LABELS: dict[str, str] = {
    "builtin": "Built-in corpus",
    "hub": "Hugging Face data set",
    "upload": "Upload a file",
}
DEFAULT_BUILTIN = "lee"  # always available: it ships with gensim


@dataclass(frozen=True)
class DataChoice:
    """Which data set and which columns; small and hashable (a cache key and a session value)."""

    kind: DataKind
    key: str  # built-in corpus key | Hub id or dataset folder | upload SHA-256
    label: str  # what the person sees: corpus name, Hub id, file name
    text_column: str | None = None  # None: the source's own guess
    metadata_columns: tuple[str, ...] = ()
    config: str | None = None  # Hub only
    split: str = "train"  # Hub only
    max_rows: int | None = None  # Hub only: stream just the first rows
    filename: str | None = None  # upload only
    txt_mode: str = "lines"  # upload .txt only: one document per line, or the whole file

    def with_columns(self, text_column: str, metadata_columns: tuple[str, ...] = ()) -> DataChoice:
        return replace(self, text_column=text_column, metadata_columns=tuple(metadata_columns))


def short_label(choice: DataChoice | None) -> str:
    if choice is None:
        return "none"
    column = (
        f" (column '{choice.text_column}')"
        if choice.text_column and choice.kind != "builtin"
        else ""
    )
    return f"{choice.label}{column}"


def default_choice() -> DataChoice:
    """The built-in corpus a quick demo uses when the person has not chosen data."""
    corpus = next(c for c in sources.list_builtin_corpora() if c.key == DEFAULT_BUILTIN)
    return DataChoice("builtin", corpus.key, corpus.name, "text", corpus.metadata_columns)


# ---- uploads ----------------------------------------------------------------------------------------
def uploads_dir() -> Path:
    """Where uploads are kept: beside the preprocessing cache ($W2V_CACHE_DIR or ~/.cache/w2v_studio)."""
    from w2v_core.preprocess import default_cache_dir

    return default_cache_dir().expanduser().resolve() / "uploads"


def store_upload(filename: str, data: bytes) -> str:
    """Keep an uploaded file under its SHA-256 (once) and return the digest."""
    digest = hashlib.sha256(data).hexdigest()
    folder = uploads_dir() / digest
    target = folder / Path(filename).name
    if not target.is_file():
        from w2v_core.io_utils import atomic_write_bytes

        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
    return digest


def _upload_path(digest: str, filename: str) -> Path:
    return uploads_dir() / digest / Path(filename).name


# ---- loading ----------------------------------------------------------------------------------------
@st.cache_resource(max_entries=12, show_spinner=False)
def _load_rows(
    kind: str,
    key: str,
    config: str | None,
    split: str,
    max_rows: int | None,
    filename: str | None,
    txt_mode: str,
    text_column: str | None,
) -> sources.TextDataset:
    if kind == "builtin":
        return sources.load_builtin(key)
    if kind == "hub":
        return sources.load_hub(
            key, config=config, split=split, text_column=text_column, max_rows=max_rows
        )
    path = _upload_path(key, filename or "upload.txt")
    if not path.is_file():
        raise sources.SourceError(
            f"The uploaded file '{filename}' is no longer on the server; please upload it again."
        )
    return sources.load_file(path, txt_mode=txt_mode)


def load(choice: DataChoice) -> sources.TextDataset:
    """The rows of `choice`, with its text and metadata columns selected."""
    # Hub data needs the text column when loading; other sources load every column then select.
    hub_column = choice.text_column if choice.kind == "hub" else None
    dataset = _load_rows(
        choice.kind,
        choice.key,
        choice.config,
        choice.split,
        choice.max_rows,
        choice.filename,
        choice.txt_mode,
        hub_column,
    )
    text_column = choice.text_column or dataset.text_column
    if (
        text_column == dataset.text_column
        and tuple(choice.metadata_columns) == dataset.metadata_columns
    ):
        return dataset
    return dataset.with_columns(text_column, choice.metadata_columns)


@st.cache_data(max_entries=32, show_spinner=False)
def hub_schema(dataset_id: str, config: str | None = None) -> sources.HubSchema:
    return sources.hub_schema(dataset_id, config)


@st.cache_data(max_entries=32, show_spinner=False)
def basic_counts(choice: DataChoice) -> dict[str, Any]:
    """Rows, words (whitespace-separated), empty rows and mean words per row of the text column."""
    dataset = load(choice)
    words = empty = 0
    for batch in dataset.iter_text_batches():
        for text in batch:
            n = len(text.split())
            words += n
            empty += n == 0
    rows = dataset.n_rows
    return {
        "rows": rows,
        "words": words,
        "empty_rows": empty,
        "words_per_row": words / rows if rows else 0.0,
    }
