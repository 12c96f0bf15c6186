"""Preprocess page: the empty state, live preview, statistics and warnings, bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import app_test, page, texts

from w2v_ui import datasets


@pytest.fixture()
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("W2V_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("W2V_WARM_UP", "0")
    app = app_test().run()
    app.switch_page(page("preprocess"))
    return app


def test_without_data_the_page_links_to_the_data_step(at) -> None:
    at.run()
    assert any("No data chosen yet" in text for text in texts(at.info))
    assert "data" in {link.proto.page for link in at.get("page_link")}  # the URL path of 1 · Data


def test_the_preview_and_statistics_of_the_default_corpus(at) -> None:
    at.run()
    at.button(key="pre.use_default_data").click().run()
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["original text", "words the model will see"]
    assert len(preview) == 6
    assert preview["words the model will see"][0].startswith(
        "hundreds people forced"
    )  # stopwords gone
    at.button(key="pre.apply").click().run(timeout=120)
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["Documents kept"] == "300"
    assert any("tokens are left to train on" in text for text in texts(at.warning))  # small corpus
    assert len(at.get("plotly_chart")) == 2  # top words and the Zipf chart


def test_a_changed_setting_updates_the_preview_at_once(at) -> None:
    at.session_state["data_source"] = datasets.default_choice()
    at.run()
    at.toggle(key="pre.lowercase").set_value(False).run()
    first = at.dataframe[0].value["words the model will see"][0]
    assert first.startswith("Hundreds")


def test_an_impossible_custom_pattern_is_explained(at) -> None:
    at.session_state["data_source"] = datasets.default_choice()
    at.run()
    at.radio(key="pre.char_filter").set_value("custom").run()
    at.text_input(key="pre.custom_pattern").input("(a|aa)+$").run()
    assert not at.exception
    assert at.error, "a catastrophic-backtracking pattern must be refused with a message"


def test_preprocess_runs_once_per_request(at, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pressing Preprocess used to run the pipeline twice: once for the progress bar, once through
    the memory cache. Showing the result again afterwards must not run it at all."""
    import w2v_core.preprocess as core_preprocess
    from w2v_core import sources

    calls = []
    original = core_preprocess.preprocess

    def counting(*args, **kwargs):
        calls.append(kwargs.get("progress"))
        return original(*args, **kwargs)

    monkeypatch.setattr(core_preprocess, "preprocess", counting)
    text = "".join(f"doc {i} about cats and dogs and birds\n" for i in range(50))
    at.session_state["data_source"] = sources.store_upload("once.txt", text.encode())
    at.run()
    at.button(key="pre.apply").click().run(timeout=120)
    assert not at.exception, at.exception
    assert len(calls) == 1 and calls[0] is not None  # with the progress bar
    at.run()
    assert len(calls) == 1


def test_preprocessing_runs_in_the_background_with_a_progress_bar(at, monkeypatch) -> None:
    """The script thread never waits for the work: the page shows a progress bar and ends; once the
    work is done the next run shows the statistics. A second session asking meanwhile watches the
    same work instead of starting it again."""
    import threading

    import w2v_core.preprocess as core_preprocess
    from w2v_core import sources

    monkeypatch.setenv("W2V_PREPARATION_WAIT", "0")
    release = threading.Event()
    calls = []
    original = core_preprocess.preprocess

    def slow(*args, **kwargs):
        calls.append(1)
        release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(core_preprocess, "preprocess", slow)
    text = "".join(f"doc {i} about cats and dogs and birds\n" for i in range(50))
    at.session_state["data_source"] = sources.store_upload("slow.txt", text.encode())
    at.run()
    at.button(key="pre.apply").click().run(timeout=10)
    assert not at.exception, at.exception
    assert at.get("progress"), "a progress bar while the work runs"
    assert not at.metric  # no statistics yet, and the run ended without waiting

    other = app_test().run()
    other.session_state["data_source"] = at.session_state["data_source"]
    other.session_state["preprocess_config"] = at.session_state["preprocess_config"]
    other.session_state["preprocess_data"] = at.session_state["preprocess_data"]
    other.switch_page(page("preprocess")).run(timeout=10)
    assert other.get("progress")

    release.set()
    from w2v_ui import loaders

    key = (at.session_state["preprocess_data"], at.session_state["preprocess_config"])
    assert loaders.preparation(*key).wait(60)
    at.run(timeout=30)
    assert {m.label for m in at.metric} >= {"Documents kept"}
    assert calls == [1]  # one piece of work for both sessions


def test_settings_kept_from_another_data_set_are_named_and_can_be_reset(at) -> None:
    from w2v_core import preprocess, sources

    other = sources.store_upload("notes.txt", ("alpha beta gamma delta\n" * 20).encode())
    at.session_state["data_source"] = other
    at.run()
    at.toggle(key="pre.lowercase").set_value(False).run()
    at.session_state["preprocess_config"] = preprocess.PreprocessConfig(lowercase=False)
    at.session_state["preprocess_data"] = other  # as after pressing Preprocess on notes.txt
    at.run()
    assert not [t for t in texts(at.info) if "another data set" in t]  # the same data: no note
    at.session_state["data_source"] = datasets.default_choice()  # then the Lee corpus is chosen
    at.run()
    notes = [t for t in texts(at.info) if "another data set" in t]
    assert len(notes) == 1 and "notes" in notes[0]
    at.button(key="pre.reset").click().run()
    assert not at.exception
    assert at.toggle(key="pre.lowercase").value is True
    assert not [t for t in texts(at.info) if "another data set" in t]
