"""benchmarks/gpu_check.py: the corpus it builds, the verdicts it prints, and its CPU dry run.

The script is meant to run once, unattended, on a GPU machine; these tests check on the CPU every
part that does not need the GPU, so that the one call there does not fail on a typo.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("gpu_check", None)


def test_repeat_corpus_repeats_every_document_once_per_round(gpu_check):
    # counts on the distinct text: a 3 (doc 1: 2, doc 3: 1), b 4, c 2; min_count 2 keeps all three.
    # 9 tokens; 20 asked -> ceil(20 / 9) = 3 rounds = 27 tokens, every count times 3.
    documents = [["a", "b", "a"], ["b", "c"], ["c", "a", "b", "b"]]
    vocab, corpus, facts = gpu_check.repeat_corpus(documents, 20, seed=0, min_count=2)
    assert vocab.words == ["b", "a", "c"]
    assert vocab.counts.tolist() == [12, 9, 6]
    assert (facts["tokens"], facts["repeats"], facts["documents"]) == (27, 3, 9)
    decoded = [tuple(corpus.decode(vocab, i)) for i in range(corpus.n_documents)]
    for round_start in (0, 3, 6):  # each round holds each document once, in some order
        assert sorted(decoded[round_start : round_start + 3]) == sorted(map(tuple, documents))
    again = gpu_check.repeat_corpus(documents, 20, seed=0, min_count=2)[2]
    assert again["sha256"] == facts["sha256"]  # the same seed gives the same corpus


def test_min_count_is_counted_before_repetition(gpu_check):
    # "z" occurs once in the text; repeated 10 times it would pass min_count 5, but it must not.
    documents = [["x", "y", "z"]] + [["x", "y"]] * 4
    vocab, corpus, facts = gpu_check.repeat_corpus(documents, 100, seed=1, min_count=5)
    assert "z" not in vocab
    assert vocab.words == ["x", "y"]
    assert facts["repeats"] == 10  # 10 distinct in-vocabulary tokens, 100 asked
    assert corpus.n_tokens == 100


@pytest.mark.slow
def test_benchmark_corpus_has_30m_tokens_and_matches_the_stored_reference(gpu_check):
    _, corpus, facts = gpu_check.build_corpus()
    assert corpus.n_tokens >= 30_000_000
    reference = json.loads(gpu_check.REFERENCE_PATH.read_text())
    # the GPU run compares its scores with these only if it trains on the very same tokens
    assert reference["corpus"]["sha256"] == facts["sha256"]


def _report(device: str, skipgram_rate: float, cbow_rate: float, sha: str) -> dict:
    def trained(rate, wordsim, analogy):
        return {
            "status": "ok",
            "result": {
                "engine": "fused-cuda",
                "steady_words_per_second": rate,
                "words_per_second": rate,
                "epochs_done": 3.0,
                "fit_seconds": 3.0,
                "scores": {"wordsim353": wordsim, "analogy": analogy},
                "host_syncs": {"per_epoch": 4.0},
            },
        }

    return {
        "device": device,
        "steps": {
            "corpus": {"status": "ok", "result": {"sha256": sha}},
            "skipgram": trained(skipgram_rate, 0.50, 0.300),
            "cbow": trained(cbow_rate, 0.45, 0.200),
        },
    }


def test_judge_compares_with_targets_and_the_cpu_reference(gpu_check, tmp_path, monkeypatch):
    reference = {
        "corpus": {"sha256": "abc"},
        "results": {
            "skipgram": {"scores": {"wordsim353": 0.52, "analogy": 0.305}},  # within 0.03 / 0.01
            "cbow": {"scores": {"wordsim353": 0.49, "analogy": 0.215}},  # 0.04 and 0.015 apart
        },
    }
    path = tmp_path / "gpu_reference.json"
    path.write_text(json.dumps(reference))
    monkeypatch.setattr(gpu_check, "REFERENCE_PATH", path)
    rows = {
        r["check"].split(" (")[0]: r for r in gpu_check.judge(_report("cuda", 30e6, 40e6, "abc"))
    }
    assert rows["skipgram words/s"]["verdict"] == "PASS"  # 30M >= 25M
    assert rows["cbow words/s"]["verdict"] == "FAIL"  # 40M < 50M
    assert rows["skipgram wordsim353"]["verdict"] == "PASS"
    assert rows["skipgram analogy"]["verdict"] == "PASS"
    assert rows["cbow wordsim353"]["verdict"] == "FAIL"
    assert rows["cbow analogy"]["verdict"] == "FAIL"
    # 4 syncs in a 1 s epoch: within the progress reads allowed
    assert rows["skipgram host syncs per epoch"]["verdict"] == "PASS"

    other_corpus = {r["check"]: r for r in gpu_check.judge(_report("cuda", 30e6, 40e6, "zzz"))}
    assert other_corpus["skipgram wordsim353"]["verdict"] == "–"  # never against another corpus
    on_cpu = gpu_check.judge(_report("cpu", 30e6, 40e6, "abc"))
    assert {r["verdict"] for r in on_cpu} == {"–"}  # the dry run judges nothing


@pytest.mark.slow
def test_dry_run_runs_every_step_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--tokens", "30000", "--out", str(out),
         "--work-dir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    steps = report["steps"]
    assert list(steps) == ["probe", "corpus", "skipgram", "cbow", "d2l", "blog", "cuda-tests"]
    assert all(step["status"] == "ok" for step in steps.values()), {
        name: step.get("error") for name, step in steps.items()
    }
    assert steps["corpus"]["result"]["tokens"] >= 30_000
    for name in ("skipgram", "cbow", "d2l", "blog"):
        result = steps[name]["result"]
        assert result["words"] > 0 and result["words_per_second"] > 0
        assert result["scores"]["wordsim353_pairs"].endswith("/353")
    assert steps["skipgram"]["result"]["engine"] == "fused-cpu"
    assert steps["blog"]["result"]["softmax_floor"]["floor_seconds"] > 0
    tests = steps["cuda-tests"]["result"]
    assert "skipped" in tests or tests["returncode"] == 0, tests  # skipped without a GPU
    table = (out / "gpu_check.md").read_text()
    assert "| check | figure | target | verdict | note |" in table
    assert "| skipgram | fused-cpu |" in table
