"""Projection: map shapes, PCA against scikit-learn, cluster labels, Procrustes round trips and
epoch maps that show real movement but not rotation noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import special_ortho_group
from sklearn.decomposition import PCA

from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError
from w2v_core.projection import (
    aligned_epoch_maps,
    exact_knn,
    kmeans_clusters,
    procrustes_align,
    procrustes_rotation,
    project_2d,
    unit_rows,
)


@pytest.fixture()
def vectors() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((50, 12)).astype(np.float32)


def rotation(dim: int, seed: int) -> np.ndarray:
    return special_ortho_group.rvs(dim, random_state=seed)


# ---- project_2d --------------------------------------------------------------------------------------
def test_pca_matches_sklearn_on_unit_rows(vectors: np.ndarray) -> None:
    projection = project_2d(vectors, "pca")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    reference = PCA(n_components=2).fit(unit)
    assert projection.method == "pca" and projection.coords.shape == (50, 2)
    np.testing.assert_allclose(
        projection.explained_variance, reference.explained_variance_ratio_, rtol=1e-4
    )
    np.testing.assert_allclose(projection.coords, reference.transform(unit), atol=1e-5)


def test_map_uses_cosine_geometry_so_vector_length_does_not_matter(vectors: np.ndarray) -> None:
    scales = np.random.default_rng(1).uniform(0.1, 10, size=(50, 1)).astype(np.float32)
    np.testing.assert_allclose(
        project_2d(vectors * scales, "pca").coords, project_2d(vectors, "pca").coords, atol=1e-5
    )


def test_pca_of_points_on_a_line_explains_everything() -> None:
    """Unit vectors at 0, 45 and 90 degrees in the plane of two axes: all variance lies in that
    plane, so the two PCA axes explain 100% between them."""
    s = np.sqrt(0.5)
    projection = project_2d(np.array([[1, 0, 0], [s, s, 0], [0, 1, 0], [-1, 0, 0]]), "pca")
    assert projection.explained_variance.sum() == pytest.approx(1.0)


def test_tsne_shape_and_small_n_perplexity(vectors: np.ndarray) -> None:
    projection = project_2d(vectors[:10], "tsne", perplexity=30)
    assert projection.method == "tsne" and projection.coords.shape == (10, 2)
    assert projection.params["perplexity"] == pytest.approx(3.0)  # (N - 1) / 3
    assert projection.explained_variance is None


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("method", ["umap", "pca", "tsne"])
def test_three_points_or_fewer_get_the_exact_pca_map(n: int, method: str) -> None:
    projection = project_2d(np.eye(4)[:n] + 0.1, method)  # type: ignore[arg-type]
    assert projection.coords.shape == (n, 2)
    assert projection.method == "pca"
    assert np.isfinite(projection.coords).all()


def test_three_points_keep_their_distances() -> None:
    points = unit_rows(np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 0]]))
    coords = project_2d(points, "umap").coords
    np.testing.assert_allclose(
        np.linalg.norm(coords[:, None] - coords[None], axis=-1),
        np.linalg.norm(points[:, None] - points[None], axis=-1),
        atol=1e-5,
    )


def test_unknown_method_and_empty_input_are_refused(vectors: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="umap, pca or tsne"):
        project_2d(vectors, "mds")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        project_2d(np.zeros((0, 5)), "pca")


@pytest.mark.slow  # the first UMAP fit in a process compiles numba code (~20 s on 2 cores)
def test_umap_shape_params_and_seed(vectors: np.ndarray) -> None:
    first = project_2d(vectors, "umap", n_neighbors=80, seed=3)
    assert first.method == "umap" and first.coords.shape == (50, 2)
    assert first.params["n_neighbors"] == 49  # capped at N - 1
    np.testing.assert_array_equal(
        first.coords, project_2d(vectors, "umap", n_neighbors=80, seed=3).coords
    )


def test_exact_knn_matches_sklearn_cosine_neighbours(vectors: np.ndarray) -> None:
    from sklearn.neighbors import NearestNeighbors

    unit = unit_rows(vectors)
    indices, distances = exact_knn(unit, k=5, block=7)  # several blocks
    cosine_distances, reference = (
        NearestNeighbors(n_neighbors=5, metric="cosine").fit(unit).kneighbors(unit)
    )
    np.testing.assert_array_equal(indices, reference)
    assert (indices[:, 0] == np.arange(50)).all()  # each point is its own nearest
    np.testing.assert_allclose(distances, np.sqrt(2 * cosine_distances), atol=1e-3)


# ---- clusters ----------------------------------------------------------------------------------------
def test_kmeans_finds_planted_groups_and_numbers_them_by_size() -> None:
    rng = np.random.default_rng(0)
    small = np.array([0, 0, 5.0]) + 0.1 * rng.standard_normal((3, 3))
    large = np.array([5.0, 0, 0]) + 0.1 * rng.standard_normal((6, 3))
    labels = kmeans_clusters(np.vstack([small, large]), k=2, seed=0)
    assert labels.tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_kmeans_caps_k_at_the_number_of_points() -> None:
    assert sorted(kmeans_clusters(np.eye(3), k=10).tolist()) == [0, 1, 2]


# ---- Procrustes --------------------------------------------------------------------------------------
def test_procrustes_undoes_a_rotation(vectors: np.ndarray) -> None:
    q = rotation(12, seed=5)
    target = vectors @ q
    aligned = procrustes_align(vectors, target)
    assert np.abs(aligned - target).max() < 1e-5
    r = procrustes_rotation(vectors, target)
    np.testing.assert_allclose(r @ r.T, np.eye(12), atol=1e-10)  # orthogonal


def test_procrustes_undoes_a_reflection(vectors: np.ndarray) -> None:
    mirror = np.diag([-1.0] + [1.0] * 11)
    assert np.abs(procrustes_align(vectors @ mirror, vectors) - vectors).max() < 1e-5


# ---- maps across epochs --------------------------------------------------------------------------------
def make_epochs(moved: str | None = None) -> tuple[list[Embeddings], list[str]]:
    """Epoch 2 has random vectors; epoch 1 is epoch 2 rotated at random (what training from another
    random start does to a converged map), except that `moved` points elsewhere."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(300)]
    last = rng.standard_normal((300, 10))
    first = last @ rotation(10, seed=11)
    if moved is not None:
        first[words.index(moved)] = rng.standard_normal(10)
    return [Embeddings(words, first, epoch=1), Embeddings(words, last, epoch=2)], words


def test_aligned_maps_remove_rotation_noise() -> None:
    epochs, words = make_epochs()
    maps = aligned_epoch_maps(epochs, words[:40], "pca")
    assert maps.coords.shape == (2, 40, 2) and maps.epochs == [1, 2]
    assert np.abs(maps.coords[0] - maps.coords[1]).max() < 1e-4


def test_aligned_maps_show_a_word_that_really_moved() -> None:
    epochs, words = make_epochs(moved="w3")
    maps = aligned_epoch_maps(epochs, words[:40], "pca")
    shift = np.linalg.norm(maps.coords[0] - maps.coords[1], axis=1)  # (40,)
    assert shift[3] > 0.2
    assert np.delete(shift, 3).max() < 0.05


def test_last_epoch_map_is_the_plain_map_of_the_last_epoch() -> None:
    epochs, words = make_epochs()
    maps = aligned_epoch_maps(epochs, words[:40], "pca")
    plain = project_2d(epochs[-1].restrict(words[:40]).vectors, "pca")
    np.testing.assert_allclose(maps.coords[-1], plain.coords, atol=1e-5)
    np.testing.assert_allclose(maps.explained_variance, plain.explained_variance)
    assert maps.params["anchor_words"] == 300


def test_aligned_maps_refuse_tsne() -> None:
    epochs, words = make_epochs()
    with pytest.raises(ConfigError, match="t-SNE cannot place"):
        aligned_epoch_maps(epochs, words[:5], "tsne")  # type: ignore[arg-type]


@pytest.mark.slow  # numba compilation on the first UMAP fit
def test_aligned_umap_maps_have_one_map_per_epoch() -> None:
    epochs, words = make_epochs()
    maps = aligned_epoch_maps(epochs, words[:60], "umap")
    assert maps.method == "umap" and maps.coords.shape == (2, 60, 2)
    assert np.isfinite(maps.coords).all()


@pytest.mark.slow  # compiles umap's numba code in a fresh process
def test_two_umap_maps_at_once_do_not_abort_the_process(tmp_path) -> None:
    """numba's workqueue threading layer aborts a process when two threads enter parallel code at
    once (two people drawing a map); the server must survive that whatever layer numba found."""
    import os
    import subprocess
    import sys

    script = tmp_path / "two_maps.py"
    script.write_text(
        "import threading, numpy as np\n"
        "from w2v_core.projection import project_2d\n"
        "vectors = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)\n"
        "maps = []\n"
        "def draw():\n"
        "    maps.append(project_2d(vectors, 'umap', n_neighbors=10, seed=1).coords)\n"
        "threads = [threading.Thread(target=draw) for _ in range(2)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "assert len(maps) == 2 and np.array_equal(maps[0], maps[1])\n"
        "print('ok')\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
