"""Who may see and manage a run (`w2v_core.ownership`), and the core's rename / private / delete /
class-run operations (`w2v_core.jobs`) and the CLI's `delete` / `rename`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from app_support import cli, make_run, worker_holding_lock

from w2v_core import jobs, sources
from w2v_core.errors import AccessError, RunFolderError
from w2v_core.ownership import (
    Ownership,
    PasswordGate,
    Viewer,
    is_token,
    may_manage,
    may_view,
    new_token,
    owner_id,
    owner_label,
)
from w2v_core.run_folder import RunFolder

ALICE, BOB = new_token(), new_token()
alice, bob = Viewer.from_token(ALICE), Viewer.from_token(BOB)
operator = Viewer.OPERATOR


def owned_run(root: Path, token: str | None, folder: str = "20261121-120000-owned") -> Path:
    path = make_run(root, folder=folder, title=f"Run {folder}")
    RunFolder(path).update(owner=owner_id(token) if token else None)
    return path


# ---- the rules -------------------------------------------------------------------------------------
def test_the_owner_id_is_the_sha256_of_the_token_never_the_token() -> None:
    token = new_token()
    assert is_token(token) and len(token) == 43
    assert owner_id(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in owner_id(token)
    assert new_token() != new_token()


@pytest.mark.parametrize(
    ("owner", "private", "viewer", "view", "manage"),
    [
        (ALICE, False, alice, True, True),  # her own run
        (ALICE, False, bob, True, False),  # someone else's public run: explore, not manage
        (ALICE, True, bob, False, False),  # someone else's private run: does not exist for him
        (ALICE, True, alice, True, True),
        (ALICE, True, operator, True, True),  # the operator sees and manages everything
        (None, False, alice, True, False),  # a command-line run: explore, only the operator manages
        (None, False, operator, True, True),
        (ALICE, False, Viewer.NOBODY, True, False),  # no token known: never an owner
    ],
)
def test_who_may_view_and_who_may_manage(owner, private, viewer, view, manage) -> None:
    info = {"owner": owner_id(owner) if owner else None, "private": private}
    assert may_view(info, viewer) is view
    assert may_manage(info, viewer) is manage


def test_a_malformed_owner_in_run_json_owns_nothing() -> None:
    info = {"owner": "", "private": False}
    assert Ownership.of(info).from_command_line
    assert not may_manage(info, Viewer(owner=""))


def test_owner_labels() -> None:
    assert owner_label({"owner": owner_id(ALICE)}, alice) == "you"
    assert owner_label({"owner": owner_id(ALICE)}, bob) == "someone else"
    assert owner_label({}, alice) == "started from the command line"


# ---- the operator password ------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_password_gate_accepts_the_password_and_limits_wrong_tries() -> None:
    clock = Clock()
    gate = PasswordGate(
        "s3cret", max_failures=3, max_total_failures=100, window_seconds=60, clock=clock
    )
    assert gate.check("s3cret", "alice")
    for _ in range(3):
        assert not gate.check("guess", "bob")
    with pytest.raises(AccessError, match="Too many wrong passwords"):
        gate.check("s3cret", "bob")  # even the right one, while he must wait
    assert gate.check("s3cret", "alice")  # another browser is not locked out
    clock.now += 61
    assert gate.wait_seconds("bob") == 0
    assert gate.check("s3cret", "bob")


def test_password_gate_limits_wrong_tries_of_all_browsers_together() -> None:
    clock = Clock()
    gate = PasswordGate(
        "s3cret", max_failures=5, max_total_failures=4, window_seconds=60, clock=clock
    )
    for who in ("a", "b", "c", "d"):  # new tokens for every try (cookies cleared)
        assert not gate.check("guess", who)
    with pytest.raises(AccessError):
        gate.check("guess", "e")


def test_no_password_set_means_no_operator_in_the_app() -> None:
    gate = PasswordGate(None)
    assert not gate.enabled
    with pytest.raises(AccessError, match="No operator password"):
        gate.check("", "alice")


# ---- creating, renaming, private ---------------------------------------------------------------------
def test_create_records_the_owner_and_public_by_default(tmp_path: Path) -> None:
    path = owned_run(tmp_path, ALICE)
    info = json.loads((path / "run.json").read_text())
    assert info["owner"] == owner_id(ALICE) and info["private"] is False
    assert ALICE not in (path / "run.json").read_text()
    summary = jobs.summarize(RunFolder(path))
    assert summary.ownership.owner == owner_id(ALICE) and not summary.private


def test_rename_only_by_owner_or_operator(tmp_path: Path) -> None:
    path = owned_run(tmp_path, ALICE)
    with pytest.raises(AccessError, match="belongs to someone else"):
        jobs.rename_run(path, "Bob's now", viewer=bob)
    assert jobs.rename_run(path, "  My\tbest\nrun  ", viewer=alice) == "My best run"
    assert RunFolder(path).title() == "My best run"
    assert jobs.rename_run(path, "Operator's", viewer=operator) == "Operator's"
    with pytest.raises(RunFolderError, match="cannot be empty"):
        jobs.rename_run(path, "   ", viewer=alice)
    with pytest.raises(RunFolderError, match="at most 120"):
        jobs.rename_run(path, "x" * 121, viewer=alice)


def test_a_private_run_is_listed_only_for_its_owner_and_the_operator(tmp_path: Path) -> None:
    mine = owned_run(tmp_path, ALICE, "20261121-120000-mine")
    owned_run(tmp_path, BOB, "20261121-120001-bobs")
    with pytest.raises(AccessError):
        jobs.set_private(mine, True, viewer=bob)
    jobs.set_private(mine, True, viewer=alice)

    def names(viewer):
        return sorted(s.name for s in jobs.list_summaries(tmp_path, viewer))

    assert names(alice) == ["20261121-120000-mine", "20261121-120001-bobs"]
    assert names(bob) == ["20261121-120001-bobs"]
    assert names(operator) == names(alice)
    assert len(jobs.list_summaries(tmp_path)) == 2  # no viewer: the CLI's list, everything


def test_a_command_line_run_cannot_be_made_private(tmp_path: Path) -> None:
    path = owned_run(tmp_path, None)
    with pytest.raises(AccessError, match="command line"):
        jobs.set_private(path, True, viewer=operator)


# ---- deleting -------------------------------------------------------------------------------------
def test_delete_removes_exactly_that_run(tmp_path: Path) -> None:
    keep = owned_run(tmp_path, ALICE, "20261121-120000-keep")
    gone = owned_run(tmp_path, ALICE, "20261121-120001-gone")
    with pytest.raises(AccessError):
        jobs.delete_run(gone, tmp_path, viewer=bob)
    assert jobs.delete_run(gone, tmp_path, viewer=alice) == "Run 20261121-120001-gone"
    assert not gone.exists()
    assert (keep / "run.json").is_file() and (keep / "checkpoints").is_dir()
    assert [s.name for s in jobs.list_summaries(tmp_path)] == [keep.name]
    assert not list((tmp_path / jobs.DELETED_DIR).iterdir())  # nothing left behind


def test_delete_refuses_a_run_that_trains(tmp_path: Path) -> None:
    path = owned_run(tmp_path, ALICE)
    with worker_holding_lock(path), pytest.raises(RunFolderError, match="stop it first"):
        jobs.delete_run(path, tmp_path, viewer=alice)
    assert (path / "run.json").is_file()


def test_delete_refuses_paths_outside_the_runs_root(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    elsewhere = owned_run(tmp_path / "elsewhere", ALICE)
    root.mkdir()
    with pytest.raises(RunFolderError, match="directly inside the runs folder"):
        jobs.delete_run(elsewhere, root, viewer=operator)
    with pytest.raises(RunFolderError, match="directly inside"):
        jobs.delete_run(root / ".." / "elsewhere" / elsewhere.name, root, viewer=operator)
    (root / "link").symlink_to(elsewhere)
    with pytest.raises(RunFolderError, match="directly inside"):
        jobs.delete_run(root / "link", root, viewer=operator)
    assert (elsewhere / "run.json").is_file()


def test_delete_says_when_a_run_belongs_to_a_study(tmp_path: Path) -> None:
    path = owned_run(tmp_path, ALICE)
    RunFolder(path).update(data={"study": {"folder": "/x", "member": 2, "of": 5}})
    with pytest.raises(RunFolderError, match="run 2 of 5 of a stability study"):
        jobs.delete_run(path, tmp_path, viewer=alice)
    jobs.delete_run(path, tmp_path, viewer=alice, allow_study_member=True)
    assert not path.exists()


# ---- the class run --------------------------------------------------------------------------------
def test_only_the_operator_pins_a_public_class_run(tmp_path: Path) -> None:
    path = owned_run(tmp_path, ALICE)
    assert jobs.class_run(tmp_path) is None
    with pytest.raises(AccessError, match="Only the operator"):
        jobs.pin_class_run(tmp_path, path, viewer=alice)
    jobs.set_private(path, True, viewer=alice)
    with pytest.raises(AccessError, match="private"):
        jobs.pin_class_run(tmp_path, path, viewer=operator)
    jobs.set_private(path, False, viewer=alice)
    jobs.pin_class_run(tmp_path, path, viewer=operator)
    assert jobs.class_run(tmp_path) == path.name
    jobs.delete_run(path, tmp_path, viewer=alice)  # deleting it unpins it
    assert jobs.class_run(tmp_path) is None
    assert not (tmp_path / jobs.CLASS_RUN_FILE).exists()


def test_a_damaged_class_run_file_pins_nothing(tmp_path: Path) -> None:
    (tmp_path / jobs.CLASS_RUN_FILE).write_text('{"run": "../../etc"}')
    assert jobs.class_run(tmp_path) is None
    (tmp_path / jobs.CLASS_RUN_FILE).write_text("not json")
    assert jobs.class_run(tmp_path) is None


# ---- uploads ----------------------------------------------------------------------------------------
def test_an_upload_belongs_to_the_browsers_that_uploaded_it() -> None:
    spec = sources.store_upload("diary.txt", b"my own words\n", owner=owner_id(ALICE))
    assert sources.upload_owned_by(spec.key, owner_id(ALICE))
    assert not sources.upload_owned_by(spec.key, owner_id(BOB))
    assert not sources.upload_owned_by(spec.key, None)
    assert not sources.upload_owned_by("../" + spec.key, owner_id(ALICE))
    again = sources.store_upload("copy.txt", b"my own words\n", owner=owner_id(BOB))
    assert again.key == spec.key and sources.upload_owned_by(spec.key, owner_id(BOB))
    assert sources.upload_owned_by(spec.key, owner_id(ALICE))  # still hers too
    folder = spec.file_path().parent
    assert ALICE not in "".join(p.read_text() for p in folder.iterdir())


# ---- the command line -------------------------------------------------------------------------------
def test_cli_rename_and_delete(tmp_path: Path) -> None:
    path = owned_run(tmp_path, ALICE)
    result = cli("rename", str(path), "Renamed from the shell")
    assert result.returncode == 0, result.stderr
    assert RunFolder(path).title() == "Renamed from the shell"

    result = cli("delete", str(path))  # no terminal to confirm in: nothing happens
    assert result.returncode == 2 and "--yes" in result.stderr
    assert path.exists()
    result = cli("delete", str(path), "--yes")
    assert result.returncode == 0, result.stderr
    assert not path.exists() and "Deleted run 'Renamed from the shell'" in result.stderr
