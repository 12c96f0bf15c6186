"""Compare: how neighbourhoods change across the epochs of a run, and between two runs.

Owns: nearest neighbours of chosen words epoch by epoch with new / dropped neighbours marked,
Jaccard@k overlap of neighbour lists (between consecutive epochs, or between two runs over their
shared vocabulary), aligned 2D trajectories of words across epochs, and the loss curve as plain
records for plotting.
Leaves out: the queries (`w2v_core.embeddings`), the projection maths (`w2v_core.projection`) and any
plotting (the app draws what these functions return).

Why neighbour overlap: raw vectors of two epochs or two runs differ by an arbitrary rotation, so
comparing coordinates says nothing; the set of a word's k nearest neighbours does not depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from w2v_core.config import VectorKind
from w2v_core.embeddings import Embeddings, Epoch, Neighbours, restrict_to_shared
from w2v_core.projection import EpochMaps, aligned_epoch_maps
from w2v_core.run_folder import STOPPED, RunFolder


@dataclass(frozen=True)
class EpochNeighbours:
    epoch: Epoch
    neighbours: Neighbours  # [(word, cosine), ...] best first
    new: list[str]  # neighbours absent from the previous epoch's list (empty for the first epoch)
    dropped: list[str]  # neighbours of the previous epoch's list that are gone
    jaccard_with_previous: float | None  # None for the first epoch


@dataclass(frozen=True)
class OverlapStep:
    from_epoch: Epoch
    to_epoch: Epoch
    mean_jaccard: float  # Jaccard@k averaged over the words; 1.0 = neighbourhoods settled


@dataclass(frozen=True)
class WordComparison:
    word: str
    neighbours_a: Neighbours
    neighbours_b: Neighbours
    jaccard: float


@dataclass(frozen=True)
class RunComparison:
    k: int
    words: list[WordComparison]  # one row per compared word
    mean_jaccard: float
    shared_vocab_size: int  # words both runs know; neighbours are searched among these only
    only_in_a: int
    only_in_b: int


def run_epochs(run: RunFolder | str | Path) -> list[Epoch]:
    """Checkpoints to compare, in training order: every complete epoch, then "stopped" if a stop
    checkpoint exists (the trainer deletes it once a later epoch completes, so it is the newest)."""
    run = _open(run)
    epochs: list[Epoch] = list(run.checkpoint_epochs())
    if run.has_stopped_checkpoint():
        epochs.append(STOPPED)
    return epochs


def jaccard_at_k(
    a: Iterable[str | tuple[str, float]], b: Iterable[str | tuple[str, float]]
) -> float:
    """|A n B| / |A u B| of two neighbour lists (words or (word, cosine) pairs).

    1.0 for identical sets (two empty lists included), 0.0 for disjoint ones.
    """
    set_a, set_b = _word_set(a), _word_set(b)
    union = set_a | set_b
    return len(set_a & set_b) / len(union) if union else 1.0


def neighbours_by_epoch(
    run: RunFolder | str | Path,
    words: Sequence[str],
    k: int = 10,
    kind: VectorKind = "input",
    epochs: Sequence[Epoch] | None = None,
) -> dict[str, list[EpochNeighbours]]:
    """For each word, its `k` nearest neighbours at every epoch, with changes marked.

    Parameters
    ----------
    run : the run folder
    words : words to follow (unknown words raise `UnknownWordError` with suggestions)
    k : neighbours per word
    kind : which vectors ("input", "output" or "average"), as in `Embeddings.from_run`
    epochs : checkpoints to use, in order; default `run_epochs(run)`

    Returns
    -------
    dict word -> one `EpochNeighbours` per epoch, in order.
    """
    run = _open(run)
    epochs = list(epochs) if epochs is not None else run_epochs(run)
    words = list(dict.fromkeys(words))
    result: dict[str, list[EpochNeighbours]] = {word: [] for word in words}
    for epoch in epochs:
        found = Embeddings.from_run(run, epoch, kind).most_similar_many(words, k)
        for word in words:
            history = result[word]
            current = found[word]
            if not history:
                history.append(EpochNeighbours(epoch, current, [], [], None))
                continue
            previous = {w for w, _ in history[-1].neighbours}
            now = {w for w, _ in current}
            new = [w for w, _ in current if w not in previous]
            dropped = [w for w, _ in history[-1].neighbours if w not in now]
            history.append(
                EpochNeighbours(epoch, current, new, dropped, jaccard_at_k(previous, now))
            )
    return result


def consecutive_overlap(
    run: RunFolder | str | Path,
    words: Sequence[str] | None = None,
    k: int = 10,
    kind: VectorKind = "input",
    top_n: int = 500,
    epochs: Sequence[Epoch] | None = None,
) -> list[OverlapStep]:
    """Mean Jaccard@k between each pair of consecutive epochs: how much neighbourhoods still move.

    Averaged over `words`, or when None over the `top_n` most frequent words (whose vectors are
    the best trained). Values near 1 mean the map has settled; low values late in training mean more
    epochs (or more text) would still change the answers.
    """
    run = _open(run)
    epochs = list(epochs) if epochs is not None else run_epochs(run)
    if words is None:
        words = run.vocab().words[:top_n]
    words = list(dict.fromkeys(words))
    steps: list[OverlapStep] = []
    previous: dict[str, Neighbours] | None = None
    for i, epoch in enumerate(epochs):
        current = Embeddings.from_run(run, epoch, kind).most_similar_many(words, k)
        if previous is not None:
            overlap = [jaccard_at_k(previous[w], current[w]) for w in words]
            steps.append(OverlapStep(epochs[i - 1], epoch, float(np.mean(overlap))))
        previous = current
    return steps


def compare_runs(
    emb_a: Embeddings,
    emb_b: Embeddings,
    words: Sequence[str] | None = None,
    k: int = 10,
    top_n: int = 500,
) -> RunComparison:
    """Neighbours of the same words in two runs (other settings or other texts), side by side.

    Both are first cut down to their shared vocabulary, so a neighbour that only one run knows cannot
    count as a difference. `words` default to the `top_n` most frequent shared words (in `emb_a`'s
    order); a word outside the shared vocabulary raises `UnknownWordError` with suggestions.
    """
    a, b = restrict_to_shared(emb_a, emb_b)
    chosen = list(dict.fromkeys(words)) if words is not None else a.words[:top_n]
    found_a = a.most_similar_many(chosen, k)
    found_b = b.most_similar_many(chosen, k)
    rows = [
        WordComparison(w, found_a[w], found_b[w], jaccard_at_k(found_a[w], found_b[w]))
        for w in chosen
    ]
    mean = float(np.mean([row.jaccard for row in rows])) if rows else float("nan")
    return RunComparison(
        k=k,
        words=rows,
        mean_jaccard=mean,
        shared_vocab_size=len(a),
        only_in_a=len(emb_a) - len(a),
        only_in_b=len(emb_b) - len(a),
    )


def epoch_trajectories(
    run: RunFolder | str | Path,
    words: Sequence[str],
    method: Literal["umap", "pca"] = "pca",
    kind: VectorKind = "input",
    epochs: Sequence[Epoch] | None = None,
    seed: int = 0,
) -> EpochMaps:
    """Aligned 2D positions of `words` at every epoch (see `projection.aligned_epoch_maps`)."""
    run = _open(run)
    epochs = list(epochs) if epochs is not None else run_epochs(run)
    embeddings = [Embeddings.from_run(run, epoch, kind) for epoch in epochs]
    return aligned_epoch_maps(embeddings, words, method, seed=seed)


def loss_curve(run: RunFolder | str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The loss records of `metrics.jsonl`: (progress records, epoch-end records), in order.

    Progress records carry step, epoch (1-based), fraction_done (of the whole run, 0..1) and loss
    (smoothed); epoch-end records carry epoch and loss (the epoch's mean; None if no step ran).
    Plot loss against step or fraction_done, with a marker per epoch end.
    """
    records = _open(run).read_metrics()
    progress = [r for r in records if r.get("kind") == "progress"]
    epoch_ends = [r for r in records if r.get("kind") == "epoch"]
    return progress, epoch_ends


def _open(run: RunFolder | str | Path) -> RunFolder:
    return run if isinstance(run, RunFolder) else RunFolder.open(run)


def _word_set(items: Iterable[str | tuple[str, float]]) -> set[str]:
    return {item if isinstance(item, str) else item[0] for item in items}
