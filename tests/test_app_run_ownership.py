"""This tab's current run (what Train shows, what Stop and Resume act on, the ?run= link) changes
only by this tab's own action, never because someone else on the server started or saved a run."""

from __future__ import annotations

from pathlib import Path

from app_support import app_test, make_run, page, texts

MINE = "20261121-110000-mine"
THEIRS = "20261121-130000-theirs"  # newer: first in every newest-first list


def session(current: str | None = None):
    at = app_test(timeout=120).run()
    if current is not None:
        at.session_state["run"] = current  # as after pressing Start in that tab
    return at


def current(at) -> str | None:
    return at.session_state["run"] if "run" in at.session_state else None  # noqa: SIM401 - no .get()


def test_an_explore_page_shows_another_users_new_run_without_making_it_mine(
    runs_root: Path,
) -> None:
    theirs = session()
    mine = session()
    mine.switch_page(page("map")).run()
    assert not mine.exception, mine.exception

    make_run(runs_root, folder=THEIRS, title="Their run", epochs=1, status="running")
    theirs.session_state["run"] = THEIRS
    theirs.switch_page(page("train")).run()
    mine.run()  # any rerun of my Map (a click, a word typed) after their first epoch is saved
    assert not mine.exception, mine.exception

    assert mine.selectbox(key="explore.run").value == THEIRS  # explored: the newest with vectors
    assert current(mine) is None
    assert "run" not in mine.query_params
    sidebar = texts(mine.sidebar.markdown)
    assert not [t for t in sidebar if t.startswith("**Run:**") and "Their run" in t], sidebar
    assert [t for t in sidebar if t.startswith("**Exploring:** Their run")], sidebar

    mine.switch_page(page("train")).run()
    assert not mine.exception, mine.exception
    assert current(mine) is None and "run" not in mine.query_params
    assert not [b for b in mine.button if b.key == "train.stop"]  # no Stop for their run
    assert [b.label for b in mine.button] == ["Start training"]

    theirs.run()
    assert current(theirs) == THEIRS  # and nothing happened to their tab


def test_choosing_a_run_in_the_picker_makes_it_the_current_run(runs_root: Path) -> None:
    make_run(runs_root, folder=MINE, title="My run")
    make_run(runs_root, folder=THEIRS, title="Their run")
    mine = session()
    mine.switch_page(page("neighbours")).run()
    assert mine.selectbox(key="explore.run").value == THEIRS and current(mine) is None

    mine.selectbox(key="explore.run").set_value(MINE).run()
    assert not mine.exception, mine.exception
    assert current(mine) == MINE
    assert mine.query_params["run"] == MINE
    assert [t for t in texts(mine.sidebar.markdown) if t.startswith("**Run:** My run")]


def test_a_run_started_meanwhile_does_not_take_over_the_row_clicked_on_home(
    runs_root: Path,
) -> None:
    make_run(runs_root, folder=MINE, title="My run")
    mine = session()
    mine.session_state["home.runs_table"] = {"selection": {"rows": [0], "columns": []}}
    mine.session_state["run"] = MINE  # row 0 was my run when I clicked it
    mine.run()
    assert not mine.exception, mine.exception
    assert current(mine) == MINE

    make_run(runs_root, folder=THEIRS, title="Their run")  # now row 0, mine row 1
    mine.run()
    assert not mine.exception, mine.exception
    assert current(mine) == MINE
    assert mine.query_params["run"] == MINE
    assert [t for t in texts(mine.markdown) if t.startswith("**My run**")]
