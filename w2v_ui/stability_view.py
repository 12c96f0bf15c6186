"""What the Stability page draws, and the "runs that agree" column of the Neighbours page.

Studies made in the app live under `<runs root>/studies/`; their member runs are ordinary runs in the
runs root (so Home lists them and the explore pages open them), which study.json names by path. The
study itself is `w2v_core.stability`; its background process is started by `w2v_core.jobs`. The
progress view is an `st.fragment` that re-reads the study folder every second while it trains, like
`training_view`. Vectors are loaded through `loaders.embeddings` and the cut to the shared vocabulary
is cached per (study, checkpoints), so every session asking shares one copy.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import streamlit as st

from w2v_core import jobs, stability
from w2v_core.errors import UnknownWordError, W2VError
from w2v_core.run_folder import RunFolder, RunStatus, slug
from w2v_ui import charts, runs, state, widgets
from w2v_ui.training_view import POLL_SECONDS, format_seconds

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
NEIGHBOUR_COLUMNS = {
    "word": st.column_config.TextColumn("neighbour"),
    "runs": st.column_config.TextColumn(
        "in runs", help="In how many runs' own top-k list of the word it appears."
    ),
    "mean": st.column_config.NumberColumn(
        "mean cosine", format="%.3f", help="Its cosine with the word, averaged over every run."
    ),
    "spread": st.column_config.NumberColumn(
        "± spread", format="%.3f", help="Standard deviation of that cosine over the runs."
    ),
}


# ---- where studies are ----------------------------------------------------------------------------
def studies_root() -> Path:
    root = runs.runs_root() / "studies"
    root.mkdir(parents=True, exist_ok=True)
    return root


def study_dir(name: str | None) -> Path | None:
    """The folder of study `name`, or None when the name is unsafe or no such study exists."""
    if not name or not _SAFE_NAME.match(name) or ".." in name:
        return None
    path = studies_root() / name
    return path if (path / "study.json").is_file() and _visible(path) else None


def _visible(path: Path) -> bool:
    """A study shows to this tab only when every member run does (none is someone's private run)."""
    from w2v_ui import viewer

    try:
        members = stability.Study(path).members()
    except W2VError:
        return False
    for member in members:
        try:
            info = RunFolder(member.path).info()
        except W2VError:
            continue  # a member not written yet, or gone: nothing of it to show
        if not viewer.may_view(info):
            return False
    return True


def may_manage_study(name: str) -> bool:
    """Stop and continue a study: the browser that made it, or the operator."""
    from w2v_ui import viewer

    path = study_dir(name)
    return path is not None and viewer.may_manage(stability.Study(path).info())


def study_names() -> list[str]:
    return [s.name for s in stability.list_studies(studies_root()) if _visible(s.path)]


def study_title(name: str) -> str:
    path = study_dir(name)
    try:
        return stability.Study(path).title if path is not None else name
    except W2VError:
        return name


def show_study(name: str) -> None:
    """Make `name` the study the page shows (the picker follows on the next run)."""
    state.put(state.STAB_STUDY, name)
    st.session_state.pop(state.STAB_PICK, None)


def start_study(title: str, config, vocab, corpus, data, n_runs: int, bootstrap: bool) -> str:
    """Write a study (members in the runs root) and start its background process; its name."""
    folder = studies_root() / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(title)}"
    if folder.exists():
        folder = folder.with_name(f"{folder.name}-{time.monotonic_ns() % 10_000}")
    from w2v_ui import viewer

    study = stability.Study.create(
        folder, config, vocab, corpus, data, n_runs=n_runs, bootstrap=bootstrap, title=title,
        runs_root=runs.runs_root(), owner=viewer.owner_id(),
    )  # fmt: skip
    jobs.start_study(study.path)
    return study.name


# ---- vectors ----------------------------------------------------------------------------------------
def _member_stamps(study: stability.Study) -> tuple:
    return tuple(
        (str(m.path), RunFolder(m.path).checkpoint_stamp(None))
        for m in study.members()
        if (m.path / "run.json").is_file()
    )


@st.cache_resource(max_entries=6, show_spinner=False)
def _study_vectors(path: str, stamps: tuple) -> stability.StudyVectors:
    del stamps  # part of the cache key only
    return stability.load_study_vectors(stability.Study.open(path), load=_load_member)


def _load_member(path: Path):
    from w2v_ui import loaders

    if path.parent == runs.runs_root().resolve():  # an app study: share the explore pages' cache
        return loaders.embeddings(path.name, None, "input")
    from w2v_core.embeddings import Embeddings

    return Embeddings.from_run(path, None, "input")


def study_vectors(study: stability.Study) -> stability.StudyVectors:
    return _study_vectors(str(study.path), _member_stamps(study))


@st.cache_resource(max_entries=12, show_spinner=False)
def _report(path: str, stamps: tuple, k: int) -> stability.StudyReport:
    study = stability.Study.open(path)
    min_count = int(study.info().get("min_count") or 1)
    return stability.study_report(_study_vectors(path, stamps), k=k, min_count=min_count)


def runs_that_agree(run_name: str, word: str, neighbours: list[str], k: int) -> list[str] | None:
    """'4 of 5' for each neighbour of `word` in run `run_name`, when the run belongs to a study
    with at least two finished runs; None otherwise (the Neighbours page then shows no column)."""
    path = runs.run_dir(run_name)
    found = stability.study_of(path) if path is not None else None
    if found is None or not _visible(found[0].path):  # a private member's vectors stay private
        return None
    try:
        vectors = study_vectors(found[0])
    except W2VError:
        return None
    counts = stability.agreement_counts(vectors.full, word, neighbours, k)
    return [f"{c} of {vectors.n_runs}" for c in counts]


# ---- progress -----------------------------------------------------------------------------------
def _stop(name: str) -> None:
    path = study_dir(name)
    if path is not None and may_manage_study(name):
        jobs.request_study_stop(path)


def _resume(name: str) -> None:
    path = study_dir(name)
    if path is not None and may_manage_study(name):
        try:
            jobs.start_study(path)
        except W2VError as error:
            st.session_state[state.STAB_MESSAGE] = str(error)


def _render_progress(name: str, drawn_active: bool) -> None:
    path = study_dir(name)
    if path is None:
        st.warning("This study's folder is gone (deleted on the server).")
        return
    study = stability.Study(path)
    try:
        progress = study.progress()
    except W2VError as error:
        st.error(widgets.escape_markdown(str(error)))
        return
    if progress.active != drawn_active:
        st.rerun()  # started or ended: redraw the page (the word view appears, polling stops)
    if message := st.session_state.pop(state.STAB_MESSAGE, None):
        st.info(message, icon=":material/info:")
    text = progress.summary()
    if progress.status == "stopping":
        text = "Stopping: the runs save their vectors…"
    st.progress(progress.fraction_done, text=text)
    statuses = [
        f"run {m.member.index} (seed {m.member.seed}): {widgets.status_label(m.status)}"
        + (f" {m.fraction_done:.0%}" if m.status.active else "")
        for m in progress.members
    ]
    st.caption(" · ".join(statuses))
    if not may_manage_study(name):
        st.caption(":material/lock: Only the person who started this study can stop or resume it.")
        return
    if progress.active:
        st.button(
            "Stop the study", key=state.STAB_STOP, icon=":material/stop_circle:",
            on_click=_stop, args=(name,), disabled=progress.status == "stopping",
            help="Each run stops within a second and keeps its vectors; Resume continues.",
        )  # fmt: skip
        if progress.eta_seconds is not None:
            st.caption(f"About {format_seconds(progress.eta_seconds)} left for the whole study.")
        return
    for row in progress.failed:
        st.error(
            f"Run {row.member.index} failed: {widgets.escape_markdown(row.error or '')}",
            icon=":material/error:",
        )
    if progress.status != "finished":
        st.button(
            "Resume the study", key=state.STAB_RESUME, icon=":material/play_circle:",
            on_click=_resume, args=(name,), type="primary",
        )  # fmt: skip


def live_progress(name: str) -> bool:
    """Draw the study's progress; keep redrawing it every second while it trains. Whether it is
    active."""
    path = study_dir(name)
    active = False
    if path is not None:
        try:
            active = stability.Study(path).progress().active
        except W2VError:
            active = False
    st.fragment(_render_progress, run_every=POLL_SECONDS if active else None)(name, active)
    return active


# ---- the analyses -------------------------------------------------------------------------------
def word_table(result: stability.WordStability) -> dict[str, list]:
    return {
        "word": [n.word for n in result.neighbours],
        "runs": [f"{n.runs} of {result.n_runs}" for n in result.neighbours],
        "mean": [round(n.mean_cosine, 4) for n in result.neighbours],
        "spread": [round(n.std_cosine, 4) for n in result.neighbours],
    }


def word_view(vectors: stability.StudyVectors, word: str, k: int) -> None:
    try:
        result = stability.word_stability(vectors, word, k)
    except UnknownWordError as error:
        _unknown_word(error)
        return
    except W2VError as error:
        st.warning(widgets.escape_markdown(str(error)), icon=":material/warning:")
        return
    shown = widgets.escape_markdown(word)
    left, right = st.columns([1, 3])
    left.metric(f"Stability of {shown}", f"{result.stability:.2f}")
    right.markdown(widgets.escape_markdown(result.reading))
    if result.warning:
        st.warning(widgets.escape_markdown(result.warning), icon=":material/warning:")
    all_runs = sum(1 for n in result.neighbours if n.runs == result.n_runs)
    st.caption(
        f"Every word in any run's top {k} of {shown}: {all_runs} of them are in all "
        f"{result.n_runs} runs. The cosine is averaged over every run (± its spread)."
    )
    st.dataframe(word_table(result), hide_index=True, column_config=NEIGHBOUR_COLUMNS)


def _unknown_word(error: UnknownWordError) -> None:
    widgets.unknown_word(error, state.STAB_WORD, vocabulary="the vocabulary the runs share")


def report_view(study: stability.Study, k: int) -> None:
    report = _report(str(study.path), _member_stamps(study), k)
    st.plotly_chart(
        charts.stability_frequency_chart(
            report.words, report.counts, report.stability, report.min_count,
            stability.LOW_STABILITY, k,
        ),
        key=state.STAB_CHART, config={"displayModeBar": False},
    )  # fmt: skip
    sampled = (
        f"{len(report.words):,} words spread over all frequencies"
        if report.sampled
        else (f"all {len(report.words):,} words")
    )
    st.caption(
        f"Each dot is a word ({sampled}). Rare words are usually unstable: their few occurrences "
        f"give the runs little to agree on; {report.share_low():.0%} of these words are below "
        f"{stability.LOW_STABILITY}. Words rarer than the dashed line (min_count "
        f"{report.min_count}) were cut before training."
    )
    most, least = st.columns(2)
    for column, label, rows in (
        (most, "Most stable", report.most_stable()),
        (least, "Least stable", report.least_stable()),
    ):
        column.markdown(f"**{label}**")
        column.dataframe(
            {
                "word": [w for w, _, _ in rows],
                "stability": [round(s, 3) for _, s, _ in rows],
                "times in corpus": [int(round(c)) for _, _, c in rows],
            },
            hide_index=True,
        )


def finished_runs(progress: stability.StudyProgress) -> int:
    return sum(1 for m in progress.members if m.status == RunStatus.FINISHED)


# ---- a new study: the Train page's data and settings ---------------------------------------------
def train_settings_for(corpus, vocab, fingerprint) -> None:
    """Fill the Train page's setting widgets for this corpus, as the Train page does on a first visit
    (its preset, scaled to the corpus), unless they already are."""
    from w2v_ui import controls, train_settings

    if state.get(state.TRAIN_PRESET) not in train_settings.PRESETS:
        state.put(state.TRAIN_PRESET, train_settings.DEFAULT_PRESET)
    if state.get(state.TRAIN_SETTINGS_FOR) != fingerprint:
        key = state.get(state.TRAIN_PRESET)
        controls.load_train_settings(train_settings.preset_config(key, corpus.n_tokens, len(vocab)))
        state.put(state.TRAIN_SETTINGS_FOR, fingerprint)
