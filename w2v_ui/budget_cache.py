"""Server-wide caches bounded by memory, not by a count of entries (issue 9, finding 4).

Streamlit's `st.cache_resource(max_entries=...)` bounds how many results it keeps, whatever their
size: four parsed 200 MB uploads are several gigabytes. A cache here is bounded by the bytes its
results hold (`size_of`), with a budget the operator sets in megabytes (an environment variable),
least recently used first out, each result also dropped `ttl_seconds` after it was made.

Built on `cachetools` (a TTL cache that weighs its items, and a decorator whose condition lets one
thread compute a result while the others asking for the same key wait for it, so two people opening
the same data at once parse it once). The newest result is always kept, even one over the budget on
its own (it then replaces everything else): a page reruns often, and reading the same large upload
again on every rerun would cost more memory at the peaks than keeping it.

Like Streamlit's caches these live in the server process and are shared by every session, so keys
must name what is cached completely (a data spec, a run and epoch), never who asked.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import cachetools

T = TypeVar("T")
MB = 1024 * 1024


def budget_from_env(variable: str, default_mb: int) -> int:
    """The budget in bytes: `variable` in megabytes (a whole number, 0 keeps only the newest
    result), else `default_mb`; a value that is not a number is ignored."""
    text = os.environ.get(variable, "").strip()
    try:
        megabytes = int(text) if text else default_mb
    except ValueError:
        megabytes = default_mb
    return max(0, megabytes) * MB


class BudgetCache(cachetools.TTLCache):
    """A TTL cache whose size is the bytes of its values, that always keeps the newest one."""

    def __init__(self, budget_bytes: int, ttl_seconds: float, size_of: Callable[[Any], int]):
        # cachetools refuses a value larger than the whole cache; weigh such a value as the whole
        # budget instead, so it goes in and pushes the others out
        ceiling = max(1, budget_bytes)
        super().__init__(
            maxsize=ceiling,
            ttl=ttl_seconds,
            getsizeof=lambda value: min(ceiling, max(0, int(size_of(value)))),
        )


def budget_cached(
    *, budget_env: str, default_mb: int, ttl_seconds: float, size_of: Callable[[Any], int]
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a function of hashable arguments: its results are kept within the memory budget
    (`budget_env` in MB, default `default_mb`), computed once per key even when several sessions
    ask at the same moment. The wrapper's `cache` is the BudgetCache, `cache_clear()` empties it.
    An exception is not cached (the next call tries again)."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        cache = BudgetCache(budget_from_env(budget_env, default_mb), ttl_seconds, size_of)
        condition = threading.Condition(threading.RLock())
        return cachetools.cached(cache, condition=condition)(function)  # keeps function's name

    return decorate
