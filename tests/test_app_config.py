"""The server settings in .streamlit/config.toml agree with the core."""

from __future__ import annotations

import pytest
from app_support import REPO_ROOT

from w2v_core.sources import MAX_UPLOAD_MB

tomllib = pytest.importorskip("tomllib", reason="reading TOML needs Python 3.11+")


def server_config() -> dict:
    with open(REPO_ROOT / ".streamlit" / "config.toml", "rb") as handle:
        return tomllib.load(handle)


def test_upload_limit_equals_the_core_limit() -> None:
    # The browser refuses bigger files before the core could say why, so the two must agree.
    assert server_config()["server"]["maxUploadSize"] == MAX_UPLOAD_MB


def test_no_tracebacks_reach_the_browser() -> None:
    assert server_config()["client"]["showErrorDetails"] in ("type", "none")


def test_no_full_garbage_collection_after_every_fragment_run() -> None:
    # Each open Train tab reruns a fragment every second; a full collection after each costs the
    # server 0.15-0.5 s of CPU with torch loaded (benchmarks/bench_polling.py).
    assert server_config()["runner"]["postScriptGC"] is False
