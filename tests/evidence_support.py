"""Runs made through the real data path (an uploaded text, preprocessed, with vectors), so that the
evidence of a word can be found in the original text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from w2v_core.config import TrainConfig
from w2v_core.preprocess import PreprocessConfig, prepare_corpus
from w2v_core.run_folder import RunFolder
from w2v_core.sources import store_upload

PLAIN = PreprocessConfig(stopwords_language=None, min_count=1)  # every word kept: easy to count


def make_text_run(
    path: Path,
    lines: list[str],
    config: PreprocessConfig = PLAIN,
    window: int = 2,
    filename: str = "notes.txt",
    vectors: bool = False,
) -> Path:
    """A run folder at `path` made from `lines` (one document each) uploaded as `filename`; with
    `vectors`, one saved epoch of random vectors (so the explore pages open it)."""
    spec = store_upload(filename, "\n".join(lines).encode("utf-8"))
    result = prepare_corpus(spec, config)
    run = RunFolder.create(
        path,
        TrainConfig(window=window, dim=4, epochs=1),
        result.vocab,
        result.corpus,
        data=result.data_description(),
    )
    if vectors:
        rows = np.random.default_rng(0).normal(size=(len(result.vocab), 4)).astype(np.float32)
        tensors = {"input": torch.from_numpy(rows), "output": torch.from_numpy(rows.copy())}
        run.save_checkpoint(1, tensors, {"epoch": 1, "complete": True, "loss": 1.0})
        run.set_status("finished", epochs_completed=1, device="CPU")
    return run.path
