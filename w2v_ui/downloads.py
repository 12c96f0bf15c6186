"""Files the app offers for download, made only when the person clicks.

Each function returns a zero-argument callable for `st.download_button(data=...)`: Streamlit runs it
on click, in its own thread, so drawing the Export page never waits for a 50 MB file. The callables
capture the already loaded (read-only) `Embeddings` or plain values, never session state, which that
thread cannot see.
Files are written by `w2v_core.export` into a temporary folder and read back as bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from w2v_core import export
from w2v_core.embeddings import Embeddings
from w2v_ui import runs


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


def run_zip_bytes(run_name: str) -> Callable[[], bytes]:
    def make() -> bytes:
        return _via_temp_file(
            lambda p: export.export_run_zip(runs.runs_root() / run_name, p), f"{run_name}.zip"
        )

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
