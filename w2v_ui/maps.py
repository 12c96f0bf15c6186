"""What the Map page draws: which words, their 2D positions and colours, as one plain `WordMap`.

`build_map` picks the words (the N most frequent, or a word and its nearest neighbours), projects
them with `w2v_core.projection.project_2d` and colours them (k-means clusters on the full vectors,
corpus frequency, or a word list the person typed). `word_map_figure` turns that into a plotly
scatter whose points carry their row index as `customdata`, so a click maps back to a word.
No `st.*` here: the page caches `build_map` through `w2v_ui.loaders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go

from w2v_core.embeddings import Embeddings
from w2v_core.projection import (
    TSNE_PERPLEXITY,
    UMAP_MIN_DIST,
    UMAP_NEIGHBOURS,
    kmeans_clusters,
    project_2d,
)
from w2v_ui.charts import GREY, ORANGE, PALETTE, _base_layout, _escape_hover

Scope = Literal["top", "around"]
ColourBy = Literal["cluster", "frequency", "list"]
MAX_LABELLED = 150  # at most this many words are written on the map (where they do not overlap)


LABEL_FONT_PX = 11
PLOT_WIDTH_PX = 900  # about the map's drawn width on the wide page: labels are spaced for it


def label_rows(
    xy: np.ndarray,
    words: list[str],
    always: list[int],
    max_labels: int,
    width_px: float = PLOT_WIDTH_PX,
    height_px: float = 560,
    equal_scale: bool = False,
) -> set[int]:
    """The points whose word is written on the map, without two labels on top of each other.

    `always` (the centre word, the person's own words) are written whatever they cover; then the
    other words in frequency order (row order) get a label where its box, about as wide as the word
    in an 11 px font and just above the point, overlaps no label placed so far, until `max_labels`.
    `equal_scale`: both axes share one scale (PCA's aspect lock), as plotly draws them.
    """
    n = len(words)
    if n == 0:
        return set()
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-12)  # (2,)
    scale = np.array([width_px, height_px]) / span
    if equal_scale:
        scale[:] = scale.min()
    points = (xy - xy.min(axis=0)) * scale  # (N, 2) in pixels, y up
    half_width = np.array([0.3 * LABEL_FONT_PX * len(w) + 2 for w in words])  # (N,)
    boxes = np.empty((max(n, 1), 4))  # placed labels: left, right, bottom, top
    placed = 0
    chosen: set[int] = set()

    def place(row: int) -> None:
        nonlocal placed
        x, y = points[row]
        boxes[placed] = (x - half_width[row], x + half_width[row], y + 4, y + 4 + LABEL_FONT_PX + 2)
        placed += 1
        chosen.add(row)

    for row in dict.fromkeys(always):
        place(row)
    for row in range(n):
        if len(chosen) >= max(max_labels, len(always)):
            break
        if row in chosen:
            continue
        x, y = points[row]
        left, right = x - half_width[row], x + half_width[row]
        bottom, top = y + 4, y + 4 + LABEL_FONT_PX + 2
        other = boxes[:placed]
        overlaps = (
            (other[:, 0] < right)
            & (left < other[:, 1])
            & (other[:, 2] < top)
            & (bottom < other[:, 3])
        )
        if not overlaps.any():
            place(row)
    return chosen


@dataclass(frozen=True, eq=False)
class WordMap:
    words: list[str]
    counts: np.ndarray  # (N,) corpus counts
    coords: np.ndarray  # (N, 2)
    method: str  # the method actually used (PCA when there were too few words for UMAP/t-SNE)
    params: dict[str, Any] = field(default_factory=dict)
    explained_variance: np.ndarray | None = None  # PCA: share of variance on each axis
    centre: str | None = None  # "around" maps: the word in the middle


def map_words(
    emb: Embeddings, scope: Scope, top_n: int = 1000, centre: str | None = None, size: int = 50
) -> list[str]:
    """The words to place: the `top_n` most frequent, or `centre` and its `size` nearest words."""
    if scope == "around":
        if not centre:
            raise ValueError("an 'around' map needs a centre word")
        return [centre] + [w for w, _ in emb.most_similar(centre, k=size)]
    return list(emb.words[: max(2, min(int(top_n), len(emb)))])


def build_map(
    emb: Embeddings,
    words: list[str],
    method: str,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    perplexity: float = 30.0,
    centre: str | None = None,
) -> WordMap:
    ids = [emb.index_of(w) for w in words]
    projection = project_2d(
        emb.vectors[ids], method, n_neighbors=n_neighbors, min_dist=min_dist, perplexity=perplexity
    )
    counts = emb.counts[ids] if emb.counts is not None else np.zeros(len(ids), dtype=np.int64)
    return WordMap(
        words,
        counts,
        projection.coords,
        projection.method,
        dict(projection.params),
        projection.explained_variance,
        centre,
    )


def clusters(emb: Embeddings, words: list[str], k: int) -> np.ndarray:
    """k-means labels of `words` on their full vectors (not the 2D map), 0 = largest cluster."""
    return kmeans_clusters(emb.vectors[[emb.index_of(w) for w in words]], k)


def method_note(word_map: WordMap) -> str:
    """What 2D distance means for the method used: one or two plain sentences."""
    if word_map.method == "pca":
        if word_map.explained_variance is not None:
            shown = float(np.sum(word_map.explained_variance))
            variance = f" These two axes keep {shown:.0%} of the variation in the vectors"
            variance += "; the rest is invisible here."
        else:
            variance = ""
        return (
            "PCA is a flat, straight-on view of the vectors: distances along the two axes are "
            f"faithful, but words that look close may be far apart in directions not shown.{variance}"
        )
    what = "UMAP" if word_map.method == "umap" else "t-SNE"
    return (
        f"{what} keeps each word's nearest neighbours close, but stretches and squeezes space: "
        "the size of a cluster and the distance between far-apart clusters mean little. Trust "
        "who sits next to whom, not how far apart groups are."
    )


def word_map_figure(
    word_map: WordMap,
    colour_by: ColourBy = "cluster",
    cluster_labels: np.ndarray | None = None,
    word_list: list[str] | None = None,
    highlight: list[str] | None = None,
    height: int = 640,
) -> go.Figure:
    """The map as a WebGL scatter; `customdata` of every point is its row in `word_map.words`."""
    words = word_map.words
    xy = word_map.coords
    counts = word_map.counts
    index = np.arange(len(words))
    hover = [
        f"<b>{_escape_hover(w)}</b><br>{int(c):,} times in the corpus"
        for w, c in zip(words, counts, strict=False)
    ]
    chosen_words = set(word_list or []) if colour_by == "list" else set()
    always = [0] if word_map.centre is not None else []
    always += [i for i, w in enumerate(words) if w in chosen_words]  # the person's words
    labelled = label_rows(
        xy,
        words,
        always,
        max_labels=0 if chosen_words else MAX_LABELLED,  # a list shown: only its words written
        height_px=height - 80,
        equal_scale=word_map.method == "pca",
    )
    fig = go.Figure()

    def add(
        rows: np.ndarray,
        name: str,
        marker: dict,
        text_colour: str = "#444",
        show_labels: bool = True,
    ) -> None:
        rows = np.asarray(rows, dtype=int)
        if len(rows) == 0:
            return
        # WebGL text is drawn on the canvas as it is (no HTML, no entities): the word itself, which
        # is literal there; hover boxes are HTML, so they get `_escape_hover`.
        text = [words[i] if (show_labels and i in labelled) else "" for i in rows]
        fig.add_trace(
            go.Scattergl(
                x=xy[rows, 0],
                y=xy[rows, 1],
                mode="markers+text",
                name=name,
                text=text,
                textposition="top center",
                textfont={"size": 11, "color": text_colour},
                customdata=rows,
                hovertext=[hover[i] for i in rows],
                hoverinfo="text",
                marker=marker,
            )
        )

    if colour_by == "cluster" and cluster_labels is not None:
        for cluster in range(int(cluster_labels.max()) + 1):
            rows = index[cluster_labels == cluster]
            add(
                rows,
                f"cluster {cluster + 1} ({len(rows)})",
                {"size": 8, "color": PALETTE[cluster % len(PALETTE)], "opacity": 0.8},
            )
    elif colour_by == "frequency":
        log_counts = np.log10(np.maximum(counts, 1))
        add(
            index,
            "words",
            {
                "size": 8,
                "color": log_counts,
                "colorscale": "Viridis",
                "opacity": 0.85,
                "colorbar": {
                    "title": {"text": "times in corpus"},
                    "tickvals": list(range(0, int(log_counts.max()) + 2)),
                    "ticktext": [f"{10**t:,}" for t in range(0, int(log_counts.max()) + 2)],
                },
            },
        )
    else:
        chosen = set(word_list or [])
        in_list = np.array([w in chosen for w in words], dtype=bool)
        add(
            index[~in_list],
            "other words",
            {"size": 7, "color": GREY, "opacity": 0.5},
            show_labels=not chosen,
        )
        add(index[in_list], "your words", {"size": 12, "color": ORANGE}, text_colour=ORANGE)

    found = [words.index(w) for w in (highlight or []) if w in words]
    if found:
        rows = np.array(found)
        fig.add_trace(
            go.Scattergl(
                x=xy[rows, 0],
                y=xy[rows, 1],
                mode="markers+text",
                name="search",
                text=[words[i] for i in rows],  # WebGL text: literal, bold through the font
                textposition="top center",
                textfont={"size": 14, "color": "#d6336c", "weight": "bold"},
                customdata=rows,
                hovertext=[hover[i] for i in rows],
                hoverinfo="text",
                marker={
                    "size": 18,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": "#d6336c", "width": 3},
                },
            )
        )
    _base_layout(fig, height=height, dragmode="pan", hovermode="closest")
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(
        showticklabels=False, title=None, scaleanchor="x" if word_map.method == "pca" else None
    )
    return fig


@dataclass(frozen=True)
class MapSettings:
    """Everything the Map page's controls decide."""

    scope: Scope = "top"
    top_n: int = 1000
    centre: str | None = None
    size: int = 50
    method: str = "umap"
    n_neighbors: int = UMAP_NEIGHBOURS
    min_dist: float = UMAP_MIN_DIST
    perplexity: float = TSNE_PERPLEXITY
    colour_by: ColourBy = "cluster"
    clusters: int = 8
    word_list: str = ""
    search: str = ""

    def projection_args(self) -> dict[str, Any]:
        """The arguments of `loaders.word_map` (what the layout depends on)."""
        return {
            "scope": self.scope,
            "top_n": self.top_n,
            "centre": self.centre,
            "size": self.size,
            "method": self.method,
            "n_neighbors": self.n_neighbors,
            "min_dist": self.min_dist,
            "perplexity": self.perplexity,
        }

    def cache_token(self, *context: object) -> str:
        """Short stable id of this layout (and `context`): a new map gets a fresh click selection."""
        import hashlib

        text = repr((context, sorted(self.projection_args().items())))
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def describe_work(self, n_words: int) -> str:
        """What the spinner says while the layout is computed."""
        n = self.size + 1 if self.scope == "around" else min(self.top_n, n_words)
        name = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}.get(self.method, self.method)
        text = f"Placing {n:,} words with {name}…"
        if self.method == "umap":
            text += (
                " (the first UMAP map after the server starts also compiles code: up to a minute)"
            )
        elif self.method == "tsne":
            text += " (t-SNE takes a while for thousands of words)"
        return text
