"""w2v_ui.datasets: the per-process cache of loaded rows stays within its memory budget."""

from __future__ import annotations

import pytest

from w2v_core import sources
from w2v_ui import datasets


def test_the_rows_cache_keeps_at_most_four_data_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    lee = sources.load_builtin("lee")

    def counting_load(spec, local_folders=None):
        loads.append(spec.key)
        return lee

    monkeypatch.setattr(sources, "load_spec", counting_load)
    datasets._load_rows.clear()
    try:
        specs = [sources.DataSpec("builtin", f"corpus-{i}", "c") for i in range(5)]
        for spec in specs:
            datasets.load(spec)
        datasets.load(specs[-1])  # the newest is still held
        assert loads == [s.key for s in specs]
        datasets.load(specs[0])  # the oldest was dropped when the fifth came
        assert loads[-1] == "corpus-0" and len(loads) == 6
    finally:
        datasets._load_rows.clear()
