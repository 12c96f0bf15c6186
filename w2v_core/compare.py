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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from w2v_core.config import VectorKind
from w2v_core.embeddings import Embeddings, Epoch, Neighbours, restrict_to_shared
from w2v_core.projection import EpochMaps, aligned_epoch_maps
from w2v_core.run_folder import Metrics, RunFolder


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


EpochEmbeddings = Sequence[tuple[Epoch, Embeddings]]  # checkpoints in training order


def run_epochs(run: RunFolder | str | Path) -> list[Epoch]:
    """Checkpoints to compare, in training order (`RunFolder.saved_epochs`)."""
    return _open(run).saved_epochs()


def epoch_embeddings(
    run: RunFolder | str | Path,
    kind: VectorKind = "input",
    epochs: Sequence[Epoch] | None = None,
    load: Callable[[Epoch], Embeddings] | None = None,
) -> list[tuple[Epoch, Embeddings]]:
    """(epoch, vectors) of every saved checkpoint (or of `epochs`). `load(epoch)` lets a caller
    supply its own (cached) loader; by default each checkpoint is read from the run folder."""
    run = _open(run)
    epochs = list(epochs) if epochs is not None else run.saved_epochs()
    load = load or (lambda epoch: Embeddings.from_run(run, epoch, kind))
    return [(epoch, load(epoch)) for epoch in epochs]


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
    checkpoints: EpochEmbeddings, words: Sequence[str], k: int = 10
) -> dict[str, list[EpochNeighbours]]:
    """For each word, its `k` nearest neighbours at every checkpoint, with changes marked.

    Parameters
    ----------
    checkpoints : (epoch, Embeddings) in training order (see `epoch_embeddings`)
    words : words to follow (unknown words raise `UnknownWordError` with suggestions)
    k : neighbours per word

    Returns
    -------
    dict word -> one `EpochNeighbours` per checkpoint, in order.
    """
    words = list(dict.fromkeys(words))
    result: dict[str, list[EpochNeighbours]] = {word: [] for word in words}
    for epoch, embeddings in checkpoints:
        found = embeddings.most_similar_many(words, k)
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
    checkpoints: EpochEmbeddings,
    words: Sequence[str] | None = None,
    k: int = 10,
    top_n: int = 500,
) -> list[OverlapStep]:
    """Mean Jaccard@k between each pair of consecutive checkpoints: how much neighbourhoods still
    move.

    Averaged over `words`, or when None over the `top_n` most frequent words (whose vectors are
    the best trained). Values near 1 mean the map has settled; low values late in training mean more
    epochs (or more text) would still change the answers.
    """
    if not checkpoints:
        return []
    if words is None:
        words = checkpoints[0][1].words[:top_n]
    words = list(dict.fromkeys(words))
    steps: list[OverlapStep] = []
    previous: dict[str, Neighbours] | None = None
    previous_epoch: Epoch | None = None
    for epoch, embeddings in checkpoints:
        current = embeddings.most_similar_many(words, k)
        if previous is not None:
            overlap = [jaccard_at_k(previous[w], current[w]) for w in words]
            steps.append(OverlapStep(previous_epoch, epoch, float(np.mean(overlap))))
        previous, previous_epoch = current, epoch
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
    checkpoints: EpochEmbeddings,
    words: Sequence[str],
    method: Literal["umap", "pca"] = "pca",
    seed: int = 0,
) -> EpochMaps:
    """Aligned 2D positions of `words` at every checkpoint (see `projection.aligned_epoch_maps`)."""
    return aligned_epoch_maps([emb for _, emb in checkpoints], words, method, seed=seed)


def loss_curve(run: RunFolder | str | Path) -> Metrics:
    """The loss records of a run: `Metrics.progress` (each report: step, epoch, fraction_done, loss)
    and `Metrics.epochs` (each epoch's mean loss). Plot loss against fraction_done, with a marker
    per epoch end."""
    return _open(run).metrics()


def _open(run: RunFolder | str | Path) -> RunFolder:
    return run if isinstance(run, RunFolder) else RunFolder.open(run)


def _word_set(items: Iterable[str | tuple[str, float]]) -> set[str]:
    return {item if isinstance(item, str) else item[0] for item in items}
