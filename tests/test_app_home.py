"""Home page and the app frame: intro, steps, device, the runs table, ?run= links, sidebar status."""

from __future__ import annotations

from pathlib import Path

from app_support import app_test, make_run, texts


def test_home_without_runs_says_what_to_do_first(runs_root: Path) -> None:
    at = app_test().run()
    assert not at.exception
    assert at.title[0].value == "Word2vec Studio"
    assert any("No runs yet" in text for text in texts(at.info))
    assert any("CPU" in text or "CUDA" in text or "MPS" in text for text in texts(at.markdown))
    assert {link.proto.label for link in at.get("page_link")} >= {"**1 · Data**", "**3 · Train**"}


def test_home_lists_every_run_with_its_settings(runs_root: Path) -> None:
    make_run(runs_root, folder="20261121-120000-a", title="First")
    make_run(runs_root, folder="20261121-120100-b", title="Second", status="failed", error="boom")
    at = app_test().run()
    table = at.dataframe[0].value
    assert sorted(table["Name"]) == ["First", "Second"]
    assert set(table["Status"]) == {"finished", "failed"}
    assert set(table["Epochs"]) == {"2 / 2"}


def test_a_run_link_opens_that_run(runs_root: Path) -> None:
    path = make_run(runs_root, title="Linked run")
    at = app_test()
    at.query_params["run"] = path.name
    at.run()
    assert at.session_state["run"] == path.name
    assert any("Linked run" in text for text in texts(at.sidebar.markdown))


def test_a_run_link_to_another_folder_is_ignored(runs_root: Path) -> None:
    make_run(runs_root)
    at = app_test()
    at.query_params["run"] = "../../etc"
    at.run()
    assert not at.exception
    assert "run" not in at.session_state or at.session_state["run"] is None
    assert any("none yet" in text for text in texts(at.sidebar.markdown))


def _sidebar_block(at) -> list[str]:
    sidebar = texts(at.sidebar.markdown) + texts(at.sidebar.caption)
    return [t for t in sidebar if t == "Working with" or t.startswith(("**Data:**", "**Run:**"))]


def test_the_sidebar_block_stays_on_pages_that_stop_early(runs_root: Path) -> None:
    """Home on a fresh server, Preprocess with no data and before Preprocess is pressed, and a
    page whose error box stops it: each still says which data and run the tab works with."""
    from app_support import page

    from w2v_ui import datasets

    at = app_test().run()
    assert len(_sidebar_block(at)) == 3, texts(at.sidebar.markdown)
    at.switch_page(page("preprocess")).run()
    assert any("No data chosen yet" in text for text in texts(at.info))
    assert len(_sidebar_block(at)) == 3, texts(at.sidebar.markdown)
    at.session_state["data_source"] = datasets.default_choice()
    at.run()
    assert any("Press Preprocess" in text for text in texts(at.info))
    block = _sidebar_block(at)
    assert len(block) == 3 and any("Lee" in t for t in block), block
    at.session_state["run"] = "20261121-000000-gone"  # a run removed on disk: the Map says so
    at.switch_page(page("map")).run()
    assert not at.exception
    assert len(_sidebar_block(at)) == 3, texts(at.sidebar.markdown)
