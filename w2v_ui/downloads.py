"""Files the app offers for download, made only when the person clicks.

Each function returns a zero-argument callable for `st.download_button(data=...)`: Streamlit runs it
on click, in its own thread, so drawing the Export page never waits for a 50 MB file. The callables
capture the already loaded (read-only) `Embeddings` or plain values, never session state, which that
thread cannot see.
Files are written by `w2v_core.export` into a temporary folder and read back as bytes. The run's zip
(hundreds of MB for a long run) is different: its size is shown first, it is written to disk in a
background job with progress (`run_zip_job`, under `$W2V_CACHE_DIR/exports/`), and read only when the
person clicks Download; above `W2V_MAX_DOWNLOAD_MB` the page points to the command line instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from w2v_core import export
from w2v_core.embeddings import Embeddings
from w2v_core.preprocess.cache import default_cache_dir
from w2v_ui import loaders, runs


def file_stem(run_name: str, epoch: int | str | None, kind: str) -> str:
    label = "stopped" if epoch == "stopped" else f"epoch{epoch}"
    return f"{run_name}-{label}-{kind}"


def _via_temp_file(write: Callable[[Path], Any], name: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="w2v-export-") as folder:
        path = Path(folder) / name
        write(path)
        return path.read_bytes()


def word2vec_bytes(emb: Embeddings, binary: bool) -> Callable[[], bytes]:
    def make() -> bytes:
        return _via_temp_file(lambda p: export.export_word2vec(emb, p, binary=binary), "vectors")

    return make


def projector_bytes(emb: Embeddings, which: str) -> Callable[[], bytes]:
    """`which`: "vectors" or "metadata", the two files the Embedding Projector loads."""

    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="w2v-export-") as folder:
            vectors, metadata = export.export_projector(emb, folder)
            return (vectors if which == "vectors" else metadata).read_bytes()

    return make


# ---- the run as a zip: sized beforehand, made on disk in the background, then downloaded -----------
ZIP_LIMIT_ENV = "W2V_MAX_DOWNLOAD_MB"
ZIP_LIMIT_MB_DEFAULT = 1024  # the browser download holds the file in the server's memory once
ZIP_KEEP_SECONDS = 3600  # prepared zips older than this are deleted when another is prepared


def zip_limit_bytes() -> int:
    try:
        return max(int(os.environ.get(ZIP_LIMIT_ENV) or ZIP_LIMIT_MB_DEFAULT), 1) * 1024 * 1024
    except ValueError:
        return ZIP_LIMIT_MB_DEFAULT * 1024 * 1024


def _zip_folder() -> Path:
    return default_cache_dir() / "exports"


@st.cache_resource(show_spinner=False)
def _zip_jobs():
    # The same background-job store as preprocessing: one job per (run, checkpoints, stamp).
    return loaders._Preparations(max_entries=4)


def _make_zip(run_name: str, checkpoints: str, report) -> Path:
    folder = _zip_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.zip"):  # a day's downloads do not pile up on the server
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > ZIP_KEEP_SECONDS:
                old.unlink()
    path = folder / f"{secrets.token_hex(16)}.zip"  # not guessable, never shown
    return export.export_run_zip(runs.runs_root() / run_name, path, checkpoints, progress=report)


def run_zip_job(run_name: str, checkpoints: str):
    """The background job that writes this run's zip (started on first call); its `result` is the
    zip's path. A new checkpoint (a stamp change) makes a new zip."""
    stamp = runs.run_folder(run_name).checkpoints_stamp()
    return _zip_jobs().get(
        ("zip", run_name, checkpoints, stamp),
        lambda report: _make_zip(run_name, checkpoints, report),
    )


def forget_zip(run_name: str, checkpoints: str) -> None:
    """Drop a finished zip job (failed, or its file deleted meanwhile): the next asks anew."""
    stamp = runs.run_folder(run_name).checkpoints_stamp()
    _zip_jobs().forget(("zip", run_name, checkpoints, stamp))


def file_bytes(path: Path) -> Callable[[], bytes]:
    """Read when the person clicks Download, not when the page is drawn."""

    def make() -> bytes:
        return Path(path).read_bytes()

    return make


def figure_html(figure) -> Callable[[], str]:
    """The map as a stand-alone HTML page that works offline (plotly.js included)."""

    def make() -> str:
        return figure.to_html(
            include_plotlyjs=True, full_html=True, config={"displaylogo": False, "scrollZoom": True}
        )

    return make


def map_csv(word_map, cluster_labels=None) -> Callable[[], bytes]:
    """word, x, y, count (and cluster) of a `maps.WordMap`."""

    def make() -> bytes:
        return _via_temp_file(
            lambda p: export.export_coordinates_csv(
                word_map.words, word_map.coords, p, counts=word_map.counts, clusters=cluster_labels
            ),
            "map.csv",
        )

    return make


def file_size_text(size: int) -> str:
    if size < 1e6:
        return f"{max(size / 1e3, 1):,.0f} kB"
    return f"{size / 1e6:,.1f} MB" if size < 1e9 else f"{size / 1e9:,.2f} GB"


@st.fragment(run_every=0.5)
def _watch_zip(job) -> None:
    if job.done:
        st.rerun()  # the whole page, now with the Download button
    st.progress(job.fraction, text=f"Writing the zip: {job.message}")


ZIP_SIZES_KEPT_SECONDS = 10


def _folder_stamp(run_name: str, now: float | None = None) -> tuple[int, ...]:
    """Changes when a file is added to or removed from the run's folder or its checkpoints; for a
    folder that changed in the last ZIP_SIZES_KEPT_SECONDS (a run training, a checkpoint every
    epoch), once per that many seconds instead, so a live run's sizes are not listed on every
    rerun."""
    import time

    run = runs.run_folder(run_name)
    stamps = []
    for folder in (run.path, run.checkpoint_dir):
        try:
            stamps.append(folder.stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    now = time.time() if now is None else now
    if now - max(stamps) / 1e9 < ZIP_SIZES_KEPT_SECONDS:
        return (-1, int(now // ZIP_SIZES_KEPT_SECONDS))
    return tuple(stamps)


# A run's zip sizes list and stat every file (thousands of checkpoints in a long run): kept per
# folder stamp, and for 10 s at most (a file that grows, metrics.jsonl, does not move the stamp).
@st.cache_data(ttl=ZIP_SIZES_KEPT_SECONDS, max_entries=64, show_spinner=False)
def _zip_sizes(run_name: str, stamp: tuple[int, ...]) -> dict[str, int]:
    del stamp  # part of the key only
    return {c: export.run_zip_size(runs.runs_root() / run_name, c) for c in ("last", "all")}


def run_zip_section(run_name: str) -> None:
    """The Export page's zip: which checkpoints (with each choice's size), Prepare (a background
    job with progress), then Download; too big for the browser: the command that does it."""
    from w2v_ui import state, widgets

    saved = [e for e in widgets.saved_epochs(run_name) if isinstance(e, int)]
    sizes = _zip_sizes(run_name, _folder_stamp(run_name))
    labels = {
        "last": f"Only the newest epoch ({file_size_text(sizes['last'])})",
        "all": f"All {len(saved)} saved epochs ({file_size_text(sizes['all'])})",
    }
    checkpoints = st.radio(
        "Checkpoints in the zip",
        ["last", "all"],
        format_func=labels.__getitem__,
        key=state.EXPORT_ZIP_CHECKPOINTS,
        help="The newest epoch is enough to open the run elsewhere and go on training it; every "
        "epoch lets Compare follow the words through training there too.",
    )
    if sizes[checkpoints] > zip_limit_bytes():
        st.warning(
            f"This zip would be {file_size_text(sizes[checkpoints])}, more than this server lets a "
            f"browser download ({file_size_text(zip_limit_bytes())}; the operator sets "
            f"{ZIP_LIMIT_ENV}). Choose only the newest epoch, or on the server run "
            f"`python -m w2v_core export <the run's folder> --format zip --out run.zip`.",
            icon=":material/warning:",
        )
        return
    asked = (run_name, checkpoints)
    if state.get(state.EXPORT_ZIP_STARTED) != asked:
        if st.button(
            f"Prepare the zip ({file_size_text(sizes[checkpoints])})",
            key=state.EXPORT_ZIP_PREPARE,
            icon=":material/folder_zip:",
        ):
            state.put(state.EXPORT_ZIP_STARTED, asked)
            run_zip_job(run_name, checkpoints)
            st.rerun()
        return
    job = run_zip_job(run_name, checkpoints)
    if not job.done:
        _watch_zip(job)
        return
    if job.error is not None or not Path(job.result).is_file():
        if job.error is not None:
            widgets.show_unexpected_error(job.error, "writing the zip")
        else:
            st.error("The prepared zip is gone from the server (it is kept for an hour).")
        st.button(
            "Prepare it again",
            key=state.EXPORT_ZIP_RETRY,
            on_click=forget_zip,
            args=(run_name, checkpoints),
        )
        return
    st.download_button(
        f"Download the zip ({file_size_text(Path(job.result).stat().st_size)})",
        file_bytes(job.result),
        file_name=f"{run_name}.zip",
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
        key=state.EXPORT_ZIP,
    )
