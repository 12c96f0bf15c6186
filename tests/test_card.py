"""Methods card: the facts of a run in words, in order, safe to paste; re-running from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_support import app_test, cli, make_run, page, read, texts

from w2v_core.card import methods_card, plan_rerun, preprocessing_steps, run_card
from w2v_core.config import TrainConfig
from w2v_core.errors import RunFolderError
from w2v_core.preprocess import PreprocessConfig, prepare_corpus
from w2v_core.run_folder import RunFolder


def test_the_blogs_preprocessing_reads_in_pipeline_order() -> None:
    steps = preprocessing_steps(PreprocessConfig.blog().to_dict(), "nltk")
    assert steps == [
        "lowercased",
        "only the letters a-z, @ and # kept, every other character deleted (the blog's filter)",
        "NLTK's English stopword list removed",
        "Snowball stemmer (english)",
        "words seen fewer than 11 times dropped",
    ]


def test_an_offline_stopword_fallback_is_named() -> None:
    steps = preprocessing_steps(PreprocessConfig().to_dict(), "scikit-learn")
    assert any("scikit-learn's English stopword list" in step for step in steps)


def test_a_one_thread_cpu_run_promises_a_bit_identical_rerun(tmp_path: Path) -> None:
    path = make_run(tmp_path)
    RunFolder(path).update(threads_used=1)
    card = run_card(path)
    assert card.facts["training"]["bit_identical_rerun"] is True
    assert "bit-identical vectors" in card.paragraph()
    RunFolder(path).update(threads_used=2)
    assert "statistically equal" in run_card(path).paragraph()


def test_the_card_states_size_settings_and_versions(tmp_path: Path) -> None:
    facts = run_card(make_run(tmp_path, epochs=2)).facts
    assert facts["data"]["vocab_size"] == 16 and facts["settings"]["dimensions"] == 8
    assert facts["settings"]["epochs done"] == 2 and facts["settings"]["seed"] == 1
    assert facts["software"]["torch"]
    assert json.loads(run_card(make_run(tmp_path, folder="b")).to_json())["kind"] == "run"


def test_hostile_names_stay_text_in_the_markdown(tmp_path: Path) -> None:
    path = make_run(tmp_path, title="![x](http://127.0.0.1:9/x.png) <img src=x onerror=alert(1)>")
    import re

    markdown = run_card(path).to_markdown()
    assert "!\\[x\\]" in markdown and "\\<img" in markdown
    assert not re.search(r"(?<!\\)(<img|\[x\])", markdown)  # nothing unescaped


def test_a_run_without_a_data_source_cannot_be_rerun(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="does not say where its data came from"):
        plan_rerun(RunFolder(make_run(tmp_path)))


def test_card_of_something_else_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="neither a run folder"):
        methods_card(tmp_path)


def test_cli_card_in_both_formats(tmp_path: Path) -> None:
    path = make_run(tmp_path)
    markdown = cli("card", str(path))
    assert markdown.returncode == 0 and markdown.stdout.startswith("# Methods card: Topic test run")
    as_json = json.loads(cli("card", str(path), "--format", "json").stdout)
    assert as_json["settings"]["dimensions"] == 8 and as_json["paragraph"].startswith("We trained")
    missing = cli("card", str(tmp_path / "nope"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


# ---- the page -------------------------------------------------------------------------------------
def open_card(run: str | None = None):
    at = app_test()
    if run:
        at.query_params["run"] = run
    at.run()
    return at.switch_page(page("card")).run()


def test_the_card_page_shows_the_paragraph_and_downloads(runs_root: Path) -> None:
    path = make_run(runs_root)
    hostile = "<b>Hostile</b> **title** ![x](http://127.0.0.1:9/x.png)"
    RunFolder(path).update(data={"label": hostile})
    at = open_card()
    assert not at.exception, at.exception
    assert at.code[0].value.startswith("We trained word2vec")
    assert hostile in at.code[0].value  # literal in the copy box
    assert len(at.get("download_button")) == 2


def test_rerun_from_the_card_of_a_run_without_its_data_says_why(runs_root: Path) -> None:
    make_run(runs_root)
    at = open_card()
    at.button(key="card.rerun_button").click().run()
    assert any("does not say where its data came from" in t for t in read(at.error))


def test_rerun_from_the_card_starts_a_new_run(runs_root: Path) -> None:
    from w2v_core import jobs, sources

    text = "".join(f"the cat and the dog play {i % 7} times with the bird\n" for i in range(300))
    spec = sources.store_upload("pets.txt", text.encode())
    result = prepare_corpus(spec, PreprocessConfig(min_count=2))
    original = RunFolder.create(
        runs_root / "20260101-000000-pets",
        TrainConfig(epochs=1, dim=8, threads=1, negative=2),
        result.vocab,
        result.corpus,
        data=result.data_description(),
        name="Pets",
    )
    at = open_card()
    at.selectbox(key="card.run").set_value(original.name).run()
    at.button(key="card.rerun_button").click().run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    new_name = at.session_state["run"]
    assert new_name != original.name
    new = RunFolder(runs_root / new_name)
    assert new.info()["data"]["rerun_of"] == str(original.path.resolve())
    assert new.info()["config"]["threads"] == 1
    jobs.request_stop(new.path)


def test_the_card_reports_the_newest_evaluation_with_its_coverage(tmp_path: Path) -> None:
    from w2v_core.evaluation import evaluate_checkpoint

    path = make_run(tmp_path, epochs=2)
    assert "evaluation" not in run_card(path).facts  # none stored yet
    evaluate_checkpoint(RunFolder(path), 2)
    facts = run_card(path).facts
    assert facts["evaluation"]["epoch"] == "epoch 2"
    assert any(row.startswith("WordSim-353: No pair") for row in facts["evaluation"]["rows"])
    assert "## Evaluation (epoch 2)" in run_card(path).to_markdown()


@pytest.fixture(scope="module")
def bootstrap_study(tmp_path_factory) -> Path:
    import numpy as np

    folder = tmp_path_factory.mktemp("study")
    corpus = folder / "tiny.txt"
    rng = np.random.default_rng(0)
    topics = [["cat", "dog", "horse", "cow"], ["hammer", "saw", "drill", "wrench"]]
    corpus.write_text("\n".join(" ".join(rng.choice(topics[i % 2], 10)) for i in range(120)) + "\n")
    out = folder / "study"
    made = cli("stability", "--corpus", str(corpus), "--seeds", "2", "--bootstrap", "--epochs", "2",
               "--dim", "8", "--min-count", "2", "--threads", "1", "--out", str(out), "--quiet")  # fmt: skip
    assert made.returncode == 0, made.stderr
    return out


def test_the_card_of_a_study_names_its_design_and_stability(bootstrap_study: Path) -> None:
    card = methods_card(bootstrap_study)
    facts = card.facts
    assert facts["kind"] == "study" and facts["study_design"]["runs"] == 2
    assert facts["study_design"]["bootstrap"] is True
    assert 0.0 <= facts["stability"]["mean_jaccard"] <= 1.0
    paragraph = card.paragraph()
    assert "2 runs with seeds 1-2, each on a bootstrap sample" in paragraph
    assert "mean Jaccard@10" in paragraph
    assert "## Stability across runs" in card.to_markdown()
    assert cli("card", str(bootstrap_study), "--format", "json").returncode == 0


def test_a_bootstrap_member_reruns_on_its_own_sample(bootstrap_study: Path, tmp_path: Path) -> None:
    member = json.loads((bootstrap_study / "study.json").read_text())["members"][1]
    run = bootstrap_study / member["path"]
    out = tmp_path / "again"
    done = cli("rerun", str(run), "--out", str(out), "--threads", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    name = "epoch_002.safetensors"
    assert (out / "checkpoints" / name).read_bytes() == (run / "checkpoints" / name).read_bytes()


def test_the_card_page_shows_a_study_and_its_rerun_says_why_it_cannot(runs_root: Path) -> None:
    from test_app_stability import make_study

    make_study(runs_root)
    at = open_card()
    at.segmented_control(key="card.of").set_value("study").run()
    assert not at.exception, at.exception
    assert "3 runs with seeds 10-30" in at.code[0].value
    assert "mean Jaccard@10" in at.code[0].value
    at.button(key="card.rerun_button").click().run()
    assert any(
        "cannot be re-run" in t for t in read(at.error)
    )  # this hand-made study names no data
