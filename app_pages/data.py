"""Step 1 · Data: choose a source, see the first rows and counts, choose the columns."""

import streamlit as st

from w2v_core.sources import DataSpec
from w2v_ui import controls, datasets, state, widgets

widgets.page_intro(
    "1 · Data",
    "Choose the texts word2vec will learn from: a corpus that comes with the app, a Hugging Face "
    "data set, or your own file. Each row (a line, an article, a tweet) is one document.",
    "Next: check the first rows below, pick the column that holds the text, then go to Preprocess.",
)

current: DataSpec | None = state.get(state.DATA_SOURCE)
kinds = list(datasets.KIND_LABELS)
if state.get(state.DATA_KIND) not in kinds:
    state.put(state.DATA_KIND, current.kind if current and current.kind in kinds else "builtin")
kind = st.segmented_control(
    "Where is your text?",
    kinds,
    format_func=datasets.KIND_LABELS.get,
    key=state.DATA_KIND,
    required=True,
)

choice = controls.data_source_controls(kind, current)
if choice is None:
    st.stop()

dataset = widgets.run_or_stop(
    "loading the data", datasets.load, choice, spinner="Loading the data…"
)
if current is not None and current.text_column and current.same_rows(choice):
    choice = choice.with_columns(current.text_column, current.metadata_columns)  # keep earlier pick
elif not choice.text_column:
    choice = choice.with_columns(dataset.text_column, dataset.metadata_columns)

st.subheader(widgets.escape_markdown(dataset.name))
text_options = dataset.text_columns
column_cols = st.columns(2)
text_column = column_cols[0].selectbox(
    "Column with the text",
    text_options,
    index=text_options.index(choice.text_column) if choice.text_column in text_options else 0,
    key=state.scoped(state.DATA_TEXT_COLUMN, choice.kind, choice.key),
)
others = [c.name for c in dataset.columns if c.name != text_column]
metadata = column_cols[1].multiselect(
    "Columns to keep alongside (labels, dates, authors)",
    others,
    default=[c for c in choice.metadata_columns if c in others],
    key=state.scoped(state.DATA_LABEL_COLUMN, choice.kind, choice.key),
)
choice = choice.with_columns(text_column, tuple(metadata))
state.put(state.DATA_SOURCE, choice)

chosen = widgets.run_or_stop("reading the columns", datasets.load, choice)
counts = widgets.run_or_stop(
    "counting words", datasets.basic_counts, choice, spinner="Counting words…"
)
metrics = st.columns(4)
metrics[0].metric("Documents", f"{counts['rows']:,}")
metrics[1].metric("Words", f"{counts['words']:,}")
metrics[2].metric("Words per document", f"{counts['words_per_row']:,.1f}")
metrics[3].metric("Empty documents", f"{counts['empty_rows']:,}")
st.caption(f"{chosen.encoding_report.describe()} {controls.ENCODING_MEANING}")
for note in chosen.notes:
    st.caption(note)
if counts["words"] < 20_000:
    st.warning(
        f"Only {counts['words']:,} words: word2vec learns best from hundreds of thousands. "
        "Expect noisy neighbours, or add more text."
    )

st.markdown("**First rows**")
st.dataframe(chosen.preview(8, max_chars=240), hide_index=True)
st.page_link(widgets.PREPROCESS, label="Next: 2 · Preprocess", icon=":material/arrow_forward:")
