"""metrics.jsonl read incrementally (`run_folder.MetricsReader`): what a full read would give, at
every moment, while the file grows, is torn mid-line, replaced, or rewritten in place."""

from __future__ import annotations

import os
from pathlib import Path

from app_support import epoch_record, progress_record

from w2v_core.run_folder import MetricsReader, record_to_json


def lines(*records) -> str:
    return "".join(record_to_json(r) for r in records)


def test_appended_lines_are_read_once_and_a_torn_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.read().progress == []  # no file yet
    first, second = progress_record(0.25, 2.0), progress_record(0.5, 1.5)
    path.write_text(lines(first))
    assert reader.read().progress == [first]
    whole = lines(second, epoch_record(1, 1.6))
    with open(path, "a") as handle:
        handle.write(whole[:10])  # the writer mid-append
    assert reader.read().progress == [first]
    with open(path, "a") as handle:
        handle.write(whole[10:] + "not json\n")
    metrics = reader.read()
    assert metrics.progress == [first, second]
    assert [e.epoch for e in metrics.epochs] == [1]


def test_a_replaced_shortened_or_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    old = [progress_record(0.1 * i, 3.0 - 0.1 * i) for i in range(1, 6)]
    path.write_text(lines(*old))
    assert reader.read().progress == old
    # resume truncates after an epoch: a new file (atomic rename, new inode)
    replacement = tmp_path / "new"
    replacement.write_text(lines(old[0]))
    os.replace(replacement, path)
    assert reader.read().progress == [old[0]]
    # rewritten in place, same inode, longer than before: noticed by the bytes before the offset
    changed = [progress_record(0.9, 0.5)] * 8
    path.write_text(lines(*changed))
    assert reader.read().progress == changed
    path.write_text("")  # shortened
    assert reader.read().progress == []
