"""Words and names typed by a user are shown literally on every page: no Markdown, links or images."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import app_test, make_run, page, texts

PICTURE = "![x](http://127.0.0.1:9/x.png)"


@pytest.fixture()
def run(runs_root: Path) -> str:
    return make_run(runs_root).name


def open_page(name: str, run: str, **state):
    at = app_test(timeout=120).run()
    at.session_state["run"] = run
    for key, value in state.items():
        at.session_state[key.replace("__", ".")] = value
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def test_map_search_for_unknown_words_shows_them_escaped(run: str) -> None:
    at = open_page("map", run, map__method="pca", map__search=f"{PICTURE} **bold**")
    captions = [c for c in texts(at.caption) if "is not in the vocabulary" in c]
    shown = (
        r"'\!\[x\]\(http" + "\u2060" + r"\://127\.0\.0\.1\:9/x\.png\)' is not in the vocabulary."
    )
    assert shown in captions  # the word joiner keeps Streamlit from linking the URL
    assert r"'\*\*bold\*\*' is not in the vocabulary." in captions


def test_a_very_long_unknown_word_is_shown_cut_with_its_length(run: str) -> None:
    at = open_page("neighbours", run)
    at.text_input(key="nb.word").input("a" * 10_000).run()
    assert not at.exception, at.exception
    (warning,) = [w for w in texts(at.warning) if "is not in this run's vocabulary" in w]
    assert warning == f"'{'a' * 60}… (10,000 characters)' is not in this run's vocabulary."


def test_similarity_of_two_words_names_them_escaped(run: str) -> None:
    from w2v_ui import widgets

    at = open_page("neighbours", run)
    at.text_input(key="nb.similarity_1").input("cat").run()
    at.text_input(key="nb.similarity_2").input("dog").run()
    assert not at.exception, at.exception
    assert at.metric[0].label == "Cosine similarity of 'cat' and 'dog'"
    assert widgets.shown_word("**x**") == r"\*\*x\*\*"


def test_the_run_name_box_takes_at_most_a_title_length(runs_root: Path) -> None:
    from w2v_ui import train_settings

    at = app_test(timeout=120).run()
    at.switch_page(page("train")).run()
    assert not at.exception, at.exception
    box = at.text_input(key="train.run_name")
    assert box.max_chars == train_settings.RUN_NAME_MAX_CHARS == 120


def test_the_same_pair_list_under_another_name_is_named_by_its_own_name(run: str) -> None:
    at = open_page("evaluate", run)
    data = b"cat dog 9\nhorse cow 8\n"  # two pairs: too few for a score, and the message names the file
    at.file_uploader(key="eval.pairs_upload").upload("first.txt", data).run()
    assert any("of first\\.txt have both words" in c for c in texts(at.caption))
    at.file_uploader(key="eval.pairs_upload").upload("**second**.txt", data).run()
    assert not at.exception, at.exception
    captions = " ".join(texts(at.caption))
    assert "of \\*\\*second\\*\\*\\.txt have both words" in captions and "first" not in captions


def test_the_evaluation_chart_titles_its_loss_axis_loss() -> None:
    from w2v_ui import charts

    figure = charts.evaluation_chart({"WordSim-353": [(1, 0.2, "59 of 353 pairs")]}, [(1, 3.0)])
    assert figure.layout.yaxis.title.text == "score (Spearman, or share of analogies right)"
    assert figure.layout.yaxis2.title.text == "loss"


def test_the_study_name_box_takes_at_most_a_title_length(runs_root: Path) -> None:
    from w2v_ui import train_settings

    at = app_test(timeout=120).run()
    at.switch_page(page("stability")).run()
    assert not at.exception, at.exception
    assert at.text_input(key="stab.title").max_chars == train_settings.RUN_NAME_MAX_CHARS
