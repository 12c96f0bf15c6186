"""Every `st.session_state` key of the app, named once, plus accessors for the values pages share.

Session state belongs to one browser tab, so people sharing a server (a classroom) never see each
other's half-typed settings. It holds small values only: which data set and columns, a
`PreprocessConfig`, the folder name of the current run. Data sets, corpora and vectors live in the
cached loaders (`w2v_ui.loaders`), keyed by those small values.

Widget keys are named here too, so a page never invents a key string and two pages never collide.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from w2v_ui import runs

# ---- values shared across pages ------------------------------------------------------------------
DATA_SOURCE = "data_source"  # w2v_core.sources.DataSpec: which data set, which columns
PREPROCESS_CONFIG = "preprocess_config"  # w2v_core.preprocess.PreprocessConfig last applied
PREPROCESS_DATA = "preprocess_data"  # the DataSpec that config was applied to
RUN = "run"  # folder name (under the runs root) of the run being trained or explored
RUN_FROM_URL = "run_from_url"  # the last ?run= value applied, so a later pick in the app wins
DATA_FROM_URL = "data_from_url"  # the last ?data= value applied (same rule)
LINK_NOTE = "note.link"  # a one-off sidebar note: a link this browser cannot open

# ---- who is looking (w2v_ui.viewer) ----------------------------------------------------------------
BROWSER_TOKEN = "browser.token"  # this browser's secret token (also in its cookie; never in a URL)
OPERATOR = "browser.operator"  # True once the operator password was given in this session
OPERATOR_FORM = "operator.form"
OPERATOR_PASSWORD = "operator.password"
OPERATOR_MESSAGE = "note.operator"
OPERATOR_LOCK = "operator.lock"

# ---- widget keys: managing a run (Home) --------------------------------------------------------------
MANAGE_TITLE = "manage.title"  # + run name
MANAGE_RENAME = "manage.rename"  # + run name
MANAGE_PRIVATE = "manage.private"  # + run name
MANAGE_DELETE = "manage.delete"  # + run name: the first button, which asks for the confirmation
MANAGE_CONFIRM = "manage.confirm"  # + run name: the run's name typed again
MANAGE_DELETE_NOW = "manage.delete_now"  # + run name
MANAGE_CANCEL = "manage.cancel"  # + run name
MANAGE_PIN = "manage.pin"  # + run name: pin / unpin as the class run
MANAGE_MESSAGE = "note.manage"  # a one-off note on Home (renamed, deleted, refused)
MANAGE_ASKING = "manage.asking"  # the run whose deletion waits for its confirmation

# ---- widget keys: Home ---------------------------------------------------------------------------
HOME_RUNS_TABLE = "home.runs_table"
HOME_RUNS_SHOWN = "home.runs_shown"  # run names in the table's rows as last drawn

# ---- widget keys: Data ---------------------------------------------------------------------------
DATA_KIND = "data.kind"
DATA_BUILTIN = "data.builtin"
DATA_HUB_NAME = "data.hub_name"
DATA_HUB_CONFIG = "data.hub_config"
DATA_HUB_SPLIT = "data.hub_split"
DATA_HUB_MAX_ROWS = "data.hub_max_rows"
DATA_UPLOAD = "data.upload"
DATA_TXT_MODE = "data.txt_mode"
DATA_ENCODING = "data.encoding"
DATA_DOWNLOAD = "data.download"  # + corpus key: the Download button of a missing NLTK corpus
DATA_TEXT_COLUMN = "data.text_column"
DATA_LABEL_COLUMN = "data.label_column"

# ---- widget keys: Preprocess (one per PreprocessConfig field, prefixed) ------------------------------
PREPROCESS_PREFIX = "pre."
PREPROCESS_APPLY = "pre.apply"
PREPROCESS_RESET = "pre.reset"
PREPROCESS_BLOG = "pre.blog"
# the button of each preset in w2v_core.preprocess.PRESETS
PREPROCESS_PRESET_BUTTONS = {"default": PREPROCESS_RESET, "blog": PREPROCESS_BLOG}
PREPROCESS_USE_DEFAULT = "pre.use_default_data"
PREPROCESS_TOP_CHART = "pre.top_chart"
PREPROCESS_ZIPF_CHART = "pre.zipf_chart"

# ---- widget keys: Train --------------------------------------------------------------------------
TRAIN_PRESET = "train.preset"
TRAIN_PREFIX = "train."  # + TrainConfig field name, e.g. "train.dim"
TRAIN_NAME = "train.run_name"
TRAIN_START = "train.start"
TRAIN_STOP = "train.stop"
TRAIN_RESUME = "train.resume"
TRAIN_RESTART_LOWER_LR = "train.restart_lower_lr"  # a diverged run: a new run, learning rate / 10
TRAIN_REPRODUCIBLE = "train.reproducible"  # bool: one thread, bit-for-bit repeatable
PREPARE_RETRY = "prepare.retry"
TRAIN_MESSAGE = "note.train"  # a one-off note for the Train page (e.g. "already training")
TRAIN_LOSS_CHART = "train.loss_chart"
TRAIN_SETTINGS_FOR = "train.settings_for"  # (data fingerprint) the defaults were scaled to

# ---- widget keys: explore pages (shared pickers) --------------------------------------------------
PICK_RUN = "explore.run"
PICK_RUN_SHOWN = "explore.run_shown"  # the run the picker showed: a pick must differ
PICK_EPOCH = "explore.epoch"
PICK_KIND = "explore.kind"
PICK_KIND_FOR = "explore.kind_for"  # the run whose own vectors (`explore_vectors`) PICK_KIND got

# ---- widget keys: Map ----------------------------------------------------------------------------
MAP_SCOPE = "map.scope"
MAP_TOP_N = "map.top_n"
MAP_CENTRE = "map.centre_word"
MAP_NEIGHBOURHOOD = "map.neighbourhood_size"
MAP_METHOD = "map.method"
MAP_UMAP_NEIGHBORS = "map.umap_n_neighbors"
MAP_UMAP_MIN_DIST = "map.umap_min_dist"
MAP_TSNE_PERPLEXITY = "map.tsne_perplexity"
MAP_COLOUR = "map.colour"
MAP_CLUSTERS = "map.clusters"
MAP_WORD_LIST = "map.word_list"
MAP_SEARCH = "map.search"
MAP_CHART = "map.chart"
MAP_LAST = "map.last"  # settings of the map last drawn (the Export page's coordinates use them)
MAP_DOWNLOAD_HTML = "map.download_html"
MAP_DOWNLOAD_CSV = "map.download_csv"

# ---- widget keys: Neighbours ---------------------------------------------------------------------
NB_WORD = "nb.word"
NB_K = "nb.k"
NB_A = "nb.analogy_a"
NB_B = "nb.analogy_b"
NB_C = "nb.analogy_c"
NB_SIM_1 = "nb.similarity_1"
NB_SIM_2 = "nb.similarity_2"
NB_ODD = "nb.odd_one_out"

# ---- widget keys: Evidence (Neighbours and Map pages: each key scoped by the page) ----------------
EV_SHOW = "evidence.show"  # toggle: passages from the texts for the looked-up word
EV_NEIGHBOUR = "evidence.neighbour"  # a neighbour to see the shared passages and contexts of
EV_DOCUMENT = "evidence.document"  # which document to show whole

# ---- widget keys: Compare ------------------------------------------------------------------------
CMP_MODE = "cmp.mode"
CMP_WORDS = "cmp.words"
CMP_K = "cmp.k"
CMP_OTHER_RUN = "cmp.other_run"
CMP_EPOCHS = "cmp.epochs"  # + run name: the epochs shown, each run its own choice
CMP_WORDS_FOR = "cmp.words_for"  # (run A, run B or None) the words to follow were checked for
CMP_TABLE = "cmp.table"  # + word
CMP_MAP_METHOD = "cmp.map_method"
CMP_MAP_CHART = "cmp.map_chart"
CMP_OVERLAP_CHART = "cmp.overlap_chart"
CMP_LOSS_CHART = "cmp.loss_chart"
CMP_RUN_LOSS_CHART = "cmp.run_loss_chart"

# ---- widget keys: Export -------------------------------------------------------------------------
EXPORT_W2V_TEXT = "export.w2v_text"
EXPORT_W2V_BINARY = "export.w2v_binary"
EXPORT_PROJECTOR_VECTORS = "export.projector_vectors"
EXPORT_PROJECTOR_METADATA = "export.projector_metadata"
EXPORT_COORDINATES = "export.coordinates"
EXPORT_ZIP = "export.zip"
EXPORT_ZIP_CHECKPOINTS = "export.zip_checkpoints"
EXPORT_ZIP_PREPARE = "export.zip_prepare"
EXPORT_ZIP_RETRY = "export.zip_retry"
EXPORT_ZIP_STARTED = "export.zip_started"  # the (run, checkpoints) this tab asked a zip of

# ---- Methods card
CARD_RUN = "card.run"
CARD_OF = "card.of"  # "run" or "study"
CARD_STUDY = "card.study"
CARD_ONE_THREAD = "card.one_thread"
CARD_RERUN = "card.rerun"  # (run name, threads) of a re-run the person asked for, until it starts
CARD_RERUN_BUTTON = "card.rerun_button"
CARD_DOWNLOAD_MD = "card.download_md"
CARD_DOWNLOAD_JSON = "card.download_json"

# ---- widget keys: Stability ----------------------------------------------------------------------
STAB_STUDY = "stab.study"  # folder name (under the studies root) of the study shown
STAB_PICK = "stab.pick"
STAB_RUNS = "stab.n_runs"
STAB_BOOTSTRAP = "stab.bootstrap"
STAB_TITLE = "stab.title"
STAB_START = "stab.start"
STAB_STOP = "stab.stop"
STAB_RESUME = "stab.resume"
STAB_WORD = "stab.word"
STAB_K = "stab.k"
STAB_CHART = "stab.chart"
STAB_MESSAGE = "note.stability"  # a one-off note (e.g. "already training")

# ---- widget keys: Evaluate -----------------------------------------------------------------------
EVAL_CHART = "eval.chart"
EVAL_COMPUTE = "eval.compute"  # button: compute the scores of checkpoints that have none
EVAL_RETRY = "eval.retry"
EVAL_STARTED = "eval.started"  # the (run, kind, epochs) whose missing scores this tab asked for
EVAL_PAIRS = "eval.pairs_upload"
EVAL_ANALOGIES = "eval.analogies_upload"


# ---- accessors -----------------------------------------------------------------------------------
def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    st.session_state[key] = value


def current_run() -> str | None:
    """Folder name of the current run, or None when there is none (or it was deleted)."""
    name = st.session_state.get(RUN)
    if name and runs.run_dir(name) is None:
        return None
    return name


def set_current_run(name: str | None) -> None:
    st.session_state[RUN] = name
    st.session_state[PICK_RUN] = name  # keeps the explore pages' run picker on the same run


def sync_run_with_url() -> None:
    """Apply a new `?run=NAME` from the address bar, then write the current run back into it.

    A run link (from Home, or shared by a teacher) opens that run, if this browser may see it (a
    private run of someone else's does not exist for it); choosing another run inside the app later
    wins, because a given `?run=` value is applied only once. A tab that has chosen no data yet
    takes the run's data, so its sidebar, Preprocess and Train name the data the run was made from.
    """
    from_url = st.query_params.get("run")
    if from_url and from_url != st.session_state.get(RUN_FROM_URL):
        st.session_state[RUN_FROM_URL] = from_url
        if runs.run_dir(from_url) is not None:
            set_current_run(from_url)
            if st.session_state.get(DATA_SOURCE) is None and not st.query_params.get("data"):
                adopt_run_data(from_url)
        else:
            st.session_state[LINK_NOTE] = (
                "The run in this link is not on this server, or its owner made it private."
            )
    name = current_run()
    if name and st.query_params.get("run") != name:
        st.query_params["run"] = name
    elif name is None and runs.run_dir(st.query_params.get("run")) is None:
        st.query_params.pop("run", None)  # a link to a run this browser cannot open


def adopt_run_data(run_name: str) -> None:
    """Make the data (and preprocessing) run `run_name` was made from this tab's data choice, when
    this browser may read that data (someone else's upload stays theirs)."""
    from w2v_core.errors import W2VError
    from w2v_core.preprocess import PreprocessConfig
    from w2v_core.sources import DataSpec

    try:
        data = runs.run_folder(run_name).info().get("data") or {}
        spec = DataSpec.from_dict(data["spec"])
        config = PreprocessConfig.from_dict(data["preprocess"]) if data.get("preprocess") else None
    except (W2VError, KeyError, TypeError, ValueError):
        return  # a run from the command line's plain-text corpus, or an older run.json
    if spec.kind == "file" or not _may_read(spec):
        return
    st.session_state[DATA_SOURCE] = spec
    _show_on_data_page(spec)
    if config is not None:
        st.session_state[PREPROCESS_CONFIG] = config
        st.session_state[PREPROCESS_DATA] = spec


def _may_read(spec) -> bool:
    """Whether this browser may open `spec` from a link: an upload only for a browser that
    uploaded it; built-in and Hub data for everyone (Hub folders are checked when loaded)."""
    if spec.kind == "upload":
        from w2v_core.sources import upload_owned_by
        from w2v_ui import viewer

        return upload_owned_by(spec.key, viewer.owner_id())
    return spec.kind in ("builtin", "hub")


# ---- the data choice in the address bar: ?data=<kind>:<key>[?<options>] -----------------------------
_LINK_OPTIONS = {  # short name in the link -> DataSpec field
    "text": "text_column",
    "col": "metadata_columns",
    "config": "config",
    "split": "split",
    "rows": "max_rows",
    "file": "filename",
    "mode": "txt_mode",
    "enc": "encoding",
}


def _base_spec(kind: str, key: str):
    """The spec a link `<kind>:<key>` means before its options: for a built-in corpus what the Data
    page picks (its text and metadata columns), else the bare kind and key."""
    from w2v_core import sources
    from w2v_core.sources import DataSpec

    if kind == "builtin":
        corpus = next((c for c in sources.list_builtin_corpora() if c.key == key), None)
        if corpus is None:
            return None
        return DataSpec("builtin", corpus.key, corpus.name, "text", corpus.metadata_columns)
    if kind == "hub":
        return DataSpec("hub", key, key)
    if kind == "upload":
        return DataSpec("upload", key, "upload")
    return None


def data_link(spec) -> str | None:
    """The `?data=` value of a data choice (only the options that differ from the plain
    `<kind>:<key>`); None for a file on the server (the command line's)."""
    from urllib.parse import quote, urlencode

    base = _base_spec(spec.kind, spec.key) if spec.kind != "file" else None
    if base is None:
        return None
    options: list[tuple[str, str]] = []
    for short, name in _LINK_OPTIONS.items():
        value = getattr(spec, name)
        if value == getattr(base, name):
            continue
        if name == "metadata_columns":
            options += [(short, column) for column in value] or [(short, "")]
        elif value is not None:
            options.append((short, str(value)))
    link = f"{spec.kind}:{quote(spec.key, safe='/@-._~')}"
    return f"{link}?{urlencode(options)}" if options else link


def spec_from_link(link: str):
    """The data choice a `?data=` value names, or None when it names nothing this app can open."""
    from dataclasses import replace
    from urllib.parse import parse_qsl, unquote

    from w2v_core.errors import W2VError

    head, _, query = str(link).partition("?")
    kind, _, key = head.partition(":")
    key = unquote(key)
    if kind not in ("builtin", "hub", "upload") or not key:
        return None
    base = _base_spec(kind, key)
    if base is None:
        return None
    values: dict = {}
    columns: list[str] = []
    for short, value in parse_qsl(query, keep_blank_values=True):
        name = _LINK_OPTIONS.get(short)
        if name == "metadata_columns":
            columns += [value] if value else []
            values[name] = tuple(columns)
        elif name == "max_rows":
            values[name] = int(value) if value.isdigit() else None
        elif name is not None:
            values[name] = value or None
    try:
        spec = replace(base, **values)
    except (W2VError, TypeError, ValueError):
        return None
    if kind == "upload":
        spec = replace(spec, label=spec.filename or "upload")
    return spec


def sync_data_with_url() -> None:
    """Apply a new `?data=` from the address bar (once, like `?run=`; `write_links` then writes this
    tab's choice back), so a reload, a new tab or a shared link has the same data. An upload in a
    link opens only in a browser that uploaded it."""
    from_url = st.query_params.get("data")
    if from_url and from_url != st.session_state.get(DATA_FROM_URL):
        st.session_state[DATA_FROM_URL] = from_url
        spec = spec_from_link(from_url)
        if spec is not None and _may_read(spec):
            st.session_state[DATA_SOURCE] = spec
            _show_on_data_page(spec)
        else:
            st.session_state[LINK_NOTE] = (
                "The data in this link cannot be opened here: an upload opens only in the browser "
                "that uploaded it. Choose data on 1 · Data."
            )


def _show_on_data_page(spec) -> None:
    """Set the Data page's widgets to a data choice that came from a link (a new tab, a reload), so
    that page shows the same choice instead of its defaults."""
    st.session_state[DATA_KIND] = spec.kind
    if spec.kind == "builtin":
        st.session_state[DATA_BUILTIN] = spec.key
    elif spec.kind == "hub":
        st.session_state[DATA_HUB_NAME] = spec.key
        st.session_state[DATA_HUB_MAX_ROWS] = spec.max_rows


def write_links() -> None:
    """Put this tab's data choice and current run into the address bar (nothing else changes)."""
    choice = st.session_state.get(DATA_SOURCE)
    link = data_link(choice) if choice is not None else None
    if link and st.query_params.get("data") != link:
        st.query_params["data"] = link
        st.session_state[DATA_FROM_URL] = link  # our own value: never applied back as a new link
    elif link is None and "data" in st.query_params:
        del st.query_params["data"]
    name = current_run()
    if name and st.query_params.get("run") != name:
        st.query_params["run"] = name
    elif name is None and runs.run_dir(st.query_params.get("run")) is None:
        st.query_params.pop("run", None)  # a link to a run this browser cannot open


def scoped(key: str, *parts: object) -> str:
    """A widget key made specific to something (a data set, a run, a word), e.g. per-source columns."""
    return ".".join([key, *(str(p) for p in parts)])


def epoch_key(run_name: str) -> str:
    """Widget key of the epoch picker for one run, so each run remembers its own epoch."""
    return f"{PICK_EPOCH}.{run_name}"


def default(key: str, value: Any) -> None:
    """Give a widget's key its first value (before the widget is drawn; never pass `value=` too)."""
    if key not in st.session_state:
        st.session_state[key] = value


def clamp(key: str, low: float, high: float) -> None:
    """Keep a slider's remembered value inside its current range (e.g. after switching runs)."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        st.session_state[key] = min(max(value, low), high)


# Settings a person expects to find unchanged when they come back to a page. Streamlit drops the
# value of a widget that was not drawn in a run (and, when a run is interrupted by a click, sometimes
# of widgets that were), so their values are also kept in one plain session value, WIDGET_MEMORY,
# and put back before the widgets are drawn.
WIDGET_MEMORY = "widget_memory"
PERSISTENT = (
    PICK_KIND,
    MAP_SCOPE,
    MAP_TOP_N,
    MAP_CENTRE,
    MAP_NEIGHBOURHOOD,
    MAP_METHOD,
    MAP_UMAP_NEIGHBORS,
    MAP_UMAP_MIN_DIST,
    MAP_TSNE_PERPLEXITY,
    MAP_COLOUR,
    MAP_CLUSTERS,
    MAP_WORD_LIST,
    MAP_SEARCH,
    NB_WORD,
    NB_K,
    NB_A,
    NB_B,
    NB_C,
    NB_SIM_1,
    NB_SIM_2,
    NB_ODD,
    CMP_WORDS,
    CMP_K,
    CMP_MODE,
    CMP_OTHER_RUN,
    CMP_MAP_METHOD,
    DATA_KIND,
    DATA_BUILTIN,
    DATA_HUB_NAME,
    DATA_HUB_MAX_ROWS,
    STAB_RUNS,
    STAB_BOOTSTRAP,
    STAB_TITLE,
    STAB_WORD,
    STAB_K,
)
PERSISTENT_PREFIXES = (PREPROCESS_PREFIX, TRAIN_PREFIX, PICK_EPOCH + ".")


def _persistent(key: object) -> bool:
    return key in PERSISTENT or (
        isinstance(key, str) and key.startswith(PERSISTENT_PREFIXES) and key not in EPHEMERAL
    )


def restore_widget_values() -> None:
    """Re-assign every persistent widget value at the start of a run (call before the page).

    A value Streamlit forgot comes back from WIDGET_MEMORY; one it still has is re-assigned as is.
    Either way it counts as set in this run, which is what makes a widget drawn later in the run
    show it (a value merely left in session state shows the widget's default in the browser).
    """
    memory = st.session_state.get(WIDGET_MEMORY) or {}
    current = {key for key in st.session_state if _persistent(key)}
    for key in current | set(memory):
        st.session_state[key] = st.session_state[key] if key in current else memory[key]


def remember_widget_values() -> None:
    """Remember the current values of persistent widgets (call at the end of every run)."""
    memory = dict(st.session_state.get(WIDGET_MEMORY) or {})
    for key in list(st.session_state.keys()):
        if _persistent(key):
            memory[key] = st.session_state[key]
    st.session_state[WIDGET_MEMORY] = memory


# Buttons and similar triggers: their value must never be carried into the next run.
EPHEMERAL = {
    CARD_RERUN_BUTTON,
    CARD_RERUN,
    PREPARE_RETRY,
    TRAIN_START,
    TRAIN_STOP,
    TRAIN_RESUME,
    TRAIN_RESTART_LOWER_LR,
    PREPROCESS_APPLY,
    PREPROCESS_RESET,
    PREPROCESS_BLOG,
    PREPROCESS_USE_DEFAULT,
    PREPROCESS_TOP_CHART,
    PREPROCESS_ZIPF_CHART,
    TRAIN_LOSS_CHART,
    OPERATOR_PASSWORD,
}
