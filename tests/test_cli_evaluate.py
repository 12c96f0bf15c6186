"""`python -m w2v_core evaluate`: stored scores per epoch, --epoch all, --json, your own test files,
and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_support import cli, make_run

from w2v_core.evaluation import stored_evaluations


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "runs")


@pytest.fixture()
def pairs_file(tmp_path: Path) -> Path:
    """Animals close together, animals and tools far apart; line 3 has no number."""
    path = tmp_path / "mine.txt"
    path.write_text("cat,dog,9\ncat hammer 1\ncat\tdog\n# comment\ndog\tsaw\t2\nzebra cat 5\n")
    return path


def test_evaluate_prints_the_latest_epoch_and_stores_it(run_dir: Path) -> None:
    result = cli("evaluate", str(run_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("epoch 2 (evaluated in ")
    wordsim = next(line for line in lines if "WordSim-353" in line)
    # none of the sixteen animal and tool words is in a WordSim-353 pair
    assert "no score" in wordsim and "0 of 353 pairs; 353 skipped" in wordsim
    assert "nan" not in result.stdout.lower()
    assert [r.epoch for r in stored_evaluations(run_dir)] == [2]


def test_evaluate_all_epochs_as_json_with_a_pair_file(run_dir: Path, pairs_file: Path) -> None:
    result = cli("evaluate", str(run_dir), "--epoch", "all", "--json", "--pairs", str(pairs_file))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [e["label"] for e in report["epochs"]] == ["epoch_001", "epoch_002"]
    assert report["bad_lines"] == {
        "mine.txt": [{"number": 3, "reason": "expected two words and a number, found 2 field(s)"}]
    }
    for epoch in report["epochs"]:
        assert epoch["wordsim353"]["spearman"] is None and epoch["wordsim353"]["pairs_used"] == 0
        (own,) = epoch["own_tests"]
        assert own["dataset"] == "mine.txt"
        assert (own["pairs_used"], own["pairs_total"]) == (3, 4)  # zebra is unknown
    assert "line 3" in result.stderr
    assert [r.epoch for r in stored_evaluations(run_dir)] == [1, 2]
    # stored scores are shown as stored, not computed again
    again = json.loads(cli("evaluate", str(run_dir), "--epoch", "1", "--json").stdout)
    assert again["epochs"][0]["evaluated_at"] == report["epochs"][0]["evaluated_at"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epoch", "5"], "has no epoch 5 (saved: 1, 2)"),
        (["--epoch", "zero"], "argument --epoch: 'zero' is not a whole number"),
        (["--pairs", "missing.tsv"], "'missing.tsv' is not a file"),
        (["--analogies", "EMPTY"], "has no usable line: each line should hold four words"),
    ],
    ids=["unknown-epoch", "bad-epoch", "missing-file", "unusable-file"],
)
def test_evaluate_errors_are_one_line(
    run_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\nman king\n")
    args = [str(empty) if a == "EMPTY" else a for a in args]
    result = cli("evaluate", str(run_dir), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
