"""Run folder: layout, atomic files, torn metric lines, incomplete checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from app_support import progress_record

from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import RunFolderError
from w2v_core.run_folder import Metrics, RunFolder, list_runs
from w2v_core.vocab import Vocabulary


@pytest.fixture()
def run(tmp_path) -> RunFolder:
    vocab = Vocabulary(["a", "b", "c"], [3, 2, 1])
    corpus = EncodedCorpus(np.array([0, 1, 2, 0], dtype=np.int32), np.array([0, 4]), np.array([0]))
    return RunFolder.create(tmp_path / "run", TrainConfig(dim=4), vocab, corpus, data={"x": 1})


def test_created_run_records_settings_and_status(run):
    info = run.info()
    assert info["status"] == "created"
    assert info["config"]["dim"] == 4
    assert info["data"] == {"x": 1}
    assert info["vocab_size"] == 3 and info["n_tokens"] == 4
    assert run.config() == TrainConfig(dim=4)


def test_no_temporary_files_are_left_behind(run):
    run.save_checkpoint(1, {"input": torch.zeros(3, 4)}, {"epoch": 1})
    leftovers = [p.name for p in run.path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_checkpoint_without_sidecar_is_ignored(run):
    run.save_checkpoint(1, {"input": torch.ones(3, 4)}, {"epoch": 1})
    run.save_checkpoint(2, {"input": torch.ones(3, 4)}, {"epoch": 2})
    (run.checkpoint_dir / "epoch_002.json").unlink()  # as if the writer died before the sidecar
    assert run.checkpoint_epochs() == [1]
    assert run.latest_checkpoint() == 1
    with pytest.raises(RunFolderError, match="epochs saved: 1"):
        run.load_checkpoint(2)


def test_torn_metrics_line_is_skipped(run):
    record = progress_record(0.5, 2.0)
    run.append_metrics(record)
    with open(run.metrics_jsonl, "a", encoding="utf-8") as handle:
        handle.write('{"kind": "progress", "epo')  # a writer caught mid-line
    assert run.metrics() == Metrics([record], [])


def test_stop_request_round_trip(run):
    assert not run.stop_requested()
    run.request_stop()
    assert run.stop_requested()
    run.clear_stop_request()
    assert not run.stop_requested()


def test_opening_a_non_run_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RunFolderError, match="not a run folder"):
        RunFolder.open(tmp_path)


def test_list_runs_finds_run_folders_only(run, tmp_path):
    (tmp_path / "not_a_run").mkdir()
    assert [r.path for r in list_runs(tmp_path)] == [run.path]
