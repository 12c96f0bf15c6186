"""Compare epochs: how neighbourhoods formed during training, and how two runs differ."""

import streamlit as st

from w2v_core.config import LOSS_LABELS
from w2v_core.errors import UnknownWordError
from w2v_ui import charts, compare_view, loaders, queries, runs, state, widgets

widgets.page_intro(
    "Compare epochs",
    "Watch the model learn: each word's nearest neighbours after every saved epoch (new ones in "
    "green), how much the neighbourhoods still change, and a map where words move from epoch to epoch. "
    "Or compare two runs trained with other settings or on other texts.",
    "Neighbourhoods that stop changing mean training has settled; if they still change a lot at the "
    "end, more epochs or more text would help.",
)
top = st.columns([3, 2, 2])
run_name = widgets.run_picker(top[0])
if run_name is None:
    widgets.empty_state(
        "No trained run yet: nothing to compare. Train one first.", widgets.TRAIN, "Go to 3 · Train"
    )
    st.stop()
kind = widgets.kind_picker(top[1], run_name)
state.default(state.CMP_MODE, "epochs")
mode = top[2].segmented_control(
    "Compare",
    ["epochs", "runs"],
    key=state.CMP_MODE,
    required=True,
    format_func={"epochs": "Epochs of this run", "runs": "Two runs"}.get,
)
latest = widgets.run_or_stop(
    "loading the vectors", loaders.embeddings, run_name, None, kind, spinner="Loading the vectors…"
)
summaries = {s.name: s for s in runs.explorable_runs()}
title_a = summaries[run_name].title if run_name in summaries else run_name
other = other_vectors = None
if mode == "runs":
    names = [name for name in summaries if name != run_name]
    if not names:
        widgets.empty_state(
            "Only one run has vectors. Train a second one (other settings or other "
            "text) to compare them.",
            widgets.TRAIN,
            "Go to 3 · Train",
        )
        st.stop()
    titles = {
        n: f"{summaries[n].title} · {summaries[n].corpus} · {summaries[n].settings}" for n in names
    }
    state.default(state.CMP_OTHER_RUN, names[0])
    if state.get(state.CMP_OTHER_RUN) not in names:
        state.put(state.CMP_OTHER_RUN, names[0])
    other = st.selectbox(
        "Compare with run B", names, format_func=titles.get, key=state.CMP_OTHER_RUN
    )
    other_vectors = widgets.run_or_stop(
        "loading run B's vectors", loaders.embeddings, other, None, kind, spinner="Loading…"
    )
# Which vocabulary each run's words are checked against, named as a person would.
vocabularies = (
    {f"run A ({title_a})": latest, f"run B ({summaries[other].title})": other_vectors}
    if other is not None
    else {f"{title_a}": latest}
)

state.default(state.CMP_WORDS, " ".join(queries.example_words(latest, 3)))
checked_for = (run_name, other)
if state.get(state.CMP_WORDS_FOR) not in (None, checked_for):
    # Another run was chosen: words it does not know are dropped, not kept from the earlier run.
    typed = queries.split_words(state.get(state.CMP_WORDS, ""))
    missing = compare_view.missing_words(typed, vocabularies)
    gone = {w for lacking in missing.values() for w in lacking}
    if gone:
        kept = [w for w in typed if w not in gone]
        state.put(state.CMP_WORDS, " ".join(kept or queries.example_words(latest, 3)))
        for label, lacking in missing.items():
            if lacking:
                st.info(
                    f"Dropped from the words to follow, not in the vocabulary of "
                    f"{widgets.escape_markdown(label)}: "
                    + ", ".join(widgets.shown_word(w) for w in lacking)
                    + ".",
                    icon=":material/info:",
                )
state.put(state.CMP_WORDS_FOR, checked_for)
cols = st.columns([3, 1])
words = queries.split_words(
    cols[0].text_input(
        "Words to follow", key=state.CMP_WORDS, help="Separate words by spaces or commas."
    )
)
state.default(state.CMP_K, 10)
k = cols[1].slider("Neighbours per word", 3, 20, key=state.CMP_K)
if not words:
    st.info("Type one or more words to follow.", icon=":material/info:")
    st.stop()


def unknown_in_runs(error) -> None:
    """'x is not in the vocabulary of run B (title)' and buttons for the suggested shared words."""
    lacking = [label for label, vocab in vocabularies.items() if error.word not in vocab]
    where = " nor ".join(widgets.escape_markdown(label) for label in lacking)
    widgets.unknown_word(
        error,
        state.CMP_WORDS,
        in_list=True,
        vocabulary=f"the vocabulary of {where}" if where else "the words both runs know",
        did_you_mean="Did you mean (words both runs know):",
    )


if mode == "runs":
    try:
        with st.spinner("Comparing the two runs over their shared words…"):
            result = loaders.compare_runs(run_name, None, other, None, kind, words, k)
    except UnknownWordError as error:
        unknown_in_runs(error)
        st.stop()
    metrics = st.columns(3)
    metrics[0].metric("Words both runs know", f"{result.shared_vocab_size:,}")
    metrics[1].metric("Only in run A / only in B", f"{result.only_in_a:,} / {result.only_in_b:,}")
    metrics[2].metric(f"Mean overlap of top {k}", f"{result.mean_jaccard:.2f}")
    st.caption(
        "Run A is the run chosen at the top. Neighbours are searched among the words both runs "
        "know; a * marks a neighbour the other run does not list."
    )
    st.dataframe(
        compare_view.runs_table(result),
        hide_index=True,
        column_config={
            "word": st.column_config.TextColumn(width=compare_view.WORD_COLUMN_WIDTH),
            "overlap": st.column_config.NumberColumn(width=70),
        },
    )
    curves, losses = {}, {}
    for label, name in (("run A", run_name), ("run B", other)):
        losses[label] = LOSS_LABELS[runs.run_folder(name).config().loss]
        ends = loaders.loss_records(name).epochs
        curves[f"{label} ({losses[label]})"] = [
            (r.epoch, r.loss) for r in ends if r.loss is not None
        ]
    st.markdown("**Loss per epoch**")
    st.plotly_chart(charts.loss_curves(curves), key=state.CMP_LOSS_CHART)
    if losses["run A"] != losses["run B"]:
        st.caption(
            f"The two runs measure different losses ({losses['run A']} and {losses['run B']}), "
            "so their values are not on one scale: compare each curve's shape, not the heights."
        )
    st.stop()

epochs = widgets.saved_epochs(run_name)
if len(epochs) < 2:
    st.info(
        "This run has only one saved epoch; train for two or more epochs to compare them.",
        icon=":material/info:",
    )
    chosen = epochs
else:
    epochs_key = state.scoped(state.CMP_EPOCHS, run_name)
    state.default(epochs_key, compare_view.spread_epochs(epochs))
    state.put(epochs_key, [e for e in state.get(epochs_key) if e in epochs])  # a removed checkpoint
    picked = st.multiselect(
        "Epochs to show",
        epochs,
        key=epochs_key,
        format_func=widgets.epoch_label,
        help="Each epoch shown is read from disk and searched; a few spread over the run are "
        "quicker to compute and to read than all of them.",
    )
    chosen = [e for e in epochs if e in picked]  # in training order, whatever the click order
    if not chosen:
        st.info("Choose one or more epochs to show.", icon=":material/info:")
        st.stop()
    st.caption(f"Showing {len(chosen)} of {len(epochs)} saved epochs.")
try:
    with st.spinner(f"Finding neighbours in {len(chosen)} saved epochs…"):
        histories = loaders.neighbours_by_epoch(run_name, words, k, kind, chosen)
except UnknownWordError as error:
    widgets.unknown_word(error, state.CMP_WORDS, in_list=True)
    st.stop()

st.subheader("Neighbours epoch by epoch")
for word in words:
    st.markdown(f"**{widgets.escape_markdown(word)}**")
    st.dataframe(
        compare_view.style_epoch_table(compare_view.epoch_table(histories[word], k)),
        key=state.scoped(state.CMP_TABLE, word),
        height=35 * (k + 3) + 3,  # every row visible: the k neighbours, dropped, overlap
        column_config={"_index": st.column_config.Column(width=80)},
    )

if len(chosen) >= 2:
    st.subheader("How much the neighbourhoods still change")
    steps = widgets.run_or_stop(
        "measuring overlap",
        loaders.consecutive_overlap,
        run_name,
        k,
        kind,
        500,
        chosen,
        spinner="Measuring overlap for the 500 most frequent words…",
    )
    series = compare_view.overlap_series(histories)
    series = {"500 most frequent words (mean)": compare_view.mean_overlap_points(steps), **series}
    st.plotly_chart(charts.overlap_chart(series, k), key=state.CMP_OVERLAP_CHART)
    st.caption(
        f"Overlap (Jaccard@{k}): of a word's {k} nearest neighbours in two consecutive epochs, "
        "the words in both lists divided by the words in either list. 1 = the same neighbours, "
        f"0 = none in common; for example 5 shared of {k} each gives 5 ÷ {2 * k - 5} = "
        f"{5 / (2 * k - 5):.2f}."
    )

    st.subheader("Words moving across epochs")
    state.default(state.CMP_MAP_METHOD, "pca")
    method = st.segmented_control(
        "Layout",
        ["pca", "umap"],
        key=state.CMP_MAP_METHOD,
        required=True,
        format_func={"pca": "PCA", "umap": "UMAP"}.get,
    )
    shown = compare_view.map_words(words, histories, latest.words)
    maps = widgets.run_or_stop(
        "aligning the epochs",
        loaders.trajectories,
        run_name,
        shown,
        method,
        kind,
        chosen,
        spinner=f"Lining up {len(chosen)} epochs (turning each onto the last one) and placing "
        f"{len(shown)} words…",
    )
    st.plotly_chart(compare_view.trajectory_figure(maps, words), key=state.CMP_MAP_CHART)
    st.caption(
        "Training can turn the whole space around without changing which words are near each "
        "other, so each epoch's vectors are first turned (rotated, never stretched) to line up "
        "with the last epoch's as well as the most frequent words allow: what moves on this map "
        "is real change. (The method's name: orthogonal Procrustes alignment.) Press Play or drag "
        "the slider; dotted lines are each word's path."
    )

st.subheader("Loss")
records = loaders.loss_records(run_name)
total = max([r.epochs for r in [*records.progress, *records.epochs]] + [len(epochs)])
st.plotly_chart(
    charts.loss_chart(records.progress, records.epochs, total), key=state.CMP_RUN_LOSS_CHART
)
