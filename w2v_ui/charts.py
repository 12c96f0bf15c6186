"""Plotly figures the pages draw. Pure functions from plain data to a `go.Figure`; no `st.*`.

Figures share one look: white background, the app's blue for the main series, a grey for context,
and hover text that names what a point is in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from w2v_core.run_folder import EpochRecord, ProgressRecord

MAX_EPOCH_TICKS = 25  # more epochs than this: ticks and boundary lines every few epochs
BLUE = "#1f6feb"
LIGHT_BLUE = "rgba(31, 111, 235, 0.35)"
ORANGE = "#e8590c"
GREY = "#adb5bd"
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
]


def _base_layout(fig: go.Figure, height: int = 380, **extra: Any) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        **extra,
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eee", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#eee", zeroline=False)
    return fig


# ---- training --------------------------------------------------------------------------------------
def loss_chart(
    progress: Sequence[ProgressRecord],
    epochs: Sequence[EpochRecord],
    epochs_total: int,
    height: int = 360,
) -> go.Figure:
    """Loss per progress report (thin line) and per finished epoch (markers), against epochs.

    The x axis is training progress in epochs (1.5 = half way through the second epoch), so the
    per-report curve and the per-epoch averages share one axis and epoch boundaries fall on integers.
    """
    fig = go.Figure()
    points = [(r.fraction_done * epochs_total, r.loss) for r in progress if r.loss is not None]
    if points:
        xs, ys = zip(*points, strict=False)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="loss (each report)",
                line={"color": LIGHT_BLUE, "width": 1.5},
                hovertemplate="epoch %{x:.2f}<br>loss %{y:.4f}<extra></extra>",
            )
        )
    finished = [(r.epoch, r.loss) for r in epochs if r.loss is not None]
    if finished:
        xs, ys = zip(*finished, strict=False)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="average over the epoch",
                line={"color": BLUE, "width": 2.5},
                marker={"size": 9 if len(finished) <= MAX_EPOCH_TICKS else 4},
                hovertemplate="end of epoch %{x}<br>average loss %{y:.4f}<extra></extra>",
            )
        )
    _add_d2l_loss(fig, progress, epochs, epochs_total)
    # Epoch boundaries as dotted lines, set in one go: `add_vline` per epoch costs plotly tens of
    # milliseconds each, which for a 300-epoch run would stall the live view for seconds.
    step = max(1, math.ceil(epochs_total / MAX_EPOCH_TICKS))
    fig.update_layout(
        shapes=[
            {"type": "line", "xref": "x", "yref": "paper", "x0": e, "x1": e, "y0": 0, "y1": 1,
             "line": {"color": "#ddd", "width": 1, "dash": "dot"}}
            for e in range(step, epochs_total, step)
        ]
    )  # fmt: skip
    _base_layout(fig, height=height)
    fig.update_xaxes(title="epochs of training", range=[0, max(epochs_total, 1)], dtick=step)
    fig.update_yaxes(title="loss (lower is better)", rangemode="tozero")
    return fig


D2L_LOSS_LABEL = "d2l book's loss (mean per context/noise position)"


def _add_d2l_loss(
    fig: go.Figure,
    progress: Sequence[ProgressRecord],
    epochs: Sequence[EpochRecord],
    epochs_total: int,
) -> None:
    """The d2l book's loss beside ours, in orange, when the engine reported it (the fused Adam
    engine does): each report as a thin line, each epoch's mean as markers."""
    points = [
        (r.fraction_done * epochs_total, r.d2l_loss) for r in progress if r.d2l_loss is not None
    ]
    if points:
        xs, ys = zip(*points, strict=False)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"{D2L_LOSS_LABEL}, each report",
                line={"color": "rgba(232, 89, 12, 0.35)", "width": 1.5},
                hovertemplate="epoch %{x:.2f}<br>d2l book's loss %{y:.4f}<extra></extra>",
            )
        )
    finished = [(r.epoch, r.d2l_loss) for r in epochs if r.d2l_loss is not None]
    if finished:
        xs, ys = zip(*finished, strict=False)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=f"{D2L_LOSS_LABEL}, epoch average",
                line={"color": ORANGE, "width": 2.5},
                marker={"size": 9 if len(finished) <= MAX_EPOCH_TICKS else 4},
                hovertemplate="end of epoch %{x}<br>d2l book's loss %{y:.4f}<extra></extra>",
            )
        )


def loss_curves(curves: dict[str, Sequence[tuple[float, float]]], height: int = 320) -> go.Figure:
    """Several loss curves on one chart, e.g. two runs compared: name -> [(epoch, loss)]."""
    fig = go.Figure()
    for i, (name, points) in enumerate(curves.items()):
        if not points:
            continue
        xs, ys = zip(*points, strict=False)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=name,
                line={"color": PALETTE[i % len(PALETTE)], "width": 2},
                hovertemplate=f"{_escape_hover(name)}<br>epoch %{{x}}<br>loss %{{y:.4f}}<extra></extra>",
            )
        )
    _base_layout(fig, height=height)
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="loss", rangemode="tozero")
    return fig


# ---- evaluation ------------------------------------------------------------------------------------
def evaluation_chart(
    scores: dict[str, Sequence[tuple[float, float | None, str]]],
    losses: Sequence[tuple[float, float]] = (),
    height: int = 360,
) -> go.Figure:
    """Benchmark scores over training (left axis) beside the loss per epoch (right axis).

    `scores`: benchmark name -> [(epochs of training, score or None, coverage in words)]; a None
    score leaves a gap, never a point at zero. `losses`: [(epoch, mean loss of the epoch)].
    """
    fig = go.Figure()
    for i, (name, points) in enumerate(scores.items()):
        if not any(score is not None for _, score, _ in points):
            continue
        fig.add_trace(
            go.Scatter(
                x=[x for x, _, _ in points],
                y=[score for _, score, _ in points],
                customdata=[_escape_hover(text) for _, _, text in points],
                mode="lines+markers",
                name=_escape_hover(name),
                line={"color": PALETTE[i % len(PALETTE)], "width": 2.5},
                hovertemplate=f"{_escape_hover(name)}<br>after %{{x:.2f}} epochs: %{{y:.3f}}"
                "<br>%{customdata}<extra></extra>",
            )
        )
    if losses:
        xs, ys = zip(*losses, strict=False)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                yaxis="y2",
                mode="lines+markers",
                name="loss (right axis)",
                line={"color": GREY, "width": 2, "dash": "dot"},
                hovertemplate="end of epoch %{x}<br>average loss %{y:.4f}<extra></extra>",
            )
        )
    _base_layout(fig, height=height)
    fig.update_layout(
        yaxis2={"title": "loss", "overlaying": "y", "side": "right", "showgrid": False},
    )
    fig.update_xaxes(title="epochs of training", rangemode="tozero")
    fig.update_layout(  # the left axis only: update_yaxes would retitle the loss axis too
        yaxis={
            "title": "score (Spearman, or share of analogies right)",
            "zeroline": True,
            "zerolinecolor": "#ccc",
        }
    )
    return fig


# ---- preprocessing ---------------------------------------------------------------------------------
def zipf_chart(
    ranks: Sequence[int], counts: Sequence[int], vocab_size: int | None = None, height: int = 320
) -> go.Figure:
    """Word frequency against rank on log-log axes, with the ideal Zipf line for reference.

    With `vocab_size`, a line marks where the vocabulary ends: words to its right were too rare.
    """
    ranks_arr = np.asarray(ranks, dtype=float)
    counts_arr = np.asarray(counts, dtype=float)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=ranks_arr,
            y=counts_arr,
            mode="lines",
            name="your corpus",
            line={"color": BLUE, "width": 2},
            hovertemplate="rank %{x:,.0f}<br>count %{y:,.0f}<extra></extra>",
        )
    )
    if len(counts_arr):
        ideal = counts_arr[0] / ranks_arr
        fig.add_trace(
            go.Scatter(
                x=ranks_arr,
                y=ideal,
                mode="lines",
                name="Zipf's law (count ∝ 1/rank)",
                line={"color": GREY, "dash": "dash"},
                hoverinfo="skip",
            )
        )
    _base_layout(fig, height=height)
    if vocab_size and len(ranks_arr) and vocab_size < ranks_arr.max():
        fig.add_vline(
            x=vocab_size,
            line={"color": ORANGE, "dash": "dot"},
            annotation={"text": "vocabulary ends here", "font": {"color": ORANGE, "size": 11}},
        )
    # Ticks at powers of ten only; the reference line must not stretch the axis below the data.
    fig.update_xaxes(type="log", dtick=1, title="rank of the word (1 = most frequent)")
    low = max(float(counts_arr.min()) * 0.7, 0.5) if len(counts_arr) else 0.5
    high = float(counts_arr.max()) * 1.5 if len(counts_arr) else 10.0
    fig.update_yaxes(
        type="log", dtick=1, range=[np.log10(low), np.log10(high)], title="times it occurs"
    )
    return fig


def top_words_chart(words: Sequence[str], counts: Sequence[int], height: int = 420) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=list(counts)[::-1],
            y=[_escape_hover(w) for w in words][::-1],
            orientation="h",
            marker={"color": BLUE},
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    _base_layout(fig, height=height)
    fig.update_xaxes(title="times it occurs")
    return fig


# ---- comparing -------------------------------------------------------------------------------------
def overlap_chart(
    series: dict[str, Sequence[tuple[str, float]]], k: int, height: int = 320
) -> go.Figure:
    """Jaccard@k between consecutive epochs: word -> [(\"1→2\", 0.43), ...]."""
    fig = go.Figure()
    for i, (word, points) in enumerate(series.items()):
        if not points:
            continue
        xs, ys = zip(*points, strict=False)
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="lines+markers",
                name=_escape_hover(word),
                line={"color": PALETTE[i % len(PALETTE)], "width": 2},
                hovertemplate=f"{_escape_hover(word)}<br>%{{x}}: %{{y:.2f}}<extra></extra>",
            )
        )
    _base_layout(fig, height=height)
    fig.update_xaxes(title="from one saved epoch to the next", type="category")
    fig.update_yaxes(title=f"overlap of the top {k} neighbours", range=[0, 1.05])
    return fig


# ---- stability studies -------------------------------------------------------------------------------
def stability_frequency_chart(
    words: Sequence[str],
    counts: Sequence[float],
    stability: Sequence[float],
    min_count: int,
    low: float,
    k: int,
    height: int = 400,
) -> go.Figure:
    """Each word's stability (mean Jaccard@k over run pairs) against how often it occurs (log
    scale), with the median per frequency band, the corpus's min_count cut (rarer words have no
    vector at all) and the line under which a word counts as unstable."""
    counts = np.maximum(np.asarray(counts, dtype=float), 1.0)
    stability = np.asarray(stability, dtype=float)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=counts,
            y=stability,
            mode="markers",
            name="a word",
            marker={"color": LIGHT_BLUE, "size": 5},
            text=[_escape_hover(w) for w in words],
            hovertemplate="%{text}<br>%{x:,.0f} times · stability %{y:.2f}<extra></extra>",
        )
    )
    if len(counts) >= 10:
        edges = np.unique(np.geomspace(counts.min(), counts.max() * 1.0001, 12))
        band = np.digitize(counts, edges)
        centres, medians = [], []
        for b in np.unique(band):
            inside = band == b
            if inside.sum() >= 3:
                centres.append(float(np.exp(np.log(counts[inside]).mean())))
                medians.append(float(np.median(stability[inside])))
        fig.add_trace(
            go.Scatter(
                x=centres,
                y=medians,
                mode="lines+markers",
                name="median of the band",
                line={"color": BLUE, "width": 3},
                hovertemplate="about %{x:,.0f} times: median %{y:.2f}<extra></extra>",
            )
        )
    # Lines as traces, not shapes: a shape's x on a log axis would need log10 of the value.
    cut = float(max(min_count, 1))
    fig.add_trace(
        go.Scatter(
            x=[cut, cut],
            y=[0, 1],
            mode="lines",
            name=f"min_count cut ({min_count}): rarer words have no vector",
            line={"color": ORANGE, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    left = min(cut, float(counts.min()) if len(counts) else cut)
    right = float(counts.max()) if len(counts) else cut * 10
    fig.add_trace(
        go.Scatter(
            x=[left, right],
            y=[low, low],
            mode="lines",
            name=f"below {low}: unstable",
            line={"color": GREY, "dash": "dot"},
            hoverinfo="skip",
        )
    )
    _base_layout(fig, height=height)
    fig.update_xaxes(title="times the word occurs in the corpus (log scale)", type="log")
    fig.update_yaxes(title=f"stability (overlap of the top {k} across runs)", range=[-0.02, 1.05])
    return fig


def _escape_hover(text: str) -> str:
    """Plotly renders a small HTML subset in labels and hovers; show user words literally."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
