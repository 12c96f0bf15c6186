"""Evaluate: benchmark scores over epochs beside the loss, what they mean, and your own tests."""

import streamlit as st

from w2v_core import evaluation
from w2v_ui import evaluate_view, runs, state, widgets

widgets.page_intro(
    "Evaluate",
    "How well do the vectors agree with people's judgements? Scores on standard English benchmarks "
    "after every saved epoch, and on your own list of word pairs or analogies.",
    "Scores are computed after each epoch while training; older runs get them with one click below.",
)
picked = widgets.explore_header()
if picked is None:
    st.stop()
run_name, epoch, kind = picked
folder = runs.run_folder(run_name)

evaluate_view.missing_epochs_button(run_name, kind)
records = widgets.run_or_stop("reading the scores", evaluation.stored_evaluations, folder, kind)
if records:
    evaluate_view.scores_chart(run_name, records)
    st.caption(
        "Each line is one benchmark after each saved epoch; the dotted grey line is the loss "
        "(right axis). Scores that rise while the loss falls mean training helps; flat or jumpy "
        "scores on a small corpus are normal."
    )
current = next((r for r in records if r.epoch == epoch), None)
evaluate_view.epoch_scores(current, epoch)
st.markdown(evaluate_view.READING)
for advice in evaluate_view.guidance(run_name, current):
    st.warning(advice, icon=":material/lightbulb:")

st.subheader("Your own test")
st.markdown(
    f"Upload a list from your field (UTF-8 text, at most {evaluate_view.MAX_UPLOAD_MB} MB); it is "
    f"scored on {widgets.epoch_label(epoch)} with the same method as the benchmarks, and not stored."
)
left, right = st.columns(2)
with left:
    evaluate_view.own_test(
        run_name,
        epoch,
        kind,
        "pairs",
        "Word pairs with scores",
        state.EVAL_PAIRS,
        "Two words and a number a line, separated by a tab, a comma or spaces, e.g. "
        "`doctor nurse 8.5`. Lines starting with # are skipped.",
    )
with right:
    evaluate_view.own_test(
        run_name,
        epoch,
        kind,
        "analogies",
        "Analogies",
        state.EVAL_ANALOGIES,
        "Four words a line, a b c d for 'a is to b as c is to d', e.g. `man king woman queen`; "
        "lines such as `: family` start a section (gensim's format).",
    )
