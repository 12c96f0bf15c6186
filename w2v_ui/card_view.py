"""The Methods card page's pieces: the card of a run, its downloads, and "Re-run from this card".

A re-run rebuilds the corpus from the original data (through the same background preparation the
Preprocess and Train pages use, so the script thread never waits for it), checks that the data's
fingerprint and the rebuilt vocabulary match the original, then starts an ordinary new run.
Nothing here reads another session's state.
"""

from __future__ import annotations

import streamlit as st

from w2v_core import card, jobs
from w2v_core.errors import W2VError
from w2v_core.run_folder import RunFolder
from w2v_ui import runs, state, viewer, widgets


@st.cache_data(max_entries=64, show_spinner=False)
def _card(run_name: str, stamp: tuple, metrics: tuple) -> card.MethodsCard:
    del stamp, metrics  # part of the cache key only
    return card.run_card(runs.run_folder(run_name))


def run_card(run_name: str) -> card.MethodsCard:
    """The card, recomputed when the run saves a checkpoint or writes a record."""
    run = runs.run_folder(run_name)
    return _card(run_name, run.checkpoints_stamp(), run.metrics_stamp())


@st.cache_data(max_entries=16, show_spinner=False, ttl=600)
def _study_card(study_name: str, stamp: tuple) -> card.MethodsCard:
    from w2v_ui import stability_view

    del stamp
    return card.methods_card(stability_view.study_dir(study_name))


def study_card(study_name: str) -> card.MethodsCard:
    """A study's card (it loads every finished member's vectors: cached by their checkpoints)."""
    from w2v_core import stability
    from w2v_ui import stability_view

    path = stability_view.study_dir(study_name)
    if path is None:
        raise W2VError(f"Study '{study_name}' is gone.")
    members = stability.Study(path).members()
    stamp = tuple(RunFolder(m.path).checkpoints_stamp() for m in members)
    return _study_card(study_name, stamp)


def request_rerun(run_name: str, one_thread: bool) -> None:
    st.session_state[state.CARD_RERUN] = ("run", run_name, 1 if one_thread else None)


def request_study_rerun(study_name: str) -> None:
    st.session_state[state.CARD_RERUN] = ("study", study_name, None)


def cancel_rerun() -> None:
    st.session_state.pop(state.CARD_RERUN, None)


def continue_rerun() -> None:
    """Drive a requested re-run one step: wait for the corpus (progress bar), check it, start the
    new run and open the Train page on it. Draws a message and stops the page when it cannot."""
    pending = st.session_state.get(state.CARD_RERUN)
    if not pending:
        return
    what, name, threads = pending
    if what == "study":
        _continue_study_rerun(name)
        return
    run_name = name
    path = runs.run_dir(run_name)
    if path is None:
        cancel_rerun()
        return
    original = runs.run_folder(run_name)
    try:
        plan = card.plan_rerun(original, threads=threads)
        vocab, corpus, data = _rebuilt(plan)
        title = f"Re-run of {original.info().get('name') or run_name}"
        new = jobs.create_and_start(
            runs.runs_root(),
            title,
            plan.config,
            vocab,
            corpus,
            card.rerun_data(plan, data, original),
            owner=viewer.owner_id(),  # a re-run belongs to the browser that asked for it
        )
    except W2VError as error:
        cancel_rerun()
        st.error(
            f"Cannot re-run this run: {widgets.escape_markdown(str(error))}",
            icon=":material/error:",
        )
        return
    cancel_rerun()
    state.set_current_run(new.name)
    st.switch_page(widgets.TRAIN)


def _continue_study_rerun(study_name: str) -> None:
    from w2v_core import stability
    from w2v_ui import stability_view

    path = stability_view.study_dir(study_name)
    if path is None:
        cancel_rerun()
        return
    try:
        study = stability.Study.open(path)
        info = study.info()
        plan = card.plan_study_rerun(path)
        vocab, corpus, data = _rebuilt(plan)
        new = stability_view.start_study(
            f"Re-run of {study.title}",
            plan.config,
            vocab,
            corpus,
            {**data, "rerun_of": str(path.resolve())},
            int(info.get("n_runs") or len(study.members())),
            bool(info.get("bootstrap")),
        )
    except W2VError as error:
        cancel_rerun()
        st.error(
            f"Cannot re-run this study: {widgets.escape_markdown(str(error))}",
            icon=":material/error:",
        )
        return
    cancel_rerun()
    stability_view.show_study(new)
    st.switch_page(widgets.STABILITY)


def _rebuilt(plan: card.RerunPlan):
    """(vocab, corpus, data) of a plan: through the background preparation when the data set is
    named by a spec (a progress bar, the page stops until it is ready), else read here."""
    if plan.from_spec:
        spec, preprocessing = plan.spec_and_preprocessing()
        st.caption("Rebuilding the corpus from the original data…")
        result = widgets.prepared_corpus(spec, preprocessing, "rebuilding the corpus")
        expected = plan.data.get("fingerprint")
        if expected and result.dataset.fingerprint() != expected:
            from w2v_core.errors import DataChangedError

            raise DataChangedError(
                f"The data has changed since '{plan.run_name}' was made (its fingerprint "
                "differs), so a re-run would not be the same."
            )
        vocab, corpus = card.bootstrap_sample_of(plan, result.vocab, result.corpus)
        card.check_rebuilt(plan, vocab, corpus)
        return vocab, corpus, result.data_description()
    with st.spinner("Reading the corpus file…"):
        return card.rebuild_corpus(plan)
