"""The data set a session works with: the core's `DataSpec`, and loading it (cached).

Session state holds only the `DataSpec` (source, key, columns, encoding); the rows themselves are
loaded by `load(spec)`, cached per process, so twenty students choosing the Lee corpus share one copy.
Uploads are stored by the core under their SHA-256 (`sources.store_upload`), so a spec names an
upload by content and never carries the bytes.
Leaves out: what a spec is and how it loads (`w2v_core.sources.spec`), cleaning text
(`w2v_core.preprocess`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from w2v_core import sources
from w2v_core.sources import DataSpec
from w2v_ui.budget_cache import budget_cached

KIND_LABELS: dict[str, str] = {  # the kinds the Data page offers ("file" is for the command line)
    "builtin": "Built-in corpus",
    "hub": "Hugging Face data set",
    "upload": "Upload a file",
}
DEFAULT_BUILTIN = "lee"  # always available: it ships with gensim


def short_label(spec: DataSpec | None) -> str:
    if spec is None:
        return "none"
    column = (
        f" (column '{spec.text_column}')" if spec.text_column and spec.kind != "builtin" else ""
    )
    return f"{spec.label}{column}"


def default_choice() -> DataSpec:
    """The built-in corpus a quick demo uses when the person has not chosen data."""
    corpus = next(c for c in sources.list_builtin_corpora() if c.key == DEFAULT_BUILTIN)
    return DataSpec("builtin", corpus.key, corpus.name, "text", corpus.metadata_columns)


# ---- loading ----------------------------------------------------------------------------------------
def local_folders() -> tuple[str, ...]:
    """The folders the operator lets the app read (`W2V_LOCAL_DATA_DIRS`); none by default.

    Every load and description in the app passes these, so a typed path elsewhere (the upload
    cache, `~`) is refused; the command line passes none and reads any path.
    """
    return tuple(str(folder) for folder in sources.local_folders_from_env())


# The memory budget of loaded rows. Hub data are memory-mapped Arrow files and the built-in corpora
# are small, but an upload is parsed into memory: up to several times its size (a 200 MB upload,
# about 1 GB at the peak and a few hundred MB kept). The tables held stay within W2V_ROWS_CACHE_MB
# together (the newest always stays, so a larger one replaces the others), each dropped an hour
# after it was read; a class that shares one corpus keeps it, and a dropped upload is read again
# from disk in seconds.
ROWS_CACHE_BUDGET_ENV = "W2V_ROWS_CACHE_MB"
ROWS_CACHE_DEFAULT_MB = 1024
ROWS_CACHE_TTL_SECONDS = 3600
MAPPED_ROWS_BYTES = 1024 * 1024  # what a memory-mapped data set is counted as (its objects)


def rows_memory_bytes(dataset: sources.TextDataset) -> int:
    """The memory a loaded data set holds in this process: its Arrow table's bytes when the table
    is in memory (an upload, a built-in corpus), at least MAPPED_ROWS_BYTES; that nominal size when
    it is memory-mapped from a file (Hub data: the system pages it in and out)."""
    from datasets.table import MemoryMappedTable

    table = dataset.dataset.data
    if isinstance(table, MemoryMappedTable):
        return MAPPED_ROWS_BYTES
    return max(MAPPED_ROWS_BYTES, int(table.nbytes))


@budget_cached(
    budget_env=ROWS_CACHE_BUDGET_ENV,
    default_mb=ROWS_CACHE_DEFAULT_MB,
    ttl_seconds=ROWS_CACHE_TTL_SECONDS,
    size_of=rows_memory_bytes,
)
def _load_rows(rows: DataSpec, allowed: tuple[str, ...]) -> sources.TextDataset:
    dataset = sources.load_spec(rows, local_folders=allowed)
    if rows.kind == "upload":  # parsing took several times the file's size, now garbage
        _give_back_freed_memory()
    return dataset


def _give_back_freed_memory() -> None:
    """Hand the heap that parsing freed back to the system: glibc and Arrow's allocator keep freed
    pages for reuse, so without this a server holds a large upload's peak long after (issue 9)."""
    import contextlib
    import ctypes
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its allocator decides
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def load(spec: DataSpec) -> sources.TextDataset:
    """The rows of `spec` (shared by every session), with its text and metadata columns selected."""
    return sources.with_spec_columns(_load_rows(spec.rows_only(), local_folders()), spec)


@st.cache_resource(ttl=3600, show_spinner=False)
def forget_old_uploads(runs_root: str) -> list[str]:
    """Delete uploads that no run names and nobody uploaded for a day; at most hourly per process.

    Called when someone uploads (the first upload after a server start prunes too).
    """
    return sources.prune_uploads([runs_root])


def hub_schema(dataset_id: str, config: str | None = None) -> sources.HubSchema:
    """A Hub data set's (or an allowed folder's) description; `dataset_id` is the checked name."""
    return _hub_schema(dataset_id, config, local_folders())


@st.cache_data(max_entries=32, show_spinner=False)
def _hub_schema(dataset_id: str, config: str | None, allowed: tuple[str, ...]) -> sources.HubSchema:
    return sources.hub_schema(dataset_id, config, local_folders=allowed)


@st.cache_data(max_entries=32, show_spinner=False)
def basic_counts(spec: DataSpec) -> dict[str, Any]:
    """Rows, words (whitespace-separated), empty rows and mean words per row of the text column."""
    dataset = load(spec)
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
