"""What the Evaluate page draws: scores over epochs, one epoch's scores in words, how to read them,
the button that computes missing epochs (in the background, with progress), and the user's own tests.

The scores come from the core (`w2v_core.evaluation`: stored per checkpoint in the run folder); this
module only reads them, starts the core's work in a background thread that every session watches,
and draws. Everything a person typed or uploaded is shown escaped.
"""

from __future__ import annotations

import hashlib
import os

import streamlit as st

from w2v_core import evaluation
from w2v_core.corpus import NOISY_CORPUS_TOKENS, SMALL_CORPUS_TOKENS
from w2v_core.errors import W2VError
from w2v_core.evaluation import CheckpointEvaluation
from w2v_ui import charts, loaders, runs, state, widgets

POLL_SECONDS = 0.5
MAX_UPLOAD_MB = evaluation.MAX_TEST_FILE_BYTES // (1024 * 1024)
READING = (
    "WordSim-353 and SimLex-999 compare the model's similarity of word pairs with people's ratings "
    "(Spearman's rank correlation: 1 = the same order, 0 = unrelated); the analogies ask "
    "*Athens is to Greece as Baghdad is to ?*. These English benchmarks measure general-language "
    "similarity: a model of a specialised corpus (interviews, law, one community's posts) can be "
    "right about its own texts and still score low. Read the scores for their trend over epochs, and "
    "with their coverage: a score on a few pairs says little."
)


# ---- background work: computing scores --------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _jobs():
    # The same background-job store as preprocessing: one job per question, watched by every session.
    return loaders._Preparations(max_entries=16)


def _missing_job(run_name: str, kind: str, missing: tuple):
    folder = runs.run_folder(run_name)
    return _jobs().get(
        ("missing", run_name, kind, missing),
        lambda report: evaluation.evaluate_missing(folder, kind, progress=report),
    )


def _own_test_job(run_name: str, epoch, kind: str, test: evaluation.UserTest, digest: str):
    stamp = runs.run_folder(run_name).checkpoint_stamp(epoch)
    return _jobs().get(
        ("own", run_name, epoch, kind, stamp, test.kind, test.name, digest),  # messages name it
        lambda report: evaluation.evaluate_user_test(
            loaders.embeddings(run_name, epoch, kind), test
        ),
    )


@st.fragment(run_every=POLL_SECONDS)
def _watch(job) -> None:
    if job.done:
        st.rerun()  # the whole page, now with the result
    st.progress(job.fraction, text=job.message)


def _finished(job, while_doing: str):
    """The job's result once it is done: a short wait first (small work comes back without a
    flashing bar), then a self-updating progress bar and None while it runs; None after an error,
    which is shown."""
    wait = float(os.environ.get(widgets.PREPARATION_WAIT_ENV) or widgets.PREPARATION_WAIT_SECONDS)
    if not job.wait(wait):
        _watch(job)
        return None
    if job.error is not None:
        if isinstance(job.error, W2VError):
            st.error(widgets.escape_markdown(str(job.error)), icon=":material/error:")
        else:
            widgets.show_unexpected_error(job.error, while_doing)
        return None
    return job.result


# ---- scores over epochs -------------------------------------------------------------------------
def missing_epochs_button(run_name: str, kind: str) -> None:
    """'Compute the missing scores' when saved checkpoints have none; its progress while it runs."""
    missing = tuple(evaluation.missing_evaluations(runs.run_folder(run_name), kind))
    key = ("missing", run_name, kind, missing)
    if missing and state.get(state.EVAL_STARTED) == key:
        job = _missing_job(run_name, kind, missing)
        if _finished(job, "computing the scores") is not None:
            missing = tuple(evaluation.missing_evaluations(runs.run_folder(run_name), kind))
        else:
            if job.done:  # failed: shown above
                st.button(
                    "Try again", key=state.EVAL_RETRY, on_click=_jobs().forget_failed, args=(key,)
                )
            return
    if not missing:
        return
    shown = ", ".join(widgets.epoch_label(e) for e in missing[:6]) + (
        " …" if len(missing) > 6 else ""
    )
    st.info(
        f"{len(missing)} saved checkpoint(s) have no scores yet ({shown}): epochs skipped "
        "during training because scoring them would have taken more than a quarter of the "
        "training time, runs trained before the app evaluated every epoch, other vectors than the "
        "input ones, a stop, or an evaluation that failed.",
        icon=":material/info:",
    )
    if st.button("Compute the missing scores", key=state.EVAL_COMPUTE, icon=":material/calculate:"):
        state.put(state.EVAL_STARTED, key)
        _missing_job(run_name, kind, missing)
        st.rerun()


def scores_chart(run_name: str, records: list[CheckpointEvaluation]) -> None:
    series: dict[str, list] = {}
    for record in records:
        for name, result in record.benchmarks():
            if result is not None:
                score = getattr(result, "spearman", getattr(result, "accuracy", None))
                series.setdefault(name, []).append((record.position, score, result.coverage))
    metrics = loaders.loss_records(run_name)
    losses = [(r.epoch, r.loss) for r in metrics.epochs if r.loss is not None]
    st.plotly_chart(
        charts.evaluation_chart(series, losses),
        key=state.EVAL_CHART,
        config={"displayModeBar": False},
    )


def epoch_scores(record: CheckpointEvaluation | None, epoch) -> None:
    """The three scores of one epoch, each with its coverage in words (or why there is none)."""
    if record is None:
        st.caption(f"No scores for {widgets.epoch_label(epoch)} yet.")
        return
    st.markdown(f"**Scores of {widgets.epoch_label(epoch)}** ({record.seconds:.2f} s to compute)")
    if record.error:
        st.warning(record.error, icon=":material/warning:")
        return
    for column, (name, result) in zip(st.columns(3), record.benchmarks(), strict=True):
        if result is None:
            continue
        column.metric(name, result.score_text)
        column.caption(result.coverage + "." + (f" {result.message}" if result.message else ""))


def guidance(run_name: str, record: CheckpointEvaluation | None) -> list[str]:
    """Plain advice for small corpora and thin coverage."""
    info = runs.run_folder(run_name).info()
    n_tokens = int(info.get("n_tokens") or 0)
    advice = []
    if n_tokens and n_tokens < SMALL_CORPUS_TOKENS:
        advice.append(
            f"This corpus has {n_tokens:,} words. Below a few hundred thousand words the benchmark "
            "scores stay low and jump from epoch to epoch"
            + (" (below 100,000 they are mostly noise)" if n_tokens < NOISY_CORPUS_TOKENS else "")
            + ": compare runs by their trend, check neighbours of words you know, and use your "
            "own test below with words from your field."
        )
    if record is not None and record.wordsim353 is not None and record.wordsim353.pairs_used < 50:
        advice.append(
            f"Only {record.wordsim353.pairs_used} WordSim-353 pairs are in the vocabulary: a "
            "score on so few pairs can change a lot with one pair."
        )
    return advice


# ---- the user's own test --------------------------------------------------------------------------
def own_test(
    run_name: str, epoch, kind: str, test_kind: str, label: str, key: str, help: str
) -> None:
    upload = st.file_uploader(
        label, type=["txt", "tsv", "csv"], key=key, help=help, max_upload_size=MAX_UPLOAD_MB
    )
    if upload is None:
        return
    data = upload.getvalue()
    name = widgets.escape_markdown(upload.name)
    try:
        test = evaluation.read_test_file(data, test_kind, name=upload.name)
    except W2VError as error:
        st.error(widgets.escape_markdown(str(error)), icon=":material/error:")
        return
    if test.bad_lines:
        with st.expander(
            f"{len(test.bad_lines):,} line(s) of {name} could not be read and were left out",
            expanded=True,
        ):
            st.markdown(
                "\n".join(f"- {widgets.escape_markdown(t)}" for t in test.bad_lines_summary())
            )
    digest = hashlib.sha256(data).hexdigest()
    result = _finished(_own_test_job(run_name, epoch, kind, test, digest), "running your test")
    if result is None:
        return
    st.metric(f"{name} on {widgets.epoch_label(epoch)}", result.score_text)
    st.caption(
        widgets.escape_markdown(
            result.coverage + "." + (f" {result.message}" if result.message else "")
        )
    )


def latest_scores_line(run_name: str) -> str | None:
    """'Benchmarks after epoch 3: WordSim-353 Spearman 0.312 · …' for the Train page, or None."""
    try:
        records = evaluation.stored_evaluations(runs.run_folder(run_name), "input")
    except W2VError:
        return None
    records = [r for r in records if r.error is None]
    if not records:
        return None
    latest = records[-1]
    parts = [f"{name} {result.score_text}" for name, result in latest.benchmarks() if result]
    return f"Benchmarks after {widgets.epoch_label(latest.epoch)}: " + " · ".join(parts)
