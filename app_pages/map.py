"""Map: the words on a plane, coloured by cluster, frequency or a word list; click a word for its neighbours."""

import dataclasses

import streamlit as st

from w2v_core.errors import UnknownWordError
from w2v_ui import controls as controls_panel
from w2v_ui import downloads, evidence_view, loaders, maps, queries, state, widgets

widgets.page_intro(
    "Map",
    "Each dot is a word; words the model sees used in similar contexts sit close together. "
    "Click a dot to list its nearest neighbours, search to find words, colour by cluster or frequency.",
    "Next: ask precise questions on Neighbours, or see how the map formed on Compare epochs.",
)
run_name, epoch, kind, emb = widgets.explored_embeddings()
if warning := queries.undertrained_warning(emb):
    st.warning(warning, icon=":material/warning:")

controls, canvas = st.columns([1, 3], gap="medium")
settings = controls_panel.map_controls(controls, emb)
if settings is None:
    canvas.info("Type a word to map its neighbourhood.", icon=":material/info:")
    st.stop()

with canvas:
    try:
        with st.spinner(settings.describe_work(len(emb))):
            word_map = loaders.word_map(run_name, epoch, kind, **settings.projection_args())
    except UnknownWordError as error:  # e.g. a centre word kept from another run
        widgets.unknown_word(
            error, state.MAP_CENTRE, instead="the map shows the most frequent words instead"
        )
        settings = dataclasses.replace(
            settings, scope="top", centre=None, top_n=min(settings.top_n, len(emb))
        )
        with st.spinner(settings.describe_work(len(emb))):
            word_map = loaders.word_map(run_name, epoch, kind, **settings.projection_args())
    labels = None
    if settings.colour_by == "cluster":
        labels = widgets.run_or_stop(
            "finding clusters",
            loaders.clusters,
            run_name,
            epoch,
            kind,
            word_map.words,
            settings.clusters,
            spinner="Finding clusters…",
        )
    word_list = queries.split_words(settings.word_list)
    search = queries.split_words(settings.search)
    figure = maps.word_map_figure(word_map, settings.colour_by, labels, word_list, search)
    event = st.plotly_chart(
        figure,
        key=state.scoped(state.MAP_CHART, settings.cache_token(run_name, epoch, kind)),
        on_select="rerun",
        selection_mode="points",
        config={
            "displaylogo": False,
            "scrollZoom": True,
            "toImageButtonOptions": {"format": "png", "filename": f"{run_name}-map", "scale": 2},
        },
    )
    st.caption(":material/info: " + maps.method_note(word_map))
    for word in search + word_list:
        if word not in word_map.words:
            where = (
                "is in the vocabulary but not on this map"
                if word in emb
                else "is not in the vocabulary"
            )
            st.caption(f"'{widgets.shown_word(word)}' {where}.")

    selected = [p.get("customdata") for p in (event.selection.points if event else [])]
    selected = [
        int(i) for i in selected if isinstance(i, (int, float)) and 0 <= i < len(word_map.words)
    ]
    if selected:
        word = word_map.words[selected[0]]
        st.markdown(
            f"**Nearest neighbours of '{widgets.escape_markdown(word)}'** (in the full vectors, "
            "not on the map)"
        )
        st.dataframe(
            queries.with_study_agreement(
                queries.neighbours_table(emb, word, 10), run_name, word, 10
            ),
            hide_index=True,
            column_config=queries.NEIGHBOUR_COLUMNS,
        )
        evidence_view.word_evidence(run_name, word, emb, 10, where="map")
    else:
        st.caption("Click a dot to see that word's nearest neighbours here.")

    state.put(
        state.MAP_LAST,
        {"run": run_name, "epoch": epoch, "kind": kind, **settings.projection_args()},
    )
    stem = downloads.file_stem(run_name, epoch, kind)
    buttons = st.columns(3)
    buttons[0].download_button(
        "Interactive map (.html)",
        downloads.figure_html(figure),
        file_name=f"{stem}-map.html",
        mime="text/html",
        on_click="ignore",
        key=state.MAP_DOWNLOAD_HTML,
        icon=":material/download:",
    )
    buttons[1].download_button(
        "Coordinates (.csv)",
        downloads.map_csv(word_map, labels),
        file_name=f"{stem}-map.csv",
        mime="text/csv",
        on_click="ignore",
        key=state.MAP_DOWNLOAD_CSV,
        icon=":material/download:",
    )
    buttons[2].caption("PNG: the camera button at the map's top right saves the picture.")
