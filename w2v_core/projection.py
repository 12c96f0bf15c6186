"""Projection: 2D maps of word vectors, cluster colours, and maps aligned across epochs.

Owns: `project_2d` (UMAP, PCA or t-SNE of unit-normalised vectors, so distances on the map follow
cosine similarity, the measure every query uses), `kmeans_clusters` (colours for the map), orthogonal
Procrustes alignment, and `aligned_epoch_maps` (one map per epoch in a shared frame, so a word's
movement between epochs is visible and rotation noise is not).
Leaves out: drawing (the app plots `coords`), choosing words (callers pass vectors or words), and
loading vectors (`w2v_core.embeddings`).

umap-learn and scikit-learn are imported on first use: importing umap takes seconds, and its first
fit in a process compiles numba code (10-20 s on 2 cores; `warm_up_umap` pays that in advance).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError

ProjectionMethod = Literal["umap", "pca", "tsne"]


@dataclass(frozen=True, eq=False)
class Projection:
    coords: np.ndarray  # (N, 2) float32, row i is the i-th input vector
    method: ProjectionMethod
    params: dict[str, Any] = field(default_factory=dict)  # the settings actually used
    explained_variance: np.ndarray | None = None  # PCA only: (2,) share of variance per axis


@dataclass(frozen=True, eq=False)
class EpochMaps:
    words: list[str]
    epochs: list[int | str]  # the epoch label of each map (index when unknown)
    coords: np.ndarray  # (E, N, 2) float32: coords[e, i] is words[i] in epoch epochs[e]
    method: ProjectionMethod
    params: dict[str, Any] = field(default_factory=dict)
    explained_variance: np.ndarray | None = None  # PCA only, of the reference (last) epoch


# Map defaults, the one home for them (the app's controls and loaders take them from here):
# umap-learn's own defaults, and scikit-learn's t-SNE perplexity.
UMAP_NEIGHBOURS = 15
UMAP_MIN_DIST = 0.1
TSNE_PERPLEXITY = 30.0


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero), float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # (N, 1)
    return vectors / np.maximum(norms, np.finfo(np.float32).tiny)


def project_2d(
    vectors: np.ndarray,
    method: ProjectionMethod = "umap",
    *,
    n_neighbors: int = UMAP_NEIGHBOURS,
    min_dist: float = UMAP_MIN_DIST,
    perplexity: float = TSNE_PERPLEXITY,
    seed: int = 0,
) -> Projection:
    """Place N vectors on a plane; similar words (by cosine) land close together.

    Rows are unit-normalised first: on unit vectors Euclidean distance is a monotone function of
    cosine (|a - b|^2 = 2 - 2 cos), so each method sees cosine geometry.

    Parameters
    ----------
    vectors : array (N, D)
    method : {"umap", "pca", "tsne"}
        UMAP keeps neighbourhoods and some global layout (the default; seconds for thousands of
        words); PCA is a linear view, instant and exact about distances along its two axes; t-SNE
        keeps neighbourhoods only and is the slowest.
    n_neighbors, min_dist : UMAP settings (neighbourhood size; how tightly points may pack).
    perplexity : t-SNE setting (roughly the number of neighbours; lowered for small N).
    seed : fixes UMAP / t-SNE (and the same seed gives the same map again).

    With three points or fewer, every method returns the PCA map, which is then exact.
    """
    if method not in get_args(ProjectionMethod):
        raise ConfigError(f"Unknown projection '{method}': choose umap, pca or tsne.")
    unit = unit_rows(vectors)
    if unit.ndim != 2 or len(unit) == 0:
        raise ValueError(f"project_2d needs a non-empty (N, D) matrix, got shape {unit.shape}")
    if method == "pca" or len(unit) <= 3:
        coords, pca = _pca(unit, seed)
        params = {"fallback_from": method} if method != "pca" else {}
        return Projection(coords, "pca", params, _explained(pca, unit))
    if method == "umap":
        reducer, params = _fit_umap(unit, n_neighbors, min_dist, seed)
        return Projection(reducer.embedding_.astype(np.float32), "umap", params)
    from sklearn.manifold import TSNE

    perplexity = float(min(perplexity, (len(unit) - 1) / 3))  # sklearn needs perplexity < N
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    coords = tsne.fit_transform(unit).astype(np.float32)
    return Projection(coords, "tsne", {"perplexity": perplexity, "seed": seed})


def kmeans_clusters(vectors: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster labels (N,) int for colouring a map: k-means on unit-normalised rows.

    Labels are renumbered by cluster size, 0 the largest, so colours are stable for a given map.
    `k` is capped at N.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    unit = unit_rows(vectors)
    k = max(1, min(int(k), len(unit)))
    # One OpenMP thread: on a 2-core server shared with training workers and other requests,
    # sklearn's two OpenMP threads wait for each other at every barrier; measured under load,
    # 1,567 words x 50 dims took 6-7 s with two threads and 0.3 s with one (same labels).
    with threadpool_limits(limits=1, user_api="openmp"):
        raw = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(unit)
    sizes = np.bincount(raw, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))  # largest first, ties by original label
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    return relabel[raw]


def procrustes_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal (D, D) matrix R minimising ||source @ R - target|| (Schoenemann 1966).

    Rows of `source` and `target` must be the same words. R is a rotation (or reflection): it
    keeps every length and angle, so cosine similarities within `source` do not change.
    """
    from scipy.linalg import orthogonal_procrustes

    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape:
        raise ValueError(f"source {source.shape} and target {target.shape} must have one shape")
    rotation, _ = orthogonal_procrustes(source, target)
    return rotation


def procrustes_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`source` rotated onto `target` (rows are the same words): source @ R, float32."""
    return (np.asarray(source, dtype=np.float64) @ procrustes_rotation(source, target)).astype(
        np.float32
    )


def aligned_epoch_maps(
    embeddings: Sequence[Embeddings],
    words: Sequence[str],
    method: Literal["umap", "pca"] = "pca",
    *,
    n_neighbors: int = UMAP_NEIGHBOURS,
    min_dist: float = UMAP_MIN_DIST,
    seed: int = 0,
    anchor_words: int = 10_000,
) -> EpochMaps:
    """One 2D map of `words` per epoch, all in the frame of the last epoch.

    Training starts from random vectors and word2vec's objective does not change under a rotation,
    so two epochs' raw vectors differ by an arbitrary rotation besides real change. Hence:

    1. every epoch's unit vectors are rotated onto the last epoch's by orthogonal Procrustes over
       anchor words, the `anchor_words` most frequent words all epochs share (Hamilton et al. 2016,
       "Diachronic word embeddings"). Anchoring on many words, not only the ones shown, keeps a
       handful of chosen words from dictating (and hiding) their own movement;
    2. one projection is fitted on the last epoch's vectors of `words`, so its map is exactly
       `project_2d(last[words], method)` (the Map page's map), and earlier epochs are placed with
       that same fitted projection (`transform`). Fitting on the last epoch, rather than on all
       epochs stacked, keeps copies of the same word from crowding each other's neighbourhoods.

    t-SNE cannot place new points on a fitted map, so it is not offered here.

    Returns `EpochMaps` with coords (E, N, 2).
    """
    if method not in ("umap", "pca"):
        raise ConfigError(
            f"Aligned maps across epochs use umap or pca, not '{method}': t-SNE cannot place "
            "another epoch's words on an existing map."
        )
    if not embeddings:
        raise ValueError("aligned_epoch_maps needs at least one epoch")
    words = list(dict.fromkeys(words))
    if not words:
        raise ValueError("aligned_epoch_maps needs at least one word")
    reference = embeddings[-1]
    shared = [w for w in reference.words if all(w in emb for emb in embeddings[:-1])]
    anchors = shared[:anchor_words]
    reference_anchor = reference.unit_vectors[[reference.index_of(w) for w in anchors]]  # (A, D)

    aligned = []  # per epoch (N, D), unit rows in the reference frame
    for emb in embeddings:
        shown = emb.unit_vectors[[emb.index_of(w) for w in words]]  # (N, D)
        if emb is reference:
            aligned.append(np.asarray(shown, dtype=np.float32))
            continue
        rotation = procrustes_rotation(
            emb.unit_vectors[[emb.index_of(w) for w in anchors]], reference_anchor
        )
        aligned.append((shown @ rotation).astype(np.float32))

    labels = [emb.epoch if emb.epoch is not None else i for i, emb in enumerate(embeddings)]
    params: dict[str, Any] = {"anchor_words": len(anchors), "seed": seed}
    explained = None
    if method == "pca" or len(words) <= 3:
        reference_coords, pca = _pca(aligned[-1], seed)
        coords = [pca.transform(vectors).astype(np.float32) for vectors in aligned[:-1]]
        coords = [_pad_columns(c) for c in coords] + [reference_coords]
        explained = _explained(pca, aligned[-1])
        used_method: ProjectionMethod = "pca"
        if method != "pca":
            params["fallback_from"] = method
    else:
        reducer, umap_params = _fit_umap(
            aligned[-1], n_neighbors, min_dist, seed, transformable=True
        )
        params.update(umap_params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coords = [reducer.transform(vectors).astype(np.float32) for vectors in aligned[:-1]]
        coords.append(reducer.embedding_.astype(np.float32))
        used_method = "umap"
    return EpochMaps(words, labels, np.stack(coords), used_method, params, explained)


# ---- fitting helpers ---------------------------------------------------------------------------------
def _pca(unit: np.ndarray, seed: int) -> tuple[np.ndarray, Any]:
    """PCA coords (N, 2) and the fitted PCA; fewer than two components are padded with zeros."""
    from sklearn.decomposition import PCA

    n_components = min(2, unit.shape[0], unit.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one point: variance 0 / 0
        pca = PCA(n_components=n_components, random_state=seed).fit(unit)
    return _pad_columns(pca.transform(unit).astype(np.float32)), pca


def _pad_columns(coords: np.ndarray) -> np.ndarray:
    if coords.shape[1] == 2:
        return coords
    return np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]), dtype=coords.dtype)])


def _explained(pca: Any, unit: np.ndarray) -> np.ndarray:
    ratio = np.zeros(2, dtype=np.float64)
    if len(unit) > 1:  # one point has no variance to explain
        ratio[: len(pca.explained_variance_ratio_)] = pca.explained_variance_ratio_
    return ratio


def _fit_umap(
    unit: np.ndarray, n_neighbors: int, min_dist: float, seed: int, transformable: bool = False
) -> tuple[Any, dict]:
    """Fit UMAP on unit rows (N >= 4: fewer points take the PCA path; umap's spectral start needs
    that). Unless the fit must `transform` other points later, the k nearest neighbours are found
    exactly here (`exact_knn`) and handed to umap: that skips pynndescent, whose numba compilation
    made the first 5,000-word map of a process take 80 s instead of 20 s on 2 cores."""
    import umap

    n_neighbors = max(2, min(int(n_neighbors), len(unit) - 1))
    params = {"n_neighbors": n_neighbors, "min_dist": min_dist, "seed": seed}
    knn = (None, None, None) if transformable else exact_knn(unit, n_neighbors)
    # Euclidean on unit rows ranks neighbours exactly as cosine does, on umap's fastest path.
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        metric="euclidean",
        random_state=seed,
        precomputed_knn=knn,
    )
    with _UMAP_FITS, warnings.catch_warnings():
        # "n_jobs overridden to 1 by setting random_state" (reproducible maps are worth it) and
        # "transform unavailable" with precomputed neighbours (not needed on that path).
        warnings.simplefilter("ignore", UserWarning)
        reducer.fit(unit)
    return reducer, params


# One UMAP fit at a time per process. umap-learn runs numba `parallel=True` code; with numba's
# "workqueue" threading layer (what numba falls back to where neither OpenMP nor TBB is installed)
# two threads entering parallel code at once abort the whole process: two people drawing a map at
# the same moment would take the server down. This machine's numba uses "omp", which is thread-safe,
# but the server must not depend on that; on 2 cores a second concurrent fit gains nothing anyway.
_UMAP_FITS = threading.Lock()


def exact_knn(unit: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The `k` nearest rows of each row of `unit` (itself included, as umap expects), by cosine.

    Returns (indices (N, k) int64, Euclidean distances (N, k) float32), nearest first; for unit
    rows the distance is sqrt(2 - 2 cos). Cost: N^2 D multiply-adds in (block, N) slices.
    """
    n = len(unit)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        sims = unit[start : start + block] @ unit.T  # (b, N)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (b, k), unordered
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        indices[start : start + block] = np.take_along_axis(top, order, axis=1)
        best = np.take_along_axis(top_sims, order, axis=1)
        distances[start : start + block] = np.sqrt(np.maximum(2 - 2 * best, 0))
    return indices, distances


def warm_up_umap() -> None:
    """Compile umap's numba code now (about 10-20 s once per process on 2 cores) by mapping a few
    random points, so that the first real map is as fast as later ones. Call it from a background
    thread when the app starts."""
    rng = np.random.default_rng(0)
    project_2d(rng.standard_normal((32, 8)).astype(np.float32), "umap")
