"""w2v_ui.datasets: the per-process cache of loaded rows stays within its memory budget."""

from __future__ import annotations

import importlib

import pytest

from w2v_core import sources
from w2v_ui import datasets

MB = 1024 * 1024


@pytest.fixture()
def rows_budget_8mb(monkeypatch: pytest.MonkeyPatch):
    """w2v_ui.datasets as a server started with W2V_ROWS_CACHE_MB=8 has it."""
    monkeypatch.setenv(datasets.ROWS_CACHE_BUDGET_ENV, "8")
    importlib.reload(datasets)
    yield datasets
    monkeypatch.delenv(datasets.ROWS_CACHE_BUDGET_ENV)
    importlib.reload(datasets)


def test_uploads_held_stay_within_the_memory_budget(rows_budget_8mb, monkeypatch) -> None:
    """Three in-memory tables of about 3 MB with an 8 MB budget: two stay, the least recently
    used goes when the third comes (the old cache kept four whatever their size)."""
    loads: list[str] = []
    tables = {f"upload-{i}": sources.TextDataset.from_texts([str(i) * 3 * MB]) for i in range(3)}
    assert all(3 * MB <= datasets.rows_memory_bytes(t) < 3.1 * MB for t in tables.values())

    def counting_load(spec, local_folders=None):
        loads.append(spec.key)
        return tables[spec.key]

    monkeypatch.setattr(sources, "load_spec", counting_load)
    specs = [sources.DataSpec("builtin", key, "c") for key in tables]
    datasets.load(specs[0]), datasets.load(specs[1]), datasets.load(specs[0])
    assert loads == ["upload-0", "upload-1"]  # both held
    datasets.load(specs[2])  # 9 MB would pass 8: upload-1, least recently used, goes
    datasets.load(specs[0]), datasets.load(specs[2])
    assert loads == ["upload-0", "upload-1", "upload-2"]
    datasets.load(specs[1])
    assert loads[-1] == "upload-1"


def test_memory_mapped_data_counts_little(tmp_path) -> None:
    """Hugging Face data are memory-mapped Arrow files (the system pages them in and out): counted
    as MAPPED_ROWS_BYTES whatever their size, as is a small table in memory; a large table in
    memory counts its bytes."""
    import datasets as hf

    hf.Dataset.from_dict({"text": ["w" * MB] * 5}).save_to_disk(str(tmp_path / "rows"))
    mapped = sources.TextDataset(
        name="mapped", source={}, dataset=hf.load_from_disk(str(tmp_path / "rows")),
        text_column="text",
    )  # fmt: skip
    assert datasets.rows_memory_bytes(mapped) == datasets.MAPPED_ROWS_BYTES
    small = sources.TextDataset.from_texts(["a b c"] * 10)
    assert datasets.rows_memory_bytes(small) == datasets.MAPPED_ROWS_BYTES
    large = sources.TextDataset.from_texts(["w" * MB] * 5)
    assert 5 * MB <= datasets.rows_memory_bytes(large) < 5.1 * MB
