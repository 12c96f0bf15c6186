"""Run folder: layout, atomic files, torn metric lines, incomplete checkpoints."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from app_support import progress_record

from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import RunFolderError
from w2v_core.run_folder import STOPPED, Metrics, RunFolder, list_runs
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


def test_checkpoint_listing_is_kept_until_the_folder_changes(run, monkeypatch):
    """The listing is remembered by the folder's mtime (every page lists every run's checkpoints):
    kept while the folder is unchanged; a listing read while the folder was changing (the kernel's
    file times are coarse) is reused for at most a second; this process's own writes are seen at
    once."""
    import os

    from w2v_core import run_folder

    listings = []
    real_listdir = os.listdir
    monkeypatch.setattr(run_folder.os, "listdir", lambda p: listings.append(p) or real_listdir(p))
    clock = [1000.0]
    monkeypatch.setattr(run_folder.time, "monotonic", lambda: clock[0])

    def settle() -> None:  # as if the folder was last changed 5 s ago
        old = time.time_ns() - 5_000_000_000
        os.utime(run.checkpoint_dir, ns=(old, old))

    run.save_checkpoint(1, {"input": torch.ones(3, 4)}, {"epoch": 1})
    settle()
    assert run.checkpoint_epochs() == [1] and not run.has_stopped_checkpoint()
    assert run.checkpoint_epochs() == [1] and run.saved_epochs() == [1]
    assert len(listings) == 1  # listed once, then kept
    clock[0] += 3600
    assert run.checkpoint_epochs() == [1] and len(listings) == 1  # settled: kept however long

    # this process's own writes: seen at once, whatever the mtime
    run.save_checkpoint(2, {"input": torch.ones(3, 4)}, {"epoch": 2})
    run.save_checkpoint(STOPPED, {"input": torch.ones(3, 4)}, {"epoch": 2})
    assert run.checkpoint_epochs() == [1, 2] and run.has_stopped_checkpoint()
    run.remove_checkpoint(STOPPED)
    assert run.saved_epochs() == [1, 2]

    # another process writing (here: files made without RunFolder) into a folder that changed
    # just before it was read: the folder's times are set by hand, as the coarse clock would
    recent = time.time_ns() - 200_000_000
    os.utime(run.checkpoint_dir, ns=(recent, recent))
    assert run.checkpoint_epochs() == [1, 2]
    before = len(listings)
    assert run.checkpoint_epochs() == [1, 2] and len(listings) == before  # reused
    for suffix in ("safetensors", "json"):
        (run.checkpoint_dir / f"epoch_003.{suffix}").write_text("{}")
    os.utime(run.checkpoint_dir, ns=(recent + 1000, recent + 1000))
    assert run.checkpoint_epochs() == [1, 2, 3]  # the mtime moved: read again
    for suffix in ("safetensors", "json"):
        (run.checkpoint_dir / f"epoch_004.{suffix}").write_text("{}")
    os.utime(run.checkpoint_dir, ns=(recent + 1000, recent + 1000))  # within the same tick
    assert run.checkpoint_epochs() == [1, 2, 3]  # not seen yet ...
    clock[0] += 1.5
    assert run.checkpoint_epochs() == [1, 2, 3, 4]  # ... but within a second
