"""A browser session that survives a reload, and runs that belong to the browser that started them.

A "browser" here is its token: the cookie a reload sends (`viewer._request_cookies`, replaced by
the test, since AppTest cannot send cookies) or, for a tab already open, the token its session
holds. A reload is a new AppTest with the same cookie and the address bar of the old one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import app_test, make_run, page, read, texts, worker_holding_lock

from w2v_core import jobs, sources
from w2v_core.ownership import new_token, owner_id
from w2v_core.run_folder import RunFolder
from w2v_ui import viewer

ALICE, BOB = new_token(), new_token()
RUN = "20261121-120000-topics"


def browser(monkeypatch: pytest.MonkeyPatch, token: str | None):
    """A new tab (or a reload) of a browser whose cookie holds `token` (None: a first visit)."""
    cookies = {viewer.COOKIE_NAME: token} if token else {}
    monkeypatch.setattr(viewer, "_request_cookies", lambda: cookies)
    return app_test(timeout=120)


def tab(token: str):
    """A tab of the browser with `token` that is already open (its session knows the token)."""
    at = app_test(timeout=120)
    at.session_state["browser.token"] = token
    return at


def owned_run(root: Path, token: str | None, folder: str = RUN, **kwargs) -> Path:
    path = make_run(root, folder=folder, **kwargs)
    RunFolder(path).update(owner=owner_id(token) if token else None)
    return path


def sidebar(at) -> list[str]:
    """The sidebar's lines as read: escapes and bold marks gone."""
    return [t.replace("**", "") for t in read(at.sidebar.markdown) + read(at.sidebar.caption)]


def current(at) -> str | None:
    return at.session_state["run"] if "run" in at.session_state else None  # noqa: SIM401


# ---- the token ----------------------------------------------------------------------------------
def test_a_first_visit_makes_a_token_and_writes_it_into_the_cookie(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = browser(monkeypatch, None).run()
    assert not at.exception, at.exception
    token = at.session_state["browser.token"]
    scripts = [e.proto.body for e in at.sidebar.get("html")]
    assert any(f'value = "{token}"' in s and "SameSite=Strict" in s for s in scripts), scripts
    assert not any(token in str(v) for v in at.query_params.values())  # never in the URL

    again = browser(monkeypatch, token).run()  # the reload sends it back: kept, no script
    assert again.session_state["browser.token"] == token
    assert not [e for e in again.sidebar.get("html") if token in e.proto.body]


def test_a_malformed_cookie_is_replaced(runs_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = browser(monkeypatch, "<script>").run()
    assert at.session_state["browser.token"] != "<script>"
    assert len(at.session_state["browser.token"]) == 43


# ---- the reload ------------------------------------------------------------------------------------
def test_a_reload_keeps_the_data_and_the_run(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = sources.store_upload("diary.txt", b"cat dog horse\n" * 50, owner=owner_id(ALICE))
    owned_run(runs_root, ALICE, title="My diary run")
    first = browser(monkeypatch, ALICE)
    first.run()
    first.session_state["data_source"] = upload  # as after the Data page
    first.session_state["run"] = RUN  # as after Start
    first.run()
    assert not first.exception, first.exception
    assert first.query_params["run"] == RUN
    link = first.query_params["data"]
    assert link.startswith(f"upload:{upload.key}")
    assert ALICE not in link

    reloaded = browser(monkeypatch, ALICE)
    for key, value in first.query_params.items():
        reloaded.query_params[key] = value
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.session_state["data_source"] == upload
    assert current(reloaded) == RUN
    lines = sidebar(reloaded)
    assert "Data: diary.txt" in lines, lines
    assert any(t.startswith("Run: My diary run") for t in lines), lines
    assert any("yours" in t for t in lines), lines


def test_an_upload_in_a_shared_link_does_not_open_in_another_browser(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = sources.store_upload(
        "interview.txt", b"my private interview\n" * 9, owner=owner_id(ALICE)
    )
    owned_run(runs_root, ALICE, title="Interview run")
    other = browser(monkeypatch, BOB)
    other.query_params["data"] = f"upload:{upload.key}"
    other.query_params["run"] = RUN
    other.run()
    assert not other.exception, other.exception
    assert "data_source" not in other.session_state or other.session_state["data_source"] is None
    assert "data" not in other.query_params
    lines = sidebar(other)
    assert any("cannot be opened here" in t for t in lines), lines
    assert current(other) == RUN  # the (public) run itself opens, to explore
    assert any("someone else's" in t for t in lines), lines


def test_a_fresh_tab_viewing_a_run_shows_that_runs_data(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned_run(runs_root, ALICE, title="Tweets run")
    at = browser(monkeypatch, BOB)
    at.query_params["run"] = RUN
    at.run()
    lines = sidebar(at)
    assert any(t.startswith("Run: Tweets run") for t in lines), lines
    assert any(t.startswith("trained on Topic words") for t in lines), lines
    assert "Data: none chosen yet (Train uses Lee news corpus)" in lines, lines


def test_a_run_link_takes_the_runs_data_when_the_tab_has_none(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from w2v_core.sources import DataSpec

    spec = DataSpec("builtin", "lee", "Lee news corpus", "text")
    path = owned_run(runs_root, ALICE, title="Lee run")
    RunFolder(path).update(data={"spec": spec.to_dict(), "label": "Lee news corpus"})
    at = browser(monkeypatch, BOB)
    at.query_params["run"] = RUN
    at.run()
    assert at.session_state["data_source"].key == "lee"
    assert at.query_params["data"].startswith("builtin:lee")


def test_data_links_round_trip() -> None:
    from w2v_core.sources import DataSpec
    from w2v_ui import datasets, state

    hub = DataSpec(
        "hub",
        "user/my data",
        "user/my data",
        "review",
        ("stars", "a,b"),
        split="test",
        max_rows=500,
    )
    upload = DataSpec(
        "upload", "a" * 64, "x.csv", "body", filename="x.csv", txt_mode="whole", encoding="cp1250"
    )
    for spec in (datasets.default_choice(), hub, upload):
        assert state.spec_from_link(state.data_link(spec)) == spec
    assert state.data_link(datasets.default_choice()) == "builtin:lee"
    assert state.spec_from_link("file:/etc/passwd") is None
    assert state.spec_from_link("builtin:no-such-corpus") is None


# ---- who may stop -------------------------------------------------------------------------------------
def test_only_the_owner_sees_stop_on_a_live_run(runs_root: Path) -> None:
    path = owned_run(runs_root, ALICE, title="Alice's run", status="running")
    with worker_holding_lock(path):
        theirs = tab(BOB)
        theirs.query_params["run"] = RUN
        theirs.switch_page(page("train")).run()
        assert not theirs.exception, theirs.exception
        assert not [b for b in theirs.button if b.key == "train.stop"]
        assert any("someone else's: only its owner can stop" in t for t in read(theirs.caption))

        mine = tab(ALICE)
        mine.query_params["run"] = RUN
        mine.switch_page(page("train")).run()
        stop = [b for b in mine.button if b.key == "train.stop"]
        assert stop
        stop[0].click().run()
        assert (path / "STOP").exists()


def test_a_command_line_run_is_managed_only_by_the_operator(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owned_run(runs_root, None, title="Shell run", status="stopped", epochs=2)
    RunFolder(runs_root / RUN).update(
        config={**RunFolder(runs_root / RUN).info()["config"], "epochs": 4}
    )
    at = tab(ALICE)
    at.query_params["run"] = RUN
    at.switch_page(page("train")).run()
    assert not [b for b in at.button if b.key == "train.resume"]
    assert any("started from the command line: only the operator" in t for t in read(at.caption))

    monkeypatch.setenv("W2V_OPERATOR_PASSWORD", "class-2026")
    at.run()
    at.sidebar.text_input(key="operator.password").input("class-2026")
    at.sidebar.button[0].click().run()  # the form's Unlock
    assert at.session_state["browser.operator"] is True
    assert [b for b in at.button if b.key == "train.resume"]


# ---- private runs -------------------------------------------------------------------------------------
def test_a_private_run_never_shows_to_others(runs_root: Path) -> None:
    owned_run(runs_root, ALICE, title="Secret run")
    owned_run(runs_root, BOB, folder="20261121-110000-bobs", title="Bob's run")
    jobs.set_private(runs_root / RUN, True)

    bob = tab(BOB)
    bob.query_params["run"] = RUN
    bob.run()
    assert not bob.exception, bob.exception
    assert list(bob.dataframe[0].value["Name"]) == ["Bob's run"]
    assert current(bob) is None and "run" not in bob.query_params
    assert any("made it private" in t for t in sidebar(bob))
    bob.switch_page(page("map")).run()
    options = bob.selectbox(key="explore.run").options
    assert len(options) == 1 and options[0].startswith("Bob's run"), options
    bob.switch_page(page("card")).run()
    assert not any("Secret run" in t for t in read(bob.markdown) + texts(bob.selectbox))

    alice = tab(ALICE)
    alice.run()
    assert sorted(alice.dataframe[0].value["Name"]) == ["Bob's run", "Secret run"]


# ---- Home: rename, delete, the class run ---------------------------------------------------------------
def open_row(at, name: str):
    at.session_state["home.runs_table"] = {"selection": {"rows": [0], "columns": []}}
    at.session_state["run"] = name
    return at.run()


def test_the_owner_renames_and_deletes_a_run_on_home(runs_root: Path) -> None:
    path = owned_run(runs_root, ALICE, title="Old name")
    bob = open_row(tab(BOB), RUN)
    assert not [t for t in bob.text_input if t.key.startswith("manage.")]
    assert any("someone else's: you can explore it" in t for t in read(bob.caption))

    alice = open_row(tab(ALICE), RUN)
    alice.text_input(key=f"manage.title.{RUN}").input("**New** name")
    alice.button(key=f"manage.rename.{RUN}").click().run()
    assert RunFolder(path).title() == "**New** name"
    assert any("Renamed to '**New** name'" in t for t in read(alice.success))

    alice.button(key=f"manage.delete.{RUN}").click().run()
    alice.text_input(key=f"manage.confirm.{RUN}").input("wrong")
    alice.button(key=f"manage.delete_now.{RUN}").click().run()
    assert path.exists() and any("does not match" in t for t in read(alice.error))
    alice.button(key=f"manage.delete.{RUN}").click().run()
    alice.text_input(key=f"manage.confirm.{RUN}").input("**New** name")
    alice.button(key=f"manage.delete_now.{RUN}").click().run()
    assert not alice.exception, alice.exception
    assert not path.exists()
    assert any("Deleted run '**New** name'" in t for t in read(alice.success))


def test_the_operator_pins_a_class_run_that_everyone_sees(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("W2V_OPERATOR_PASSWORD", "class-2026")
    owned_run(runs_root, ALICE, title="Class example")
    teacher = tab(new_token())
    teacher.run()
    teacher.sidebar.text_input(key="operator.password").input("wrong")
    teacher.sidebar.button[0].click().run()
    assert (
        "browser.operator" not in teacher.session_state
        or not teacher.session_state["browser.operator"]
    )
    assert any("not the operator password" in t for t in read(teacher.sidebar.caption))
    teacher.sidebar.text_input(key="operator.password").input("class-2026")
    teacher.sidebar.button[0].click().run()
    open_row(teacher, RUN)
    teacher.button(key=f"manage.pin.{RUN}").click().run()
    assert jobs.class_run(runs_root) == RUN

    student = tab(BOB).run()
    assert any("Class run:** Class example" in t for t in texts(student.markdown))
    student.switch_page(page("map")).run()
    assert student.selectbox(key="explore.run").value == RUN


def test_a_data_link_shows_on_the_data_page(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = browser(monkeypatch, ALICE)
    at.query_params["data"] = "builtin:lee"
    at.switch_page(page("data")).run()
    assert not at.exception, at.exception
    assert at.session_state["data.kind"] == "builtin"
    assert at.radio(key="data.builtin").value == "lee"
    assert at.session_state["data_source"].key == "lee"
    assert at.query_params["data"] == "builtin:lee"


def test_hostile_run_names_stay_literal_when_managed(runs_root: Path) -> None:
    hostile = "![w](http://host/x.png) **urgent** <b>x</b>"
    owned_run(runs_root, ALICE, title=hostile)
    at = open_row(tab(ALICE), RUN)
    at.button(key=f"manage.delete.{RUN}").click().run()
    assert any(hostile in t for t in read(at.warning)), read(at.warning)
    assert not any("![w](http" in t for t in texts(at.warning))  # sent escaped, not as Markdown
    at.text_input(key=f"manage.title.{RUN}").input(hostile + " 2")
    at.button(key=f"manage.rename.{RUN}").click().run()
    assert any(f"Renamed to '{hostile} 2'" in t for t in read(at.success))
    assert not any("![w](http" in t for t in texts(at.success) + texts(at.sidebar.markdown))


def test_a_study_with_a_private_member_never_shows_to_others(runs_root: Path) -> None:
    from test_app_stability import STUDY, make_study

    names = make_study(runs_root)
    RunFolder(runs_root / names[0]).update(owner=owner_id(ALICE), private=True)
    bob = tab(BOB)
    bob.switch_page(page("stability")).run()
    assert not bob.exception, bob.exception
    assert not [s for s in bob.selectbox if s.key == "stab.pick"]
    assert not any("Topic" in t for t in read(bob.markdown) + read(bob.caption))
    alice = tab(ALICE)
    alice.switch_page(page("stability")).run()
    assert alice.selectbox(key="stab.pick").value == STUDY


def test_home_says_whose_each_run_is(runs_root: Path) -> None:
    owned_run(runs_root, ALICE, folder="20261121-120000-a", title="Hers")
    owned_run(runs_root, BOB, folder="20261121-120001-b", title="His")
    owned_run(runs_root, None, folder="20261121-120002-c", title="Shell")
    jobs.set_private(runs_root / "20261121-120000-a", True)
    at = tab(ALICE).run()
    table = at.dataframe[0].value
    whose = dict(zip(table["Name"], table["Whose"], strict=True))
    assert whose == {
        "Hers": "yours · private",
        "His": "someone else's",
        "Shell": "started from the command line",
    }
