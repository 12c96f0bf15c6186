"""Step 3 · Train: presets and settings, Start, and the live view of the run (loss, progress, Stop)."""

import streamlit as st

from w2v_core import jobs
from w2v_core.config import TrainConfig
from w2v_core.device import available_devices
from w2v_core.preprocess import PreprocessConfig
from w2v_ui import (
    controls,
    datasets,
    loaders,
    runs,
    state,
    train_settings,
    training_view,
    viewer,
    widgets,
)

widgets.page_intro(
    "3 · Train",
    "Pick a preset (Quick demo is a good start), adjust anything you like, and press Start. Training "
    "runs in the background on the server: the chart updates every second, and you can leave the "
    "page or close the tab and come back.",
    "Next: when the first epoch is saved, explore the vectors on the Map.",
)

choice = state.get(state.DATA_SOURCE) or datasets.default_choice()
config = state.get(state.PREPROCESS_CONFIG) if state.get(state.PREPROCESS_DATA) == choice else None
note = "" if config is not None else " with the default preprocessing"
config = config or PreprocessConfig()
result = widgets.prepared_corpus(choice, config)
vocab, corpus = result.vocab, result.corpus
st.markdown(
    f"Data: **{widgets.escape_markdown(datasets.short_label(choice))}**{note} — "
    f"{corpus.n_tokens:,} tokens, {len(vocab):,} words in the vocabulary."
)
if state.get(state.DATA_SOURCE) is None:
    st.caption(
        "No data chosen yet, so the built-in Lee news corpus is used. Choose your own on 1 · Data."
    )

fingerprint = (choice, config)
if state.get(state.TRAIN_PRESET) not in train_settings.PRESETS:
    state.put(state.TRAIN_PRESET, train_settings.DEFAULT_PRESET)


def apply_preset() -> None:
    key = st.session_state[state.TRAIN_PRESET]
    controls.load_train_settings(train_settings.preset_config(key, corpus.n_tokens, len(vocab)))


if state.get(state.TRAIN_SETTINGS_FOR) != fingerprint:  # new corpus: rescale the defaults
    apply_preset()
    state.put(state.TRAIN_SETTINGS_FOR, fingerprint)

name = state.current_run()
if name is not None:
    training_view.live_run_view(name)
with st.expander("Settings" if name is None else "Settings for a new run", expanded=name is None):
    preset = st.radio(
        "Preset",
        list(train_settings.PRESETS),
        key=state.TRAIN_PRESET,
        format_func=lambda k: train_settings.PRESETS[k].label,
        captions=[p.summary for p in train_settings.PRESETS.values()],
        on_change=apply_preset,
        horizontal=False,
    )
    settings = widgets.run_or_stop(
        "reading the settings",
        controls.train_controls,
        TrainConfig,
        train_settings.SETTING_HELP,
        available_devices(),
    )
    st.caption(f"Device 'auto' trains on: {loaders.device_description()}")  # names the GPU
    for advice in train_settings.corpus_advice(settings, corpus.n_tokens, len(vocab)):
        st.warning(advice, icon=":material/lightbulb:")
    state.default(state.TRAIN_NAME, "")
    run_title = st.text_input(
        "Run name (optional)",
        key=state.TRAIN_NAME,
        max_chars=train_settings.RUN_NAME_MAX_CHARS,
        placeholder=f"{train_settings.PRESETS[preset].label} on {choice.label}",
    )
    if st.button(
        "Start training", type="primary", key=state.TRAIN_START, icon=":material/play_arrow:"
    ):
        title = run_title.strip() or f"{train_settings.PRESETS[preset].label} on {choice.label}"
        data = {**result.data_description(), "label": choice.label}
        run = widgets.run_or_stop(
            "starting the training",
            jobs.create_and_start,
            runs.runs_root(),
            title,
            settings,
            vocab,
            corpus,
            data,
            owner=viewer.owner_id(),  # the run belongs to this browser
            spinner="Writing the run folder and starting training…",
        )
        state.set_current_run(run.name)
        loaders.training_started()  # the map's compilation may begin beside the training
        st.rerun()

if name is None:
    for summary in runs.list_summaries():
        if summary.status.active:
            st.page_link(
                widgets.TRAIN,
                label=f"Watch '{widgets.escape_markdown(summary.title)}' "
                + ("(waiting in the queue)" if summary.queue_place else "(training now)"),
                query_params={"run": summary.name},
                icon=":material/visibility:",
            )
