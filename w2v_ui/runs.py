"""Where the app keeps runs, and the one-line summaries the pages show for them.

Runs live in one folder per run under the runs root: `$W2V_RUNS_DIR`, else `./runs`. Everyone using
the server sees the same runs (the Home page lists them); a run is named by its folder name, which is
all that session state and the `?run=` link carry. Names coming from a URL are checked to be a plain
folder directly under the root, never a path.
Leaves out: the run-folder format itself (`w2v_core.run_folder`, imported only when needed: it
imports torch, which would otherwise delay the first page by a second).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from w2v_core.errors import RunFolderError

if TYPE_CHECKING:
    from w2v_core.run_folder import RunFolder

RUNS_DIR_ENV = "W2V_RUNS_DIR"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def runs_root() -> Path:
    """The folder holding every run (created on first use)."""
    root = Path(os.environ.get(RUNS_DIR_ENV) or "runs").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_dir(name: str | None) -> Path | None:
    """The folder of run `name`, or None when the name is unsafe or no such run exists."""
    if not name or not _SAFE_NAME.match(name) or ".." in name:
        return None
    path = runs_root() / name
    return path if (path / "run.json").is_file() else None


def slug(text: str, limit: int = 40) -> str:
    """A folder-safe version of `text`: letters, digits and dashes."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:limit].strip("-") or "run"


def new_run_dir(label: str) -> Path:
    """A fresh folder path for a new run: `<YYYYmmdd-HHMMSS>-<label>`, never an existing one.

    A finished run is never overwritten: every Start gets its own folder.
    """
    root = runs_root()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{slug(label)}"
    candidate, n = root / base, 2
    while candidate.exists():
        candidate, n = root / f"{base}-{n}", n + 1
    return candidate


def describe_settings(config: dict[str, Any]) -> str:
    """'skip-gram, negative sampling (5), 100 dims, window 5, SGD' from a run's config dict."""
    model = {"skipgram": "skip-gram", "cbow": "CBOW"}.get(config.get("model"), config.get("model"))
    if config.get("loss") == "softmax":
        loss = "full softmax"
    else:
        loss = f"negative sampling ({config.get('negative')})"
    optimizer = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}.get(
        config.get("optimizer"), config.get("optimizer")
    )
    return f"{model}, {loss}, {config.get('dim')} dims, window {config.get('window')}, {optimizer}"


def describe_data(data: dict[str, Any]) -> str:
    """The corpus name a person recognises, from a run's `data` dict (written by the Train page)."""
    return str(data.get("label") or data.get("name") or data.get("source") or "unknown data")


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs table."""

    name: str  # folder name, what links and session state carry
    title: str  # the name the person gave it
    corpus: str
    settings: str
    status: str
    epochs_done: int
    epochs_total: int
    vocab_size: int
    created: str  # local time, 'YYYY-mm-dd HH:MM'
    error: str | None

    @property
    def epochs(self) -> str:
        return f"{self.epochs_done} / {self.epochs_total}"


def _local_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def summarize(run: RunFolder) -> RunSummary:
    """Read run.json (and the checkpoint list) into a `RunSummary`."""
    info = run.info()
    config = info.get("config") or {}
    done = max(int(info.get("epochs_completed") or 0), len(run.checkpoint_epochs()))
    return RunSummary(
        name=run.path.name,
        title=str(info.get("name") or run.path.name),
        corpus=describe_data(info.get("data") or {}),
        settings=describe_settings(config),
        status=str(info.get("status") or "unknown"),
        epochs_done=done,
        epochs_total=int(config.get("epochs") or 0),
        vocab_size=int(info.get("vocab_size") or 0),
        created=_local_time(info.get("created_at")),
        error=info.get("error"),
    )


def list_summaries(root: Path | None = None) -> list[RunSummary]:
    """Summaries of every readable run under the root, newest first; unreadable folders skipped."""
    from w2v_core.run_folder import list_runs  # late: it imports torch (1 s), not needed to start

    summaries = []
    for run in list_runs(root or runs_root()):
        try:
            summaries.append(summarize(run))
        except (RunFolderError, OSError, ValueError):
            continue  # a run being created or a broken folder must not break the list
    return summaries


def explorable_runs(root: Path | None = None) -> list[RunSummary]:
    """Runs that have at least one saved checkpoint, so there are vectors to explore."""
    from w2v_core.run_folder import RunFolder

    out = []
    for summary in list_summaries(root):
        path = (root or runs_root()) / summary.name
        if RunFolder(path).latest_checkpoint() is not None:
            out.append(summary)
    return out
