"""Where the app keeps runs, and which run a name from a link or session state means.

Runs live in one folder per run under the runs root (`w2v_core.run_folder.default_runs_root`:
`$W2V_RUNS_DIR`, else `./runs`). Everyone using the server sees the same runs (the Home page lists
them) except the private runs of others (`w2v_core.ownership.may_view`, for this tab's viewer): for
those every function here behaves as if they did not exist, so no list, link or picker shows them.
A run is named by its folder name, which is all that session state and the `?run=` link carry.
Names coming from a URL are checked to be a plain folder directly under the root, never a path.
Leaves out: the run itself (`w2v_core.run_folder`) and launching, listing and stopping runs
(`w2v_core.jobs`): this module only turns names into those calls.
"""

from __future__ import annotations

import re
from pathlib import Path

from w2v_core import jobs
from w2v_core.errors import RunFolderError
from w2v_core.jobs import RunSummary
from w2v_core.run_folder import RUNS_DIR_ENV, RunFolder, default_runs_root

__all__ = [
    "RUNS_DIR_ENV",
    "RunSummary",
    "class_run",
    "explorable_runs",
    "list_summaries",
    "run_dir",
]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def runs_root() -> Path:
    """The folder holding every run (created on first use)."""
    root = default_runs_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_dir(name: str | None) -> Path | None:
    """The folder of run `name`, or None when the name is unsafe, no such run exists, or this tab's
    viewer may not see it (someone else's private run)."""
    if not name or not _SAFE_NAME.match(name) or ".." in name:
        return None
    path = runs_root() / name
    if not (path / "run.json").is_file():
        return None
    try:
        info = RunFolder(path).info()
    except RunFolderError:
        return None
    from w2v_ui import viewer  # late: viewer imports state, which imports this module

    return path if viewer.may_view(info) else None


def run_folder(name: str) -> RunFolder:
    return RunFolder(runs_root() / name)


def list_summaries(root: Path | None = None) -> list[RunSummary]:
    """Summaries of every readable run this tab's viewer may see, newest first."""
    from w2v_ui import viewer

    return jobs.list_summaries(root or runs_root(), viewer.current())


def class_run() -> str | None:
    """The run the operator pinned for the class, when there is one this tab may see."""
    name = jobs.class_run(runs_root())
    return name if run_dir(name) is not None else None


def explorable_runs(root: Path | None = None) -> list[RunSummary]:
    """Runs that have at least one saved checkpoint, so there are vectors to explore."""
    return [s for s in list_summaries(root) if s.has_vectors]
