"""The Stability page, and the Neighbours page's "runs that agree", on a study of hand-made runs.

Three runs of `app_support.make_run` (seeds 10, 20, 30): in each, the eight animal words point one
way and the eight tools another, so the seven other animals are the top 7 of "cat" in every run
(3 of 3), and the last 3 of its top 10 are tools picked by the noise (they differ between runs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from app_support import ANIMALS, app_test, make_run, page, texts

from w2v_core.ownership import new_token, owner_id
from w2v_core.run_folder import RunFolder

STUDY = "20261121-130000-topic-study"


def make_study(root: Path, statuses=("finished", "finished", "finished")) -> list[str]:
    """A study folder under `<root>/studies` whose member runs are hand-made run folders."""
    folder = root / "studies" / STUDY
    folder.mkdir(parents=True)
    members, names = [], []
    for index, status in enumerate(statuses, start=1):
        path = make_run(root, f"20261121-1300{index:02d}-topics-{index}", seed=10 * index,
                        status=status)  # fmt: skip
        link = {"folder": str(folder.resolve()), "member": index, "of": len(statuses)}
        RunFolder(path).update(data={"label": "Topic words", "study": link})
        members.append({"index": index, "seed": 10 * index, "path": os.path.relpath(path, folder)})
        names.append(path.name)
    info = {
        "format_version": 1, "kind": "stability-study", "title": "Topic *study*",
        "n_runs": len(statuses), "seeds": [10, 20, 30][: len(statuses)], "bootstrap": False,
        "parallel": 1, "config": {}, "data": {}, "min_count": 5, "members": members,
    }  # fmt: skip
    (folder / "study.json").write_text(json.dumps(info))
    return names


def open_page(name: str, **state):
    at = app_test(timeout=120).run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def test_a_words_neighbours_across_the_runs(runs_root: Path) -> None:
    make_study(runs_root)
    at = open_page("stability")
    assert at.selectbox(key="stab.pick").value == STUDY
    assert any("3 of 3 runs done" in str(p.proto.text) for p in at.get("progress"))
    at.text_input(key="stab.word").input("cat").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["word"][:7]) == set(ANIMALS) - {"cat"}
    assert list(table["runs"][:7]) == ["3 of 3"] * 7
    assert all(0 <= s < 0.2 for s in table["spread"][:7])  # noise is small in epoch 2
    metric = next(m for m in at.metric if m.label.startswith("Stability of"))
    assert 0.4 <= float(metric.value) <= 1.0  # 7 of 10 shared at least: J >= 7/13
    assert any("two runs share about" in text for text in texts(at.markdown))
    assert at.get("plotly_chart"), "the stability-vs-frequency chart"
    most, least = at.dataframe[1].value, at.dataframe[2].value
    assert list(most["stability"]) == sorted(most["stability"], reverse=True)
    assert list(least["stability"]) == sorted(least["stability"])


def test_an_unknown_word_is_escaped_with_suggestions(runs_root: Path) -> None:
    make_study(runs_root)
    at = open_page("stability")
    at.text_input(key="stab.word").input("c*a*t").run()
    warning = " ".join(texts(at.warning))
    assert "c\\*a\\*t" in warning and "<em>" not in warning
    at.text_input(key="stab.word").input("caat").run()
    assert any(b.label == "cat" for b in at.button)


def test_a_stopped_study_offers_resume_and_uses_its_finished_runs(runs_root: Path) -> None:
    make_study(runs_root, statuses=("finished", "finished", "stopped"))
    token = new_token()  # the browser that started the study: only it (or the operator) resumes it
    study_json = runs_root / "studies" / STUDY / "study.json"
    study_json.write_text(
        json.dumps({**json.loads(study_json.read_text()), "owner": owner_id(token)})
    )
    at = open_page("stability", **{"browser.token": token})
    assert any(b.label == "Resume the study" for b in at.button)
    at.text_input(key="stab.word").input("dog").run()
    assert list(at.dataframe[0].value["runs"][:7]) == ["2 of 2"] * 7


def test_neighbours_page_shows_how_many_runs_agree(runs_root: Path) -> None:
    names = make_study(runs_root)
    lonely = make_run(runs_root, "20261121-140000-lonely", seed=99).name
    at = open_page("neighbours", run=names[0], **{"nb.word": "cat"})
    table = at.dataframe[0].value
    assert list(table["agree"][:7]) == ["3 of 3"] * 7
    assert all(value.endswith("of 3") for value in table["agree"])
    at = open_page("neighbours", run=lonely, **{"nb.word": "cat"})
    assert "agree" not in at.dataframe[0].value.columns


def test_without_a_study_the_page_offers_a_new_one(runs_root: Path) -> None:
    at = open_page("stability")
    assert any("No stability study yet" in text for text in texts(at.info))
    assert at.slider(key="stab.n_runs").value == 5
    assert any(b.label == "Start the study" for b in at.button)


def test_the_new_study_settings_survive_a_visit_to_another_page(runs_root: Path) -> None:
    """A study name, run count and bootstrap choice typed on Stability are still there after
    looking at another page (Streamlit forgets the values of widgets that were not drawn)."""
    at = open_page("stability")
    at.text_input(key="stab.title").input("Seeds on my tweets").run()
    at.slider(key="stab.n_runs").set_value(7).run()
    at.checkbox(key="stab.bootstrap").check().run()
    at.switch_page("app_pages/home.py").run()
    at.switch_page("app_pages/stability.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="stab.title").value == "Seeds on my tweets"
    assert at.slider(key="stab.n_runs").value == 7
    assert at.checkbox(key="stab.bootstrap").value is True
