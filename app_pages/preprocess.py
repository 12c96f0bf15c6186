"""Step 2 · Preprocess: how text becomes words, with a live preview and the resulting vocabulary."""

import streamlit as st

from w2v_core import preprocess
from w2v_ui import charts, controls, datasets, loaders, state, widgets

widgets.page_intro(
    "2 · Preprocess",
    "Decide how your text is cut into words: lowercase or not, which characters count, which very "
    "common words to drop. The preview below the settings shows the effect at once.",
    "Next: press **Preprocess** to build the vocabulary, check the statistics, then go to Train.",
)
choice = state.get(state.DATA_SOURCE)
if choice is None:
    widgets.empty_state(
        "No data chosen yet. Choose a corpus or upload a file first.",
        widgets.DATA,
        "Go to 1 · Data",
    )
    if st.button("Or use the built-in Lee news corpus", key=state.PREPROCESS_USE_DEFAULT):
        state.put(state.DATA_SOURCE, datasets.default_choice())
        st.rerun()
    st.stop()
st.markdown(f"Data: **{widgets.escape_markdown(datasets.short_label(choice))}**")
carried_over = st.container()  # filled once the settings are read, above them

presets = st.container(horizontal=True)
for name, preset in preprocess.PRESETS.items():
    if presets.button(
        preset.label, key=state.PREPROCESS_PRESET_BUTTONS[name], help=preset.description
    ):
        controls.load_preprocess_settings(preset.config)

with st.expander("Settings", expanded=True):
    config = widgets.run_or_stop(
        "reading the settings",
        controls.preprocess_controls,
        preprocess.PreprocessConfig,
        preprocess.OPTION_HELP,
        preprocess.CHAR_FILTER_HELP,
        loaders.stopword_languages(),
        loaders.stem_languages(),
    )

applied_for = state.get(state.PREPROCESS_DATA)
if applied_for is not None and applied_for != choice and config != preprocess.PreprocessConfig():
    with carried_over:  # settings kept from another data set: say so, never change them silently
        st.info(
            "These settings are the ones you last used on "
            f"**{widgets.escape_markdown(datasets.short_label(applied_for))}**, another data set: "
            "check them for this one, or reset them.",
            icon=":material/info:",
        )
        st.button(
            "Reset to defaults",
            key=state.PREPROCESS_RESET,
            on_click=controls.load_preprocess_settings,
            args=(preprocess.PreprocessConfig(),),
        )

st.subheader("Preview")
st.caption(
    "The first documents before and after these settings (the rare-word cut-off and phrases "
    "need the whole corpus, so they only show after Preprocess)."
)
samples = widgets.run_or_stop("reading sample documents", loaders.sample_texts, choice)
rows = widgets.run_or_stop("previewing", preprocess.preview, samples, config)
st.dataframe(
    {
        "original text": [text[:400] for text, _ in rows],
        "words the model will see": [" ".join(tokens) for _, tokens in rows],
    },
    hide_index=True,
)

applied = state.get(state.PREPROCESS_CONFIG)
applied_for = state.get(state.PREPROCESS_DATA)
if st.button(
    "Preprocess", type="primary", key=state.PREPROCESS_APPLY, icon=":material/play_arrow:"
):
    loaders.forget_failed_preparation(choice, config)  # pressed again after an error: try again
    state.put(state.PREPROCESS_CONFIG, config)
    state.put(state.PREPROCESS_DATA, choice)
    applied, applied_for = config, choice
if applied is None or applied_for != choice:
    st.info("Press Preprocess to build the vocabulary.", icon=":material/info:")
    st.stop()
if applied != config:
    st.warning("The settings changed since the statistics below were made: press Preprocess again.")

result = widgets.prepared_corpus(applied_for, applied, "preprocessing")
stats = result.stats
st.subheader("Vocabulary")
metrics = st.columns(4)
metrics[0].metric(
    "Documents kept", f"{stats.n_documents_kept:,}", help=f"of {stats.n_documents_in:,}"
)
metrics[1].metric(
    "Tokens to train on",
    f"{stats.n_tokens_after:,}",
    help=f"of {stats.n_tokens_before:,} words in the text",
)
metrics[2].metric(
    "Vocabulary", f"{stats.n_types_after:,} words", help=f"of {stats.n_types_before:,} distinct"
)
metrics[3].metric("Share of words kept", f"{stats.share_tokens_kept:.0%}")
for warning in stats.warnings:
    st.warning(warning, icon=":material/warning:")
left, right = st.columns(2)
with left:
    st.markdown("**Most frequent words**")
    words, counts = zip(*stats.top_words, strict=False) if stats.top_words else ((), ())
    st.plotly_chart(charts.top_words_chart(words[:20], counts[:20]), key=state.PREPROCESS_TOP_CHART)
with right:
    st.markdown("**Zipf chart**")
    st.plotly_chart(
        charts.zipf_chart(stats.zipf_ranks, stats.zipf_counts, stats.n_types_after),
        key=state.PREPROCESS_ZIPF_CHART,
    )
    st.caption(
        "In natural text a word's frequency falls roughly as 1 / its rank: a few words are very "
        "common, most are rare. Words right of the dotted line are too rare (minimum count) "
        "and are left out; word2vec could learn little about them."
    )
with st.expander("What each step removed"):
    st.dataframe(
        {"step": [s for s, _ in stats.stages], "tokens left": [n for _, n in stats.stages]},
        hide_index=True,
    )
    st.dataframe(
        {"reason": list(stats.removed), "tokens removed": list(stats.removed.values())},
        hide_index=True,
    )
st.page_link(widgets.TRAIN, label="Next: 3 · Train", icon=":material/arrow_forward:")
