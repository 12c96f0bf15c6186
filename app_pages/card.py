"""Methods card: the paragraph for a paper's methods section, its downloads, and re-running a run."""

import streamlit as st

from w2v_ui import card_view, runs, stability_view, state, widgets

widgets.page_intro(
    "Methods card",
    "Everything a reader needs to know about how a run was made: the data and its size, every "
    "preprocessing step in order, the model and its settings, seed, threads, device, software "
    "versions and evaluation scores. Copy the paragraph into your paper, or download the card.",
    "A re-run rebuilds the same run from the original data; with one thread it gives the very "
    "same vectors, which lets others check a finding.",
)
card_view.continue_rerun()  # a re-run asked for on the previous run of this page

summaries = runs.list_summaries()
studies = stability_view.study_names()
if not summaries:
    widgets.empty_state("No runs yet: train one first.", widgets.TRAIN, "Go to 3 · Train")
    st.stop()
of_study = bool(studies) and (
    st.segmented_control(
        "Card of",
        ["run", "study"],
        key=state.CARD_OF,
        format_func={"run": "A run", "study": "A stability study"}.get,
        default="run",
    )
    == "study"
)
if of_study:
    state.default(state.CARD_STUDY, studies[0])
    if state.get(state.CARD_STUDY) not in studies:
        state.put(state.CARD_STUDY, studies[0])
    name = st.selectbox(
        "Study", studies, format_func=stability_view.study_title, key=state.CARD_STUDY
    )
    card = widgets.run_or_stop(
        "writing the card",
        card_view.study_card,
        name,
        spinner="Comparing the study's runs for the card…",
    )
else:
    names = [s.name for s in summaries]
    titles = {s.name: widgets.run_title(s) for s in summaries}
    current = state.current_run()
    state.default(state.CARD_RUN, current if current in names else names[0])
    if state.get(state.CARD_RUN) not in names:
        state.put(state.CARD_RUN, names[0])
    name = st.selectbox("Run", names, format_func=titles.get, key=state.CARD_RUN)
    card = widgets.run_or_stop("writing the card", card_view.run_card, name)
facts = card.facts

st.subheader("Methods paragraph")
st.code(card.paragraph(), language=None, wrap_lines=True)
st.caption("The copy button at the top right of the box copies the paragraph.")

downloads = st.columns(2)
downloads[0].download_button(
    "Card as Markdown (.md)",
    card.to_markdown(),
    file_name=f"{name}-methods.md",
    mime="text/markdown",
    icon=":material/download:",
    on_click="ignore",
    key=state.CARD_DOWNLOAD_MD,
)
downloads[1].download_button(
    "Card as JSON (.json)",
    card.to_json(),
    file_name=f"{name}-methods.json",
    mime="application/json",
    icon=":material/download:",
    on_click="ignore",
    key=state.CARD_DOWNLOAD_JSON,
)

left, right = st.columns(2)
with left:
    st.markdown("**Preprocessing, in order**")
    st.dataframe(
        {"step": list(range(1, len(facts["preprocessing"]) + 1)), "what": facts["preprocessing"]},
        hide_index=True,
    )
with right:
    st.markdown("**Model and training**")
    st.dataframe(
        {"setting": list(facts["settings"]), "value": [str(v) for v in facts["settings"].values()]},
        hide_index=True,
    )

if of_study:
    st.subheader("Re-run this study")
    st.markdown(
        "Rebuilds the corpus from the original data (checked by its fingerprint) and trains a new "
        "study with the same settings, number of runs, seeds and bootstrap choice."
    )
    st.button(
        "Re-run this study",
        key=state.CARD_RERUN_BUTTON,
        icon=":material/replay:",
        on_click=card_view.request_study_rerun,
        args=(name,),
    )
    st.stop()

st.subheader("Re-run from this card")
st.markdown(widgets.escape_markdown(facts["training"]["reproducibility"]))
state.default(state.CARD_ONE_THREAD, bool(facts["training"]["bit_identical_rerun"]))
one_thread = st.checkbox(
    "One thread (bit-identical when the original also used one thread; slower)",
    key=state.CARD_ONE_THREAD,
)
st.button(
    "Re-run from this card",
    key=state.CARD_RERUN_BUTTON,
    icon=":material/replay:",
    on_click=card_view.request_rerun,
    args=(name, one_thread),
    help="Rebuilds the corpus from the original data (checked by its fingerprint) and trains a "
    "new run with the same settings; the Train page then shows it.",
)
st.caption(f"From a terminal: `{facts['rerun_command']}`")
