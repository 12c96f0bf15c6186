"""The Evaluate page on a run with known words: missing scores computed with one click, coverage and
'no score' messages in words, small-corpus guidance, and an uploaded pair file with bad lines."""

from __future__ import annotations

from pathlib import Path

from app_support import app_test, make_run, page, texts

from w2v_core.evaluation import stored_evaluations


def open_evaluate(run: str | None = None):
    at = app_test(timeout=120).run()
    if run:
        at.session_state["run"] = run
    at.switch_page(page("evaluate")).run()
    assert not at.exception, at.exception
    return at


def test_without_a_trained_run_the_page_links_to_train(runs_root: Path) -> None:
    at = open_evaluate()
    assert any("No trained run yet" in text for text in texts(at.info))


def test_missing_scores_are_computed_and_shown_with_their_coverage(runs_root: Path) -> None:
    run_dir = make_run(runs_root)
    at = open_evaluate(run_dir.name)
    assert any("2 saved checkpoint(s) have no scores yet" in t for t in texts(at.info))
    assert not at.get("plotly_chart")
    next(b for b in at.button if b.label == "Compute the missing scores").click().run()
    assert not at.exception, at.exception
    assert [r.epoch for r in stored_evaluations(run_dir)] == [1, 2]
    assert not any("have no scores yet" in t for t in texts(at.info))
    assert len(at.get("plotly_chart")) == 1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["WordSim-353"] == "no score"  # none of the 16 words is in a WordSim-353 pair
    assert metrics["SimLex-999"].startswith("Spearman ")
    captions = " ".join(texts(at.caption))
    assert "0 of 353 pairs; 353 skipped: a word is not in the vocabulary" in captions
    assert "No pair of WordSim-353 has both words in this vocabulary" in captions
    assert "nan" not in " ".join(str(v) for v in metrics.values()).lower()
    assert any("measure general-language similarity" in t for t in texts(at.markdown))
    assert any("This corpus has 960 words" in t for t in texts(at.warning))


def test_an_uploaded_pair_file_reports_its_bad_lines_escaped(runs_root: Path) -> None:
    run_dir = make_run(runs_root)
    at = open_evaluate(run_dir.name)
    data = b"cat,dog,9\ncat hammer 1\ncat dog <b>*9*</b>\ndog\tsaw\t2\nhorse cow 8\nonly two\n"
    at.file_uploader(key="eval.pairs_upload").upload("my_list.csv", data).run()
    assert not at.exception, at.exception
    (expander,) = at.expander
    assert expander.label.startswith("2 line(s) of my\\_list\\.csv could not be read")
    bad = expander.markdown[0].value
    # the Markdown source escapes every character Markdown or HTML would act on
    assert bad == (
        "- line 3\\: '\\<b\\>\\*9\\*\\</b\\>' is not a number\n"
        "- line 6\\: expected two words and a number, found 2 field\\(s\\)"
    )
    metric = next(m for m in at.metric if "my" in m.label)
    assert metric.value.startswith("Spearman ")
    assert "4 of 4 pairs" in " ".join(texts(at.caption))


def test_an_uploaded_file_without_a_usable_line_is_a_clear_error(runs_root: Path) -> None:
    run_dir = make_run(runs_root)
    at = open_evaluate(run_dir.name)
    at.file_uploader(key="eval.analogies_upload").upload("q.txt", b"man king\n").run()
    assert not at.exception, at.exception
    assert any("has no usable line" in t for t in texts(at.error))


def test_the_train_page_shows_the_latest_scores_with_a_link(runs_root: Path) -> None:
    from w2v_core.evaluation import evaluate_missing

    run_dir = make_run(runs_root)
    at = app_test(timeout=120).run()
    at.session_state["run"] = run_dir.name
    at.switch_page(page("train")).run()
    assert not any("Benchmarks after" in t for t in texts(at.caption))  # none stored yet
    evaluate_missing(run_dir)
    at.run()
    assert not at.exception, at.exception
    (line,) = [t for t in texts(at.caption) if t.startswith("Benchmarks after")]
    assert line.startswith("Benchmarks after epoch 2: WordSim-353 no score · SimLex-999 Spearman ")
    assert "Scores per epoch" in {link.proto.label for link in at.get("page_link")}
