"""w2v_ui.budget_cache: results kept within a memory budget, computed once per key."""

from __future__ import annotations

import threading
import time

import pytest

from w2v_ui.budget_cache import MB, budget_cached, budget_from_env


def _sized(budget_mb: int, monkeypatch: pytest.MonkeyPatch, calls: list[str]):
    monkeypatch.setenv("TEST_BUDGET_MB", str(budget_mb))

    @budget_cached(budget_env="TEST_BUDGET_MB", default_mb=99, ttl_seconds=60, size_of=len)
    def load(key: str, megabytes: int) -> bytes:
        calls.append(key)
        return b"x" * (megabytes * MB)

    return load


def test_results_stay_within_the_budget_least_recently_used_first_out(monkeypatch):
    calls: list[str] = []
    load = _sized(10, monkeypatch, calls)
    load("a", 4), load("b", 4)  # 8 of 10 MB
    load("a", 4)  # kept; now the most recently used
    assert calls == ["a", "b"]
    load("c", 4)  # 12 MB: b, the least recently used, goes
    assert load.cache.currsize == 8 * MB
    load("a", 4), load("c", 4)
    assert calls == ["a", "b", "c"]
    load("b", 4)
    assert calls == ["a", "b", "c", "b"]


def test_a_result_larger_than_the_budget_is_kept_alone(monkeypatch):
    calls: list[str] = []
    load = _sized(10, monkeypatch, calls)
    load("small", 2)
    load("huge", 12)  # over the budget on its own: kept (a rerun would parse it again), alone
    load("huge", 12)
    assert calls == ["small", "huge"] and list(load.cache.keys()) == [("huge", 12)]


def test_one_computation_for_callers_asking_at_once(monkeypatch):
    calls: list[str] = []
    monkeypatch.setenv("TEST_BUDGET_MB", "10")

    @budget_cached(budget_env="TEST_BUDGET_MB", default_mb=1, ttl_seconds=60, size_of=len)
    def slow(key: str) -> bytes:
        calls.append(key)
        time.sleep(0.2)
        return b"x"

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow("same"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["same"] and results == [b"x"] * 6


def test_an_error_is_not_kept(monkeypatch):
    attempts = []
    monkeypatch.setenv("TEST_BUDGET_MB", "10")

    @budget_cached(budget_env="TEST_BUDGET_MB", default_mb=1, ttl_seconds=60, size_of=len)
    def flaky(key: str) -> bytes:
        attempts.append(key)
        if len(attempts) == 1:
            raise OSError("disk busy")
        return b"ok"

    with pytest.raises(OSError):
        flaky("k")
    assert flaky("k") == b"ok" and len(attempts) == 2


@pytest.mark.parametrize(
    ("value", "expected_mb"),
    [("", 7), ("256", 256), ("0", 0), ("-5", 0), ("lots", 7), (" 12 ", 12)],
)
def test_the_budget_from_the_environment(monkeypatch, value, expected_mb):
    monkeypatch.setenv("TEST_BUDGET_MB", value)
    assert budget_from_env("TEST_BUDGET_MB", 7) == expected_mb * MB
