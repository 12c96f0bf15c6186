"""Stability: the same data and settings trained with several seeds; which neighbours hold."""

import streamlit as st

from w2v_core import stability
from w2v_core.config import TrainConfig
from w2v_core.device import available_devices
from w2v_core.preprocess import PreprocessConfig
from w2v_ui import controls, datasets, stability_view, state, train_settings, widgets

widgets.page_intro(
    "Stability",
    "Train the same settings several times with different seeds (optionally each on a bootstrap "
    "sample of the documents) and see which neighbours every run finds. On a small corpus many "
    "neighbours are chance (Antoniak & Mimno 2018); report the ones the runs agree on.",
    "The Neighbours page shows, for a run of a study, how many runs agree on each neighbour.",
)

names = stability_view.study_names()
if state.get(state.STAB_STUDY) not in names:
    state.put(state.STAB_STUDY, names[0] if names else None)
name = state.get(state.STAB_STUDY)
if names:
    st.selectbox(
        "Study",
        names,
        index=names.index(name),
        key=state.STAB_PICK,
        on_change=lambda: stability_view.show_study(st.session_state[state.STAB_PICK]),
        format_func=stability_view.study_title,
    )
    active = stability_view.live_progress(name)
    study = stability.Study(stability_view.study_dir(name))
    with widgets.friendly_errors("reading the study"):
        vectors = None if active else stability_view.study_vectors(study)
        if vectors is not None:
            st.caption(widgets.escape_markdown(vectors.vocabulary_note()))
            left, right = st.columns([3, 1])
            word = left.text_input(
                "Word", key=state.STAB_WORD, help="One word from the vocabulary."
            )
            state.default(state.STAB_K, 10)
            k = right.slider("Neighbours per run (k)", 5, 30, key=state.STAB_K)
            if word.strip():
                stability_view.word_view(vectors, word.strip(), k)
            st.subheader("Stability against frequency")
            stability_view.report_view(study, k)
else:
    st.info("No stability study yet: start one below.", icon=":material/info:")

st.subheader("New study")
choice = state.get(state.DATA_SOURCE) or datasets.default_choice()
config = state.get(state.PREPROCESS_CONFIG) if state.get(state.PREPROCESS_DATA) == choice else None
config = config or PreprocessConfig()
result = widgets.prepared_corpus(choice, config)
st.markdown(
    f"Data: **{widgets.escape_markdown(datasets.short_label(choice))}** — "
    f"{result.corpus.n_tokens:,} tokens, {len(result.vocab):,} words. Settings: the Train page's."
)
stability_view.train_settings_for(result.corpus, result.vocab, (choice, config))
with st.expander("Training settings (shared with the Train page)"):
    settings = widgets.run_or_stop(
        "reading the settings",
        controls.train_controls,
        TrainConfig,
        train_settings.SETTING_HELP,
        available_devices(),
    )
state.default(state.STAB_RUNS, stability.DEFAULT_RUNS)
n_runs = st.slider(
    "Runs (seeds)", stability.MIN_RUNS, stability.MAX_RUNS, key=state.STAB_RUNS,
    help="Each run uses the next seed; 5 is a good start.",
)  # fmt: skip
bootstrap = st.checkbox(
    "Each run on a bootstrap sample of the documents",
    key=state.STAB_BOOTSTRAP,
    help="Documents drawn with replacement, as many as the corpus has: tests whether the "
    "neighbours depend on which texts happen to be in the corpus, not only on the seed.",
)
title = st.text_input(
    "Study name (optional)",
    key=state.STAB_TITLE,
    placeholder=f"Stability on {choice.label}",
    max_chars=train_settings.RUN_NAME_MAX_CHARS,
)
if st.button("Start the study", type="primary", key=state.STAB_START, icon=":material/play_arrow:"):
    data = {**result.data_description(), "label": choice.label}
    new = widgets.run_or_stop(
        "starting the study",
        stability_view.start_study,
        title.strip() or f"Stability on {choice.label}",
        settings,
        result.vocab,
        result.corpus,
        data,
        n_runs,
        bootstrap,
        spinner="Writing the study's run folders and starting training…",
    )
    stability_view.show_study(new)
    st.rerun()
