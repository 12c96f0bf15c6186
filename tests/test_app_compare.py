"""The Compare page: which epochs it shows, and words to follow when the compared runs change."""

from __future__ import annotations

import json
from pathlib import Path

import app_support
import pytest
from app_support import make_run, read, texts
from test_app_explore import open_page


def make_run_without_cat(root: Path, monkeypatch: pytest.MonkeyPatch, folder: str, title: str):
    """A run whose vocabulary has 'government' where the others have 'cat'."""
    with monkeypatch.context() as patch:
        animals = ["government" if w == "cat" else w for w in app_support.ANIMALS]
        patch.setattr(app_support, "ANIMALS", animals)
        patch.setattr(
            app_support, "WORDS", ["government" if w == "cat" else w for w in app_support.WORDS]
        )
        return make_run(root, folder=folder, title=title, seed=20).name


def test_a_long_run_shows_a_handful_of_epochs_from_first_to_last(runs_root: Path) -> None:
    run = make_run(runs_root, epochs=30).name
    at = open_page("compare", run, cmp__words="cat", cmp__k=5)
    columns = list(at.dataframe[0].value.columns)
    assert columns == ["epoch 1", "epoch 7", "epoch 13", "epoch 18", "epoch 24", "epoch 30"]
    assert "Showing 6 of 30 saved epochs." in texts(at.caption)
    moving = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert [f["name"] for f in moving["frames"]] == columns

    at.multiselect(key=f"cmp.epochs.{run}").set_value([30, 2]).run()
    assert list(at.dataframe[0].value.columns) == ["epoch 2", "epoch 30"]  # training order
    assert "Showing 2 of 30 saved epochs." in texts(at.caption)
    moving = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert len(moving["frames"]) == 2


def test_words_another_run_lacks_are_dropped_with_a_note(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_run(runs_root, folder="20261121-120000-a", title="A").name
    second = make_run(runs_root, folder="20261121-120100-b", title="B", seed=10).name
    third = make_run_without_cat(runs_root, monkeypatch, "20261121-120200-c", "*C* <b>")
    at = open_page("compare", first, cmp__mode="runs", cmp__words="cat dog", cmp__other_run=second)
    assert list(at.dataframe[0].value["word"]) == ["cat", "dog"]

    at.selectbox(key="cmp.other_run").set_value(third).run()
    assert not at.exception, at.exception
    assert at.text_input(key="cmp.words").value == "dog"
    assert list(at.dataframe[0].value["word"]) == ["dog"]
    notes = [t for t in read(at.info) if "Dropped" in t]
    assert notes == [
        "Dropped from the words to follow, not in the vocabulary of run B (*C* <b>): cat."
    ]
    assert not at.warning


def test_an_unknown_word_in_two_runs_says_which_run_lacks_it(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_run(runs_root, folder="20261121-120000-a", title="A").name
    other = make_run_without_cat(runs_root, monkeypatch, "20261121-120200-c", "C_run")
    at = open_page("compare", first, cmp__mode="runs", cmp__words="dog cat", cmp__other_run=other)
    assert read(at.warning) == ["'cat' is not in the vocabulary of run B (C_run)."]

    at.text_input(key="cmp.words").set_value("dog government").run()
    assert read(at.warning) == ["'government' is not in the vocabulary of run A (A)."]


def test_the_two_runs_table_gives_the_word_column_room(runs_root: Path) -> None:
    first = make_run(runs_root, folder="20261121-120000-a", title="A").name
    make_run(runs_root, folder="20261121-120100-b", title="B", seed=10)
    at = open_page("compare", first, cmp__mode="runs", cmp__words="cat")
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["word"]["width"] >= 140  # "government" fits; it was cut to "governm"


def test_words_the_newly_picked_run_lacks_are_dropped_in_epochs_mode(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_run_without_cat(runs_root, monkeypatch, "20261121-120000-c", "C_run")
    make_run(runs_root, folder="20261121-120200-a", title="A")  # the newest: shown first
    at = open_page("compare", None, cmp__words="cat dog")
    assert list(at.dataframe[0].value.columns) == ["epoch 1", "epoch 2"]
    assert len(at.dataframe) == 2

    at.selectbox(key="explore.run").set_value(other).run()
    assert not at.exception, at.exception
    assert at.text_input(key="cmp.words").value == "dog"
    notes = [t for t in read(at.info) if "Dropped" in t]
    assert notes == ["Dropped from the words to follow, not in the vocabulary of C_run: cat."]
    assert len(at.dataframe) == 1  # dog only
