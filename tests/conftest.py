"""Shared fixtures: where ../shared is, small corpora, temp caches, and the --runslow switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow") or os.environ.get("CI") == "true":
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow (CI runs them)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep every cache a test touches (HF datasets, our preprocessing cache) in a temp folder."""
    cache = tmp_path_factory.getbasetemp() / "caches"
    monkeypatch.setenv("HF_HOME", str(cache / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "hf" / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("W2V_CACHE_DIR", str(cache / "w2v"))
    # AppTest runs a page once: let it wait for preprocessing instead of drawing a progress bar
    # (test_app_preprocess checks the bar itself with no wait).
    monkeypatch.setenv("W2V_PREPARATION_WAIT", "120")


@pytest.fixture()
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh runs folder for the app (W2V_RUNS_DIR), with the UMAP warm-up off."""
    root = tmp_path / "runs"
    monkeypatch.setenv("W2V_RUNS_DIR", str(root))
    monkeypatch.setenv("W2V_WARM_UP", "0")
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip when this checkout has no shared folder beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data folder at {SHARED_DATA}, which is absent")
    return SHARED_DATA


@pytest.fixture()
def nltk_data(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point NLTK at ../shared/data/nltk_data (as after nltk.download on an online machine)."""
    path = shared_data / "nltk_data"
    if not path.is_dir():
        pytest.skip(f"needs {path}, which is absent")
    monkeypatch.setenv("NLTK_DATA", str(path))
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(path)])
    return path


@pytest.fixture()
def no_nltk_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An NLTK data path that holds nothing (a fresh install)."""
    empty = tmp_path / "empty_nltk_data"
    empty.mkdir()
    monkeypatch.setenv("NLTK_DATA", str(empty))
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(empty)])
    return empty


@pytest.fixture(scope="session")
def lee_corpus_path() -> Path:
    """gensim's bundled Lee news corpus (300 documents, ~60k tokens): real text that ships offline."""
    from gensim.test.utils import datapath

    return Path(datapath("lee_background.cor"))


@pytest.fixture()
def topic_corpus_file(tmp_path: Path) -> Path:
    """Two disjoint topic vocabularies; each line mixes words of one topic only."""
    import random

    rng = random.Random(0)
    animals = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "duck"]
    tools = ["hammer", "saw", "drill", "wrench", "chisel", "pliers", "file", "screw"]
    lines = []
    for _ in range(1500):
        topic = animals if rng.random() < 0.5 else tools
        lines.append(" ".join(rng.choice(topic) for _ in range(12)))
    path = tmp_path / "topics.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
