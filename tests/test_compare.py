"""Compare: neighbour changes across epochs and between runs, on planar vectors placed at angles so
that every neighbour list and Jaccard value can be read off a protractor."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from w2v_core.compare import (
    compare_runs,
    consecutive_overlap,
    epoch_embeddings,
    epoch_trajectories,
    jaccard_at_k,
    loss_curve,
    neighbours_by_epoch,
    run_epochs,
)
from w2v_core.config import TrainConfig
from w2v_core.corpus import encode_documents
from w2v_core.embeddings import Embeddings
from w2v_core.errors import UnknownWordError
from w2v_core.run_folder import EpochRecord, Metrics, ProgressRecord, RunFolder
from w2v_core.vocab import Vocabulary

WORDS = ["target", "a", "b", "c", "d"]


def at_angles(*degrees: float) -> np.ndarray:
    radians = np.radians(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)  # (V, 2)


@pytest.fixture()
def run(tmp_path: Path) -> RunFolder:
    """target at 0 degrees, a 10, c 30, d 100; b at 20 in epoch 1, then 120 in epochs 2 and 3.
    So target's two nearest are (a, b) in epoch 1 and (a, c) afterwards. The output vectors keep
    one layout, target 0, a 90, b 80, c 5, d 100, where target's two nearest are (c, b)."""
    vocab = Vocabulary(WORDS, [50, 40, 30, 20, 10])
    folder = RunFolder.create(
        tmp_path / "run", TrainConfig(), vocab, encode_documents([WORDS], vocab)
    )
    layouts = {1: (0, 10, 20, 30, 100), 2: (0, 10, 120, 30, 100), 3: (0, 10, 120, 30, 100)}
    for epoch, angles in layouts.items():
        tensors = {"input": at_angles(*angles), "output": at_angles(0, 90, 80, 5, 100)}
        tensors = {name: torch.from_numpy(matrix) for name, matrix in tensors.items()}
        folder.save_checkpoint(epoch, tensors, {"epoch": epoch})
    return folder


def test_jaccard_of_known_lists() -> None:
    assert jaccard_at_k(["a", "b", "c"], ["b", "c", "d", "e"]) == pytest.approx(2 / 5)
    assert jaccard_at_k([("a", 0.9), ("b", 0.8)], [("b", 0.7), ("a", 0.1)]) == 1.0
    assert jaccard_at_k(["a"], ["b"]) == 0.0
    assert jaccard_at_k([], []) == 1.0


def test_neighbours_by_epoch_marks_new_and_dropped(run: RunFolder) -> None:
    history = neighbours_by_epoch(epoch_embeddings(run), ["target"], k=2)["target"]
    assert [h.epoch for h in history] == [1, 2, 3]
    assert [w for w, _ in history[0].neighbours] == ["a", "b"]
    assert history[0].neighbours[1][1] == pytest.approx(math.cos(math.radians(20)))
    assert history[0].new == [] and history[0].jaccard_with_previous is None
    assert [w for w, _ in history[1].neighbours] == ["a", "c"]
    assert history[1].new == ["c"] and history[1].dropped == ["b"]
    assert history[1].jaccard_with_previous == pytest.approx(1 / 3)  # {a} / {a, b, c}
    assert history[2].new == [] and history[2].dropped == []
    assert history[2].jaccard_with_previous == 1.0


def test_neighbours_by_epoch_reads_the_chosen_vector_kind(run: RunFolder) -> None:
    history = neighbours_by_epoch(epoch_embeddings(run, "output", [1, 3]), ["target"], k=2)[
        "target"
    ]
    assert [h.epoch for h in history] == [1, 3]
    assert [w for w, _ in history[0].neighbours] == ["c", "b"]
    assert history[1].jaccard_with_previous == 1.0


def test_neighbours_by_epoch_unknown_word_suggests(run: RunFolder) -> None:
    with pytest.raises(UnknownWordError) as caught:
        neighbours_by_epoch(epoch_embeddings(run), ["targt"], k=2)
    assert caught.value.suggestions == ["target"]


def test_consecutive_overlap_by_hand(run: RunFolder) -> None:
    steps = consecutive_overlap(epoch_embeddings(run), ["target"], k=2)
    assert [(s.from_epoch, s.to_epoch) for s in steps] == [(1, 2), (2, 3)]
    assert steps[0].mean_jaccard == pytest.approx(1 / 3)
    assert steps[1].mean_jaccard == 1.0


def test_consecutive_overlap_defaults_to_frequent_words(run: RunFolder) -> None:
    """The top 2 words are target (1/3, then 1) and a (at 10 degrees: nearest target and b, both 10
    degrees away, in epoch 1; target and c once b has left: {target} / {target, b, c} = 1/3)."""
    steps = consecutive_overlap(epoch_embeddings(run), k=2, top_n=2)
    assert steps[0].mean_jaccard == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert steps[1].mean_jaccard == 1.0


def test_run_epochs_lists_a_stopped_checkpoint_last(run: RunFolder) -> None:
    assert run_epochs(run) == [1, 2, 3]
    vectors = torch.from_numpy(at_angles(0, 10, 20, 30, 100))
    run.save_checkpoint("stopped", {"input": vectors, "output": vectors.clone()}, {})
    assert run_epochs(run.path) == [1, 2, 3, "stopped"]
    assert neighbours_by_epoch(epoch_embeddings(run), ["target"], k=2)["target"][-1].new == ["b"]


def test_compare_runs_uses_only_the_shared_vocabulary() -> None:
    """Run A: target 0, x 1 (only in A), a 10, b 20, c 30 -> target's 2 nearest shared: a, b.
    Run B: target 0, b 15, c 25, a 90, y 2 (only in B) -> b, c. Jaccard {b} / {a, b, c} = 1/3."""
    emb_a = Embeddings(["target", "x", "a", "b", "c"], at_angles(0, 1, 10, 20, 30))
    emb_b = Embeddings(["target", "b", "c", "a", "y"], at_angles(0, 15, 25, 90, 2))
    result = compare_runs(emb_a, emb_b, ["target"], k=2)
    (row,) = result.words
    assert [w for w, _ in row.neighbours_a] == ["a", "b"]
    assert [w for w, _ in row.neighbours_b] == ["b", "c"]
    assert row.jaccard == pytest.approx(1 / 3) and result.mean_jaccard == pytest.approx(1 / 3)
    assert (result.shared_vocab_size, result.only_in_a, result.only_in_b) == (4, 1, 1)
    with pytest.raises(UnknownWordError):
        compare_runs(emb_a, emb_b, ["x"], k=2)  # x is not in run B


def test_compare_runs_of_identical_runs_is_one() -> None:
    emb = Embeddings(
        [f"w{i}" for i in range(30)], np.random.default_rng(0).standard_normal((30, 5))
    )
    result = compare_runs(emb, emb, k=3, top_n=10)
    assert len(result.words) == 10 and result.mean_jaccard == 1.0


def test_epoch_trajectories_shape(run: RunFolder) -> None:
    maps = epoch_trajectories(epoch_embeddings(run), ["target", "b", "d"], method="pca")
    assert maps.coords.shape == (3, 3, 2) and maps.epochs == [1, 2, 3]
    # epochs 2 and 3 hold the same vectors, so they sit at the same place
    np.testing.assert_allclose(maps.coords[1], maps.coords[2], atol=1e-5)


def progress_at(step: int, epoch: int, fraction: float, loss: float) -> ProgressRecord:
    return ProgressRecord(
        step=step, epoch=epoch, epochs=2, fraction_done=fraction, loss=loss, epoch_loss=loss,
        words_per_second=1.0, eta_seconds=None, elapsed_seconds=1.0, learning_rate=0.025,
        device="CPU",
    )  # fmt: skip


def test_loss_curve_splits_progress_and_epoch_records(run: RunFolder) -> None:
    run.append_metrics(progress_at(10, 1, 0.25, 3.0))
    run.append_metrics(progress_at(20, 1, 0.5, 2.0))
    epoch_end = EpochRecord(
        epoch=1, epochs=2, step=20, fraction_done=0.5, loss=2.5, seconds=1.0, words_per_second=None
    )
    run.append_metrics(epoch_end)
    run.append_metrics(progress_at(30, 2, 0.75, 1.5))
    curve = loss_curve(run.path)
    assert [r.step for r in curve.progress] == [10, 20, 30]
    assert [r.loss for r in curve.progress] == [3.0, 2.0, 1.5]
    assert curve.epochs == [epoch_end]


def test_loss_curve_of_a_fresh_run_is_empty(run: RunFolder) -> None:
    assert loss_curve(run) == Metrics([], [])
