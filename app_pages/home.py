"""Home: what the app does, the four steps, the training device, the class run, and the runs on this
server (rename, private, delete for their owners: `w2v_ui.manage_view`)."""

import streamlit as st

from w2v_ui import loaders, manage_view, runs, state, widgets

st.title("Word2vec Studio")
st.markdown(
    "Train **word2vec** on your own texts, right here in the browser, without writing code. "
    "Word2vec gives every word a vector learned from the words around it, so words used in similar "
    "contexts end up close together. Then explore what it learned: a map of the words, their "
    "nearest neighbours, analogies, and how all of that changes from one epoch of training to the next."
)

steps = st.columns(4)
STEPS = [
    (
        widgets.DATA,
        "1 · Data",
        "Pick a built-in corpus, a Hugging Face data set, or upload your own file.",
    ),
    (
        widgets.PREPROCESS,
        "2 · Preprocess",
        "Decide how text becomes words: case, punctuation, stop words.",
    ),
    (widgets.TRAIN, "3 · Train", "Choose a preset, press Start and watch the loss go down."),
    (
        widgets.MAP,
        "4 · Explore",
        "Map, neighbours, epochs compared; then check it: evaluation, stability across seeds, "
        "the passages behind a word, a methods card.",
    ),
]
for column, (page, label, text) in zip(steps, STEPS, strict=False):
    with column.container(border=True):
        st.page_link(page, label=f"**{label}**")
        st.caption(text)

st.markdown(f"Training on this server runs on: **{loaders.device_description()}**")

manage_view.class_run_banner()
st.subheader("Runs on this server")
manage_view.show_note()
summaries = runs.list_summaries()
if not summaries:
    widgets.empty_state(
        "No runs yet. Start with step 1, or go straight to Train for a quick demo on a built-in corpus.",
        widgets.DATA,
        "Choose data (step 1)",
    )
    st.stop()

table = {  # the long settings text last, so the short columns stay in view
    "Name": [s.title for s in summaries],
    "Status": [s.status_text for s in summaries],  # a queued run with its place
    "Epochs": [s.epochs for s in summaries],
    "Created": [s.created for s in summaries],
    "Corpus": [s.corpus for s in summaries],
    "Whose": [widgets.ownership_label(s) + (" · private" if s.private else "") for s in summaries],
    "Words": [s.vocab_size for s in summaries],
    "Settings": [s.settings for s in summaries],
}


def open_clicked_row() -> None:
    """A click on a row opens the run that row showed to the person, when they clicked it.

    The rows are newest first, so a run started meanwhile (by anyone) shifts them: the row number is
    read against the names as drawn, and only the click itself changes this tab's run.
    """
    rows = st.session_state[state.HOME_RUNS_TABLE].selection.rows
    shown = state.get(state.HOME_RUNS_SHOWN) or []
    if rows and rows[0] < len(shown) and runs.run_dir(shown[rows[0]]) is not None:
        state.set_current_run(shown[rows[0]])


st.caption("Click a row to open that run.")
event = st.dataframe(
    table,
    hide_index=True,
    on_select=open_clicked_row,  # once per click, not on every rerun while a row stays selected
    selection_mode="single-row",
    key=state.HOME_RUNS_TABLE,
    column_config={"Words": st.column_config.NumberColumn("Vocabulary", format="%d")},
)
state.put(state.HOME_RUNS_SHOWN, [s.name for s in summaries])  # what a row number means
rows = event.selection.rows if event else []
chosen = next((s for s in summaries if s.name == state.current_run()), None) if rows else None
if chosen is not None:
    st.markdown(
        f"**{widgets.escape_markdown(chosen.title)}** "
        f"{widgets.status_badge(chosen.status, chosen.status_text)}"
    )
    links = st.columns(4)
    if chosen.has_vectors:
        links[0].page_link(
            widgets.MAP,
            label="Open on the map",
            icon=":material/scatter_plot:",
            query_params={"run": chosen.name},
        )
        links[1].page_link(
            widgets.NEIGHBOURS,
            label="Neighbours",
            icon=":material/hub:",
            query_params={"run": chosen.name},
        )
    links[2].page_link(
        widgets.TRAIN,
        label="Training progress",
        icon=":material/model_training:",
        query_params={"run": chosen.name},
    )
    if chosen.error:
        st.error(widgets.escape_markdown(chosen.error))
    manage_view.manage_run(chosen)
