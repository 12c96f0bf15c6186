"""Export: the trained vectors in formats other tools read, and the whole run as a zip."""

import streamlit as st

from w2v_ui import downloads, loaders, state, widgets

widgets.page_intro(
    "Export",
    "Take your vectors elsewhere: gensim, spaCy or R read the word2vec formats; TensorFlow's "
    "Embedding Projector reads the two TSV files; the zip holds the whole run (settings, vocabulary, "
    "metrics, every saved epoch): unzipped into another server's runs folder, it opens there.",
    "Files are prepared when you click, so large vocabularies may take a few seconds.",
)
run_name, epoch, kind, emb = widgets.explored_embeddings()
stem = downloads.file_stem(run_name, epoch, kind)
st.caption(
    f"{len(emb):,} words × {emb.vector_size} dimensions, {widgets.epoch_label(epoch)}, "
    f"{widgets.KIND_LABELS[kind]} vectors."
)

left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**word2vec format**")
    st.caption(
        "One word and its numbers per line. `KeyedVectors.load_word2vec_format(path)` in gensim."
    )
    st.download_button(
        "Text (.txt)",
        downloads.word2vec_bytes(emb, binary=False),
        file_name=f"{stem}.txt",
        mime="text/plain",
        icon=":material/download:",
        on_click="ignore",
        key=state.EXPORT_W2V_TEXT,
    )
    st.download_button(
        "Binary (.bin)",
        downloads.word2vec_bytes(emb, binary=True),
        file_name=f"{stem}.bin",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        key=state.EXPORT_W2V_BINARY,
    )
with right.container(border=True):
    st.markdown("**Embedding Projector**")
    st.caption("Open https://projector.tensorflow.org, click *Load*, and give it both files.")
    st.download_button(
        "vectors.tsv",
        downloads.projector_bytes(emb, "vectors"),
        file_name=f"{stem}-vectors.tsv",
        mime="text/tab-separated-values",
        icon=":material/download:",
        on_click="ignore",
        key=state.EXPORT_PROJECTOR_VECTORS,
    )
    st.download_button(
        "metadata.tsv",
        downloads.projector_bytes(emb, "metadata"),
        file_name=f"{stem}-metadata.tsv",
        mime="text/tab-separated-values",
        icon=":material/download:",
        on_click="ignore",
        key=state.EXPORT_PROJECTOR_METADATA,
    )
left, right = st.columns(2)
with left.container(border=True):
    st.markdown("**Map coordinates (CSV)**")
    st.caption(
        "word, x, y, count and cluster of the map as last drawn on the Map page "
        "(or a PCA map of the 1,000 most frequent words if you have not drawn one)."
    )
    last = state.get(state.MAP_LAST) or {}
    if (last.get("run"), last.get("epoch"), last.get("kind")) == (run_name, epoch, kind):
        map_args = {k: v for k, v in last.items() if k not in ("run", "epoch", "kind")}
    else:
        map_args = {"scope": "top", "top_n": 1000, "centre": None, "size": 0, "method": "pca"}
    word_map = widgets.run_or_stop(
        "placing the words",
        loaders.word_map,
        run_name,
        epoch,
        kind,
        spinner="Placing the words…",
        **map_args,
    )
    st.download_button(
        "Coordinates (.csv)",
        downloads.map_csv(word_map),
        file_name=f"{stem}-map.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=state.EXPORT_COORDINATES,
    )
with right.container(border=True):
    st.markdown("**The whole run (.zip)**")
    st.caption(
        "Settings, vocabulary, encoded corpus, metrics and checkpoints: unzipped into another "
        "server's runs folder, the run opens there (and can be resumed from its newest epoch)."
    )
    downloads.run_zip_section(run_name)
