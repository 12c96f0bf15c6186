"""What the Compare page shows, shaped from `w2v_core.compare` results: neighbour tables with new and
dropped words marked, overlap series, the animated map of words moving across epochs, and the
side-by-side table of two runs. Pure functions (pandas / plotly), no `st.*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from w2v_ui.charts import GREY, PALETTE, _base_layout, _escape_hover

NEW_MARK = "+ "  # written before a neighbour that was not in the previous epoch's list
NEW_STYLE = "background-color: #d3f9d8; color: #2b8a3e; font-weight: 600"
DROPPED_STYLE = "color: #c92a2a"


SHOWN_EPOCHS = 6  # epochs shown by default: enough to see change, few enough to read and compute
WORD_COLUMN_WIDTH = 160  # pixels: "government" and longer words fit in the two-runs table


def epoch_label(epoch: Any) -> str:
    return "stopped" if epoch == "stopped" else f"epoch {epoch}"


def spread_epochs(epochs: Sequence[Any], most: int = SHOWN_EPOCHS) -> list[Any]:
    """At most `most` of `epochs`, spread evenly over the run, always the first and the last.

    >>> spread_epochs(list(range(1, 31)))
    [1, 7, 13, 18, 24, 30]
    """
    epochs = list(epochs)
    if len(epochs) <= most:
        return epochs
    if most <= 1:
        return epochs[-1:]
    picks = sorted({round(i * (len(epochs) - 1) / (most - 1)) for i in range(most)})
    return [epochs[i] for i in picks]


def missing_words(words: Sequence[str], vocabularies: dict[str, Any]) -> dict[str, list[str]]:
    """For each vocabulary (label -> anything supporting `in`), the words it lacks, in order."""
    return {
        label: [w for w in words if w not in vocabulary]
        for label, vocabulary in vocabularies.items()
    }


def epoch_table(history: Sequence[Any], k: int) -> pd.DataFrame:
    """One column per saved epoch: the k neighbours (new ones marked '+ '), then the dropped ones
    and the overlap (Jaccard@k) with the previous epoch."""
    columns: dict[str, list[str]] = {}
    for step in history:
        cells = [f"{NEW_MARK}{w}" if w in step.new else w for w, _ in step.neighbours]
        cells += [""] * (k - len(cells))
        cells.append(", ".join(step.dropped) if step.dropped else "")
        overlap = step.jaccard_with_previous
        cells.append("" if overlap is None else f"{overlap:.2f}")
        columns[epoch_label(step.epoch)] = cells
    index = [str(i) for i in range(1, k + 1)] + ["dropped", "overlap"]
    return pd.DataFrame(columns, index=index)


def style_epoch_table(table: pd.DataFrame):
    """Green for new neighbours, red for the dropped row (a pandas Styler for st.dataframe)."""

    def colour(value: Any) -> str:
        return NEW_STYLE if isinstance(value, str) and value.startswith(NEW_MARK) else ""

    styler = table.style.map(colour)
    if "dropped" in table.index:
        styler = styler.map(lambda _: DROPPED_STYLE, subset=pd.IndexSlice[["dropped"], :])
    return styler


def overlap_series(histories: dict[str, Sequence[Any]]) -> dict[str, list[tuple[str, float]]]:
    """word -> [("1→2", jaccard), ...] between consecutive saved epochs."""
    series = {}
    for word, history in histories.items():
        points = []
        for before, after in zip(history, history[1:], strict=False):
            if after.jaccard_with_previous is not None:
                points.append(
                    (f"{_short(before.epoch)}→{_short(after.epoch)}", after.jaccard_with_previous)
                )
        series[word] = points
    return series


def mean_overlap_points(steps: Sequence[Any]) -> list[tuple[str, float]]:
    return [(f"{_short(s.from_epoch)}→{_short(s.to_epoch)}", s.mean_jaccard) for s in steps]


def _short(epoch: Any) -> str:
    return "stop" if epoch == "stopped" else str(epoch)


def map_words(
    focus: Sequence[str],
    histories: dict[str, Sequence[Any]],
    vocabulary: Sequence[str],
    per_word: int = 8,
    backdrop: int = 150,
) -> list[str]:
    """Words for the moving map: the focus words, their final neighbours, some frequent words."""
    words = list(focus)
    for word in focus:
        history = histories.get(word) or []
        if history:
            words += [w for w, _ in history[-1].neighbours[:per_word]]
    words += list(vocabulary[:backdrop])
    return list(dict.fromkeys(words))


def trajectory_figure(epoch_maps: Any, focus: Sequence[str], height: int = 620) -> go.Figure:
    """The words at every saved epoch, aligned; a slider and a Play button move through epochs.

    Focus words are coloured and labelled and leave a trail of where they were; all other words
    are grey dots for orientation.
    """
    words = list(epoch_maps.words)
    coords = np.asarray(epoch_maps.coords)  # (E, N, 2)
    labels = [epoch_label(e) for e in epoch_maps.epochs]
    focus_rows = [words.index(w) for w in focus if w in words]
    other_rows = [i for i in range(len(words)) if i not in set(focus_rows)]

    def traces(e: int) -> list[go.BaseTraceType]:
        out: list[go.BaseTraceType] = [
            go.Scatter(
                x=coords[e, other_rows, 0],
                y=coords[e, other_rows, 1],
                mode="markers",
                marker={"size": 6, "color": GREY, "opacity": 0.5},
                name="other words",
                hovertext=[_escape_hover(words[i]) for i in other_rows],
                hoverinfo="text",
            )
        ]
        for n, row in enumerate(focus_rows):
            colour = PALETTE[n % len(PALETTE)]
            out.append(
                go.Scatter(
                    x=coords[: e + 1, row, 0],
                    y=coords[: e + 1, row, 1],
                    mode="lines+markers",
                    line={"color": colour, "width": 2, "dash": "dot"},
                    marker={"size": 5, "color": colour},
                    name=f"{_escape_hover(words[row])} (path)",
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
            out.append(
                go.Scatter(
                    x=[coords[e, row, 0]],
                    y=[coords[e, row, 1]],
                    mode="markers+text",
                    text=[f"<b>{_escape_hover(words[row])}</b>"],
                    textposition="top center",
                    textfont={"size": 14, "color": colour},
                    marker={"size": 14, "color": colour},
                    name=_escape_hover(words[row]),
                    hovertext=[_escape_hover(words[row])],
                    hoverinfo="text",
                )
            )
        return out

    last = len(labels) - 1
    fig = go.Figure(
        data=traces(last),
        frames=[go.Frame(data=traces(e), name=labels[e]) for e in range(len(labels))],
    )
    lo, hi = coords.reshape(-1, 2).min(axis=0), coords.reshape(-1, 2).max(axis=0)
    pad = (hi - lo) * 0.08 + 1e-6
    steps = [
        {
            "label": labels[e],
            "method": "animate",
            "args": [
                [labels[e]],
                {
                    "mode": "immediate",
                    "frame": {"duration": 0, "redraw": True},
                    "transition": {"duration": 0},
                },
            ],
        }
        for e in range(len(labels))
    ]
    _base_layout(fig, height=height, hovermode="closest")
    fig.update_layout(
        sliders=[
            {
                "active": last,
                "steps": steps,
                "currentvalue": {"prefix": "showing "},
                "pad": {"t": 40},
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 1,
                "y": 1.02,
                "xanchor": "right",
                "yanchor": "bottom",
                "pad": {"b": 4},
                "buttons": [
                    {
                        "label": "▶ Play",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                "frame": {"duration": 900, "redraw": True},
                                "transition": {"duration": 400},
                                "fromcurrent": False,
                            },
                        ],
                    },
                    {
                        "label": "❚❚ Pause",
                        "method": "animate",
                        "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}],
                    },
                ],
            }
        ],
    )
    fig.update_xaxes(range=[lo[0] - pad[0], hi[0] + pad[0]], showticklabels=False)
    fig.update_yaxes(range=[lo[1] - pad[1], hi[1] + pad[1]], showticklabels=False)
    return fig


def runs_table(comparison: Any) -> pd.DataFrame:
    """One row per word: its neighbours in run A, in run B (shared ones in both), and Jaccard@k."""
    rows = []
    for row in comparison.words:
        b_words = {w for w, _ in row.neighbours_b}
        a_words = {w for w, _ in row.neighbours_a}
        rows.append(
            {
                "word": row.word,
                "neighbours in run A": ", ".join(
                    w if w in b_words else f"{w}*" for w, _ in row.neighbours_a
                ),
                "neighbours in run B": ", ".join(
                    w if w in a_words else f"{w}*" for w, _ in row.neighbours_b
                ),
                "overlap": round(row.jaccard, 2),
            }
        )
    return pd.DataFrame(rows)
