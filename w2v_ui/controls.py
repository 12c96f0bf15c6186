"""Control panels too long for a page file: data sources, preprocessing options, training settings
and the Map settings.

Each panel draws its widgets (keys from `w2v_ui.state`, defaults put into session state before the
widget is drawn, so values survive page switches without "default value" warnings) and returns one
plain settings object.
"""

from __future__ import annotations

import re

import streamlit as st

from w2v_core.config import LOSS_LABELS, MODEL_LABELS, OPTIMIZER_LABELS
from w2v_core.embeddings import Embeddings
from w2v_core.projection import TSNE_PERPLEXITY, UMAP_MIN_DIST, UMAP_NEIGHBOURS
from w2v_ui import state, viewer
from w2v_ui.maps import MapSettings
from w2v_ui.widgets import escape_markdown

METHOD_LABELS = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
SCOPE_LABELS = {"top": "Most frequent words", "around": "Around a word"}
COLOUR_LABELS = {"cluster": "Clusters (k-means)", "frequency": "Frequency", "list": "My word list"}


def map_controls(where, emb: Embeddings) -> MapSettings | None:
    """The Map settings panel; None while an 'around a word' map has no word yet."""
    vocab_size = len(emb)
    largest = min(5000, vocab_size)
    with where:
        state.default(state.MAP_SCOPE, "top")
        scope = st.radio(
            "Which words", list(SCOPE_LABELS), format_func=SCOPE_LABELS.get, key=state.MAP_SCOPE
        )
        top_n = 1000
        centre = None
        size = 50
        if scope == "top":
            state.default(state.MAP_TOP_N, min(1000, largest))
            state.clamp(state.MAP_TOP_N, 2, largest)
            top_n = st.slider(
                "Number of words",
                min(2, largest),
                largest,
                key=state.MAP_TOP_N,
                step=1 if largest < 100 else 50,
                help="The most frequent words have the best-trained vectors.",
            )
        else:
            centre = st.text_input(
                "Word", key=state.MAP_CENTRE, placeholder="e.g. government"
            ).strip()
            state.default(state.MAP_NEIGHBOURHOOD, min(50, vocab_size - 1))
            state.clamp(state.MAP_NEIGHBOURHOOD, 1, min(300, vocab_size - 1))
            size = st.slider(
                "Neighbours to show", 1, min(300, vocab_size - 1), key=state.MAP_NEIGHBOURHOOD
            )
        state.default(state.MAP_METHOD, "umap")
        method = st.segmented_control(
            "Layout",
            list(METHOD_LABELS),
            format_func=METHOD_LABELS.get,
            key=state.MAP_METHOD,
            required=True,
            help="UMAP: neighbourhoods and some overall shape (default). PCA: a straight view of the "
            "two main directions, instant. t-SNE: tight neighbourhoods, slowest.",
        )
        n_neighbors, min_dist, perplexity = UMAP_NEIGHBOURS, UMAP_MIN_DIST, TSNE_PERPLEXITY
        if method == "umap":
            state.default(state.MAP_UMAP_NEIGHBORS, UMAP_NEIGHBOURS)
            state.default(state.MAP_UMAP_MIN_DIST, UMAP_MIN_DIST)
            n_neighbors = st.slider(
                "UMAP neighbours",
                2,
                100,
                key=state.MAP_UMAP_NEIGHBORS,
                help="Small: local detail, many small groups. Large: the big picture.",
            )
            min_dist = st.slider(
                "UMAP minimum distance",
                0.0,
                0.99,
                key=state.MAP_UMAP_MIN_DIST,
                step=0.05,
                help="Small: tight clumps. Large: evenly spread dots.",
            )
        elif method == "tsne":
            state.default(state.MAP_TSNE_PERPLEXITY, int(TSNE_PERPLEXITY))
            perplexity = float(
                st.slider(
                    "t-SNE perplexity",
                    5,
                    50,
                    key=state.MAP_TSNE_PERPLEXITY,
                    help="Roughly how many neighbours each word pays attention to.",
                )
            )
        state.default(state.MAP_COLOUR, "cluster")
        colour_by = st.radio(
            "Colour by", list(COLOUR_LABELS), format_func=COLOUR_LABELS.get, key=state.MAP_COLOUR
        )
        clusters = 8
        word_list = ""
        if colour_by == "cluster":
            state.default(state.MAP_CLUSTERS, 8)
            clusters = st.slider(
                "Number of clusters",
                2,
                20,
                key=state.MAP_CLUSTERS,
                help="Groups found in the full vectors, not in the 2D picture.",
            )
        elif colour_by == "list":
            word_list = st.text_area(
                "Words to colour",
                key=state.MAP_WORD_LIST,
                placeholder="war peace army soldiers",
                height=90,
            )
        search = st.text_input(
            "Find words on the map",
            key=state.MAP_SEARCH,
            placeholder="e.g. freedom, liberty",
            help="Circled and labelled on the map; separate words by spaces or commas.",
        )
    if scope == "around" and not centre:
        return None
    return MapSettings(
        scope=scope,
        top_n=int(top_n),
        centre=centre or None,
        size=int(size),
        method=method,
        n_neighbors=int(n_neighbors),
        min_dist=float(min_dist),
        perplexity=float(perplexity),
        colour_by=colour_by,
        clusters=int(clusters),
        word_list=word_list,
        search=search,
    )


# ---- Preprocess ------------------------------------------------------------------------------------
def _pre_key(name: str) -> str:
    return state.PREPROCESS_PREFIX + name


def load_preprocess_settings(config) -> None:
    """Put every field of a `PreprocessConfig` into its widget's key (presets, reset, first visit)."""
    values = config.to_dict()
    for name, value in values.items():
        if name == "extra_stopwords":
            value = " ".join(value)
        elif name in ("stopwords_language", "stem_language"):
            value = value or ""
        st.session_state[_pre_key(name)] = value


def preprocess_controls(
    config_cls,
    option_help: dict[str, str],
    char_filter_help: dict[str, str],
    stopword_languages: list[str],
    stem_languages: list[str],
):
    """All preprocessing options, each with its one-line explanation; returns a config object.

    Raises the core's `ConfigError` for an impossible combination (e.g. a bad custom pattern).
    """
    k = _pre_key
    if k("lowercase") not in st.session_state:
        load_preprocess_settings(config_cls())
    words, filters, vocabulary = st.columns(3, gap="medium")
    with words:
        st.markdown("**Words**")
        st.toggle("Lowercase", key=k("lowercase"))
        st.caption(option_help["lowercase"])
        char_filter = st.radio(
            "Characters that make words",
            list(char_filter_help),
            key=k("char_filter"),
            format_func={
                "blog": "a-z, @ and # only",
                "letters": "letters of any alphabet",
                "none": "everything between spaces",
                "custom": "my own pattern",
            }.get,
            captions=list(char_filter_help.values()),
        )
        if char_filter == "custom":
            st.text_input(
                "Pattern (regular expression)", key=k("custom_pattern"), placeholder="[a-z]+"
            )
            st.caption(option_help["custom_pattern"])
        st.markdown("**Replace with placeholders**")
        st.toggle(
            "Web addresses → <url>", key=k("normalize_urls"), help=option_help["normalize_urls"]
        )
        st.toggle(
            "Numbers → <num>", key=k("normalize_numbers"), help=option_help["normalize_numbers"]
        )
        st.toggle(
            "@names → <user>", key=k("normalize_mentions"), help=option_help["normalize_mentions"]
        )
        st.caption(
            "Many different links, numbers or account names become one token each, "
            "so they stop crowding the vocabulary."
        )
    with filters:
        st.markdown("**Filters**")
        st.selectbox(
            "Stop words",
            [""] + stopword_languages,
            key=k("stopwords_language"),
            format_func=lambda v: v.capitalize() if v else "keep them",
        )
        st.caption(option_help["stopwords_language"])
        st.text_input("More words to drop", key=k("extra_stopwords"), placeholder="rt amp")
        st.caption(option_help["extra_stopwords"])
        st.selectbox(
            "Stemming",
            [""] + stem_languages,
            key=k("stem_language"),
            format_func=lambda v: v.capitalize() if v else "no stemming",
        )
        st.caption(option_help["stem_language"])
        st.number_input("Shortest word (characters)", 1, 20, key=k("min_token_length"))
        st.caption(option_help["min_token_length"])
        st.number_input("Longest word (characters)", 1, 1000, key=k("max_token_length"))
        st.caption(option_help["max_token_length"])
    with vocabulary:
        st.markdown("**Vocabulary**")
        st.number_input("Minimum count", 1, 10_000, key=k("min_count"))
        st.caption(option_help["min_count"])
        st.number_input(
            "Maximum vocabulary size", 1, 10_000_000, key=k("max_vocab_size"), step=1000
        )
        st.caption(option_help["max_vocab_size"])
        phrases = st.toggle("Detect phrases (new york → new_york)", key=k("phrases"))
        st.caption(option_help["phrases"])
        if phrases:
            st.number_input("Phrase threshold", 0.1, 1000.0, key=k("phrase_threshold"), step=1.0)
            st.caption(option_help["phrase_threshold"])
            st.number_input("Phrase minimum count", 1, 10_000, key=k("phrase_min_count"))
            st.caption(option_help["phrase_min_count"])
    values = {name: st.session_state.get(k(name)) for name in config_cls().to_dict()}
    values["extra_stopwords"] = tuple(
        w for w in re.split(r"[\s,;]+", values["extra_stopwords"] or "") if w
    )
    values["stopwords_language"] = values["stopwords_language"] or None
    values["stem_language"] = values["stem_language"] or None
    return config_cls.from_dict(values)


# ---- Train -----------------------------------------------------------------------------------------
DIM_CHOICES = [10, 25, 50, 100, 150, 200, 300]
SAMPLE_CHOICES = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]


def sentence_case(label: str) -> str:
    """'skip-gram' -> 'Skip-gram' for a button; 'CBOW' stays."""
    return label[:1].upper() + label[1:]


def _train_key(name: str) -> str:
    return state.TRAIN_PREFIX + name


def load_train_settings(config) -> None:
    """Put a `TrainConfig` into the Train page's widgets (a preset chosen, or a new corpus)."""
    for name, value in config.to_dict().items():
        if name == "dim" and value not in DIM_CHOICES:
            value = min(DIM_CHOICES, key=lambda d: abs(d - value))
        if name == "sample" and value not in SAMPLE_CHOICES:
            value = min(SAMPLE_CHOICES, key=lambda s: abs(s - value))
        st.session_state[_train_key(name)] = value


def train_controls(config_cls, help_text: dict[str, str], devices: list[str]):
    """Every training setting with plain help; returns a `TrainConfig` (not yet validated)."""
    k = _train_key
    first, second, third = st.columns(3, gap="medium")
    with first:
        st.segmented_control(
            "Model",
            ["skipgram", "cbow"],
            key=k("model"),
            required=True,
            format_func=lambda v: sentence_case(MODEL_LABELS[v]),
        )
        st.caption(help_text["model"])
        loss = st.segmented_control(
            "Loss",
            ["negative", "softmax"],
            key=k("loss"),
            required=True,
            format_func=lambda v: sentence_case(LOSS_LABELS[v]),
        )
        st.caption(help_text["loss"])
        if loss == "negative":
            st.slider("Noise words per pair", 1, 25, key=k("negative"), help=help_text["negative"])
    with second:
        st.select_slider("Vector size", DIM_CHOICES, key=k("dim"), help=help_text["dim"])
        st.slider("Window", 1, 15, key=k("window"), help=help_text["window"])
        st.number_input("Epochs", 1, 500, key=k("epochs"), help=help_text["epochs"])
        st.select_slider(
            "Subsampling of frequent words",
            SAMPLE_CHOICES,
            key=k("sample"),
            format_func=lambda v: "off" if v == 0 else f"{v:g}",
            help=help_text["sample"],
        )
    with third:
        optimizer = st.segmented_control(
            "Optimizer",
            ["sgd", "adam", "adamw"],
            key=k("optimizer"),
            required=True,
            format_func=OPTIMIZER_LABELS.get,
        )
        st.caption(help_text["optimizer"])
        st.number_input(
            "Learning rate (empty = usual value)",
            min_value=0.0,
            max_value=10.0,
            key=k("lr"),
            format="%.4f",
            step=0.001,
            help=help_text["lr"],
        )
        if optimizer == "adamw":
            st.number_input(
                "Weight decay",
                0.0,
                1.0,
                key=k("weight_decay"),
                step=0.01,
                help=help_text["weight_decay"],
            )
        st.selectbox("Device", devices, key=k("device"), help=help_text["device"])
    with st.expander("More settings"):
        cols = st.columns(2)
        cols[0].number_input("Random seed", 0, 2**31 - 1, key=k("seed"), help=help_text["seed"])
        cols[0].checkbox(
            "Reproducible: train on one thread",
            key=state.TRAIN_REPRODUCIBLE,
            help="With one thread the same seed and settings give exactly the same vectors, every "
            "time (slower on a machine with many cores). With all cores, the threads' updates race "
            "as in word2vec.c and gensim, so two runs with the same seed differ slightly.",
        )
        cols[1].number_input(
            "Batch size (empty = automatic)",
            1,
            1_000_000,
            key=k("batch_size"),
            help=help_text["batch_size"],
        )
        cols[1].number_input(
            "Keep the vectors of every k-th epoch",
            1,
            1000,
            key=k("keep_every"),
            help=help_text["keep_every"],
        )
        cols[0].selectbox(
            "Vectors to explore first",
            ["input", "output", "average"],
            key=k("explore_vectors"),
            format_func={
                "input": "input (centre words)",
                "output": "output (context words: the blog's choice)",
                "average": "average of both",
            }.get,
            help=help_text["explore_vectors"],
        )
    names = config_cls().to_dict()
    values = {n: st.session_state[k(n)] for n in names if k(n) in st.session_state}
    values["threads"] = 1 if st.session_state.get(state.TRAIN_REPRODUCIBLE) else None
    return config_cls.from_dict(values)


# ---- Data ------------------------------------------------------------------------------------------
ENCODING_MEANING = (  # beside every "Read as …": what an encoding is, in plain words
    "An encoding (UTF-8, Windows-1250, …) is the table that turns a file's bytes into letters: "
    "with the wrong one, accented letters come out garbled (é as Ã©)."
)
AUTO_ENCODING = "auto"  # the encoding picker's "detect it" choice (a spec's encoding None)


def data_source_controls(kind: str, current):
    """The widgets of one kind of source (built-in, Hub, upload); returns a `DataSpec` or None.

    Errors reading a Hub description or saving an upload are shown and stop the page.
    """
    from w2v_core import sources
    from w2v_ui import datasets, runs, widgets

    choice = None
    if kind == "builtin":
        corpora = sources.list_builtin_corpora()
        usable = [c for c in corpora if c.available]
        names = [c.key for c in usable]
        if state.get(state.DATA_BUILTIN) not in names:
            state.put(
                state.DATA_BUILTIN,
                current.key if current and current.key in names else datasets.DEFAULT_BUILTIN,
            )
        by_key = {c.key: c for c in usable}
        key = st.radio(
            "Corpus",
            names,
            key=state.DATA_BUILTIN,
            format_func=lambda k: f"{by_key[k].name} — about {by_key[k].n_tokens:,} words",
            captions=[c.description for c in usable],
        )
        missing = [c for c in corpora if not c.available]
        if missing:
            with st.expander(f"{len(missing)} more corpora are not installed on this server"):
                for corpus in missing:
                    _missing_corpus(corpus)
        picked = by_key[key]
        choice = sources.DataSpec(
            "builtin", picked.key, picked.name, "text", picked.metadata_columns
        )

    elif kind == "hub":
        folders = datasets.local_folders()
        if folders:
            st.caption(
                "A data set id from huggingface.co (for example `imdb`), or the path of a data set "
                "folder inside one of the folders this server shares: "
                + ", ".join(f"`{folder}`" for folder in folders)
                + ". This server may be offline; folders always work."
            )
        else:
            st.caption(
                "A data set id from huggingface.co (for example `imdb`). Folders on this server "
                f"are off unless the operator lists them in `{sources.LOCAL_DATA_DIRS_ENV}` (an "
                "environment variable: a setting given when the server is started)."
            )
        name = st.text_input(
            "Data set",
            key=state.DATA_HUB_NAME,
            placeholder="tweets_hate_speech_detection"
            + (f"  or  {folders[0]}/my_dataset" if folders else ""),
        )
        if name.strip():
            schema = widgets.run_or_stop(
                "reading the data set's description",
                datasets.hub_schema,
                name.strip(),
                spinner="Reading the data set's description…",
            )
            cols = st.columns(3)
            config = cols[0].selectbox("Configuration", schema.configs, key=state.DATA_HUB_CONFIG)
            split = cols[1].selectbox(
                "Split", list(schema.splits) or ["train"], key=state.DATA_HUB_SPLIT
            )
            state.default(state.DATA_HUB_MAX_ROWS, None)
            max_rows = cols[2].number_input(
                "Rows to load (empty = all)",
                min_value=100,
                step=1000,
                key=state.DATA_HUB_MAX_ROWS,
                help="For a large data set, load only the first rows.",
            )
            text_columns = [c.name for c in schema.columns if c.is_text]
            if not text_columns:
                st.error("No column of this data set holds text, so word2vec has nothing to read.")
                st.stop()
            choice = sources.DataSpec(  # the checked name: a Hub id or an allowed folder's path
                "hub",
                schema.dataset_id,
                name.strip(),
                schema.suggested_text_column or text_columns[0],
                (),
                config=None if config == "default" else config,
                split=split,
                max_rows=int(max_rows) if max_rows else None,
            )

    else:
        upload = st.file_uploader(
            f"Your file (up to {sources.MAX_UPLOAD_MB} MB)",
            type=[s.lstrip(".") for s in sources.UPLOAD_SUFFIXES],
            key=state.DATA_UPLOAD,
            help="Plain text (one document per line), CSV/TSV, JSON lines, Parquet, or a zip of .txt files.",
        )
        txt_mode, encoding = "lines", None
        if upload is not None:
            options = st.columns(2)
            if upload.name.lower().endswith((".txt", ".text", ".zip")):
                txt_mode = options[0].radio(
                    "Documents are",
                    ["lines", "whole"],
                    horizontal=True,
                    key=state.DATA_TXT_MODE,
                    format_func={"lines": "one per line", "whole": "one per file"}.get,
                )
            if not upload.name.lower().endswith(".parquet"):  # Parquet stores Unicode text
                encoding = _encoding_picker(options[1])
            datasets.forget_old_uploads(str(runs.runs_root()))
            choice = widgets.run_or_stop(
                "saving the upload",
                sources.store_upload,
                upload.name,
                upload,  # read in chunks: a 190 MB file is not copied whole (issue 9)
                txt_mode,
                encoding,
                owner=viewer.owner_id(),  # a link naming it opens it only for this browser
            )
        elif current is not None and current.kind == "upload":
            choice = current  # the file chosen earlier in this session
    return choice


def _encoding_picker(where) -> str | None:
    """The upload's text encoding: detected (None) or the person's choice (a codec name)."""
    from w2v_core import sources

    state.default(state.DATA_ENCODING, AUTO_ENCODING)
    picked = where.selectbox(
        "Text encoding",
        [AUTO_ENCODING, *sources.ENCODING_CHOICES],
        key=state.DATA_ENCODING,
        format_func=lambda e: (
            "Detect automatically" if e == AUTO_ENCODING else sources.ENCODING_CHOICES[e]
        ),
        help="How the file's bytes become letters. Detection gets Unicode and Western European "
        "text right; if accented letters in the first rows look wrong (é shown as Ã© or è as č), "
        "choose the encoding the file was saved in.",
    )
    return None if picked == AUTO_ENCODING else picked


def _missing_corpus(corpus) -> None:
    """A corpus that is not on this server: why, and a Download button for NLTK's corpora."""
    from w2v_core import sources

    st.markdown(f"**{corpus.name}**: {corpus.unavailable_reason}")
    if corpus.needs_download is None:
        return
    if st.button(
        f"Download {corpus.name}",
        key=state.scoped(state.DATA_DOWNLOAD, corpus.key),
        icon=":material/download:",
    ):
        try:
            with st.spinner(f"Downloading {corpus.name} from NLTK…"):
                sources.download_nltk_corpus(corpus.key)
        except sources.SourceError as error:
            st.error(escape_markdown(str(error)), icon=":material/cloud_off:")
        else:
            st.rerun()  # the corpus is now listed with the others
