"""Small widgets every page uses: the one-line intro, empty states, error boxes, the sidebar status,
and the run / epoch pickers of the explore pages.

Errors: a `W2VError` is the core telling the person what happened and what to do, so its sentence is
shown as is. Anything else is our bug: the person gets a plain apology and what to try, and the
details sit in a closed expander for whoever reports it, never as a raw traceback box.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from w2v_core import jobs
from w2v_core.errors import W2VError
from w2v_core.run_folder import STOPPED, Epoch, RunStatus
from w2v_ui import runs, state

# Page files, so links and page switches name one place.
HOME = "app_pages/home.py"
DATA = "app_pages/data.py"
PREPROCESS = "app_pages/preprocess.py"
TRAIN = "app_pages/train.py"
MAP = "app_pages/map.py"
NEIGHBOURS = "app_pages/neighbours.py"
COMPARE = "app_pages/compare.py"
EVALUATE = "app_pages/evaluate.py"
EXPORT = "app_pages/export.py"
STABILITY = "app_pages/stability.py"
CARD = "app_pages/card.py"


def status_label(status: RunStatus | str) -> str:
    return RunStatus(status).label


def page_intro(title: str, purpose: str, next_step: str | None = None) -> None:
    """Title, what the page is for (one line) and, if any, what to do next."""
    st.title(title)
    st.markdown(purpose)
    if next_step:
        st.caption(next_step)


def empty_state(
    message: str, page: str, label: str, icon: str = ":material/arrow_forward:"
) -> None:
    """An info box saying why there is nothing to show, with a link to the page that fixes it."""
    st.info(message, icon=":material/info:")
    st.page_link(page, label=label, icon=icon)


def show_unexpected_error(error: BaseException, while_doing: str) -> None:
    st.error(
        f"Something went wrong while {while_doing}. This is a bug in the app, not something you "
        "did. Try again, or choose other settings; if it keeps happening, send the details below "
        "to whoever runs this server.",
        icon=":material/error:",
    )
    with st.expander("Technical details"):
        st.code("".join(traceback.format_exception(error)), language=None)


@contextmanager
def friendly_errors(while_doing: str) -> Iterator[None]:
    """Show a `W2VError` as its plain sentence and any other exception as a friendly message.

    Streamlit's own control flow (st.rerun, st.stop, st.switch_page) derives from BaseException and
    passes through untouched.
    """
    try:
        yield
    except W2VError as error:
        st.error(escape_markdown(str(error)), icon=":material/error:")
    except Exception as error:  # noqa: BLE001 - the last line of defence of a page
        show_unexpected_error(error, while_doing)


def status_badge(status: RunStatus | str, label: str | None = None) -> str:
    """A coloured Markdown badge for a run status (`label`: another text, such as a queued run's
    'queued (2 of 3)'; it is escaped)."""
    status = RunStatus(status)
    colour = {
        RunStatus.QUEUED: "violet",
        RunStatus.STARTING: "blue",
        RunStatus.RUNNING: "blue",
        RunStatus.STOPPING: "orange",
        RunStatus.FINISHED: "green",
        RunStatus.STOPPED: "orange",
        RunStatus.FAILED: "red",
        RunStatus.LOST: "red",
    }.get(status, "gray")
    text = status.label if label is None else escape_markdown(label)
    return f":{colour}-badge[{text}]"


def sidebar_status(where) -> None:
    """Which data set and which run this tab is working with, drawn into `where` (a placeholder in
    the sidebar, under the navigation: app.py fills it before the page and again after it).

    The data line names the tab's choice, else says that none is chosen and which corpus Train
    uses meanwhile (as the Train page does). The run line names its own data ("trained on …") and
    whose it is, so a tab looking at someone's tweets run never seems to say that run was trained
    on the default corpus.
    """
    from w2v_ui import datasets  # late: keeps app start light

    with where.container():
        choice = state.get(state.DATA_SOURCE)
        st.caption("Working with")
        if choice is not None:
            data_text = escape_markdown(datasets.short_label(choice))
        else:
            default = escape_markdown(datasets.short_label(datasets.default_choice()))
            data_text = f"none chosen yet (Train uses {default})"
        st.markdown(f"**Data:** {data_text}")
        name, heading = state.current_run(), "Run"
        picked = state.get(state.PICK_RUN)
        if name is None and picked and runs.run_dir(picked) is not None:
            # a tab exploring a run it did not choose (the pickers' default): say so, without
            # calling it this tab's run, which is what the Train page and its Stop act on
            name, heading = picked, "Exploring"
        summary = None
        if name:
            try:
                summary = jobs.summarize(runs.run_folder(name))
            except W2VError:
                summary = None
        if summary is not None:
            st.markdown(
                f"**{heading}:** {escape_markdown(summary.title)} "
                f"{status_badge(summary.status, summary.status_text)}"
            )
            st.caption(run_provenance(summary))
        else:
            st.markdown("**Run:** none yet")
        note = st.session_state.pop(state.LINK_NOTE, None)
        if note:
            st.caption(f":material/link_off: {note}")


def run_provenance(summary: runs.RunSummary) -> str:
    """'trained on Tweets (hate speech) · yours · private' (Markdown, escaped)."""

    whose = ownership_label(summary)
    parts = [f"trained on {escape_markdown(summary.corpus)}", whose]
    if summary.private:
        parts.append("private")
    return " · ".join(parts)


def ownership_label(summary: runs.RunSummary) -> str:
    """'yours', 'someone else's' or 'started from the command line'."""
    from w2v_core.ownership import owner_label
    from w2v_ui import viewer

    label = owner_label(summary.ownership, viewer.current())
    return {"you": "yours", "someone else": "someone else's"}.get(label, label)


_MARKDOWN_SPECIALS = "\\`*_{}[]<>()#+-.!|~:$&"  # & too: "&lt;" must not become "<"


# Streamlit 1.67 still links http://…, www.… and a@b.c inside escaped text; an invisible word joiner
# (U+2060) before their ":", "." or "@" stops it (tests/test_app_hostile_everywhere.py, Chromium).
_AUTOLINK = re.compile(
    r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?<=\bmailto)(?=:)|(?<=\bxmpp)(?=:)|(?=@)"
)


def escape_markdown(text: str) -> str:
    """Show user text literally inside st.markdown (no links, HTML, emphasis or LaTeX)."""
    text = _AUTOLINK.sub("\u2060", str(text))
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in text)


SHOWN_WORD_CHARS = 60


def shown_word(word: str) -> str:
    """A typed word for a message, escaped; a very long one cut to its start and its length."""
    word = str(word)
    if len(word) > SHOWN_WORD_CHARS:
        return f"{escape_markdown(word[:SHOWN_WORD_CHARS])}… ({len(word):,} characters)"
    return escape_markdown(word)


# ---- explore pages: which run, which epoch, which vectors ------------------------------------------
KIND_LABELS = {
    "input": "input (centre words)",
    "output": "output (context words)",
    "average": "average",
}


def _keep_choice(key: str, options: list, default) -> None:
    """Make session_state[key] one of `options` (default otherwise) before its widget is drawn."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def run_title(summary: runs.RunSummary) -> str:
    """'Quick demo on Lee news corpus · finished · 21 Nov 13:21' (the corpus only if not in the name)."""
    parts = [summary.title]
    if summary.corpus.lower() not in summary.title.lower():
        parts.append(summary.corpus)
    parts += [summary.status.label, summary.created]
    return " · ".join(p for p in parts if p)


def _run_picked() -> None:
    """The person chose a run in the picker: it becomes this tab's current run.

    Only a real choice counts: a run folder other than the one the picker showed. A change event
    carrying the value the app put there itself (its default, the newest run, maybe someone else's)
    or a stale label of a run whose status changed meanwhile must never switch this tab's run.
    """
    picked = st.session_state.get(state.PICK_RUN)
    if picked != state.get(state.PICK_RUN_SHOWN) and runs.run_dir(picked) is not None:
        state.set_current_run(picked)


def run_picker(where=st) -> str | None:
    """Choose a run with saved vectors; defaults to the current run. None when there is none.

    Only a choice made here changes the current run. Without one, the picker shows the run shown
    before or else the newest run with vectors (often another person's): that run is explored, but
    it does not become the current run, the `?run=` link or what the Train page's Stop acts on. A
    run still waiting for its first epoch stays current while another run is shown here meanwhile.
    """
    available = runs.explorable_runs()
    if not available:
        return None
    names = [s.name for s in available]
    titles = {s.name: run_title(s) for s in available}
    current = state.current_run()
    shown = state.get(state.PICK_RUN)
    pinned = runs.class_run()  # the class run the operator pinned, else the newest run
    default = pinned if pinned in names else names[0]
    shown = current if current in names else shown if shown in names else default
    state.put(state.PICK_RUN, shown)
    state.put(state.PICK_RUN_SHOWN, shown)
    chosen = where.selectbox(
        "Run",
        names,
        format_func=lambda n: titles[n],
        key=state.PICK_RUN,
        on_change=_run_picked,
        help="Runs on this server that have saved vectors, newest first.",
    )
    if current is not None and current not in names:
        where.caption(":material/hourglass_top: Your current run has no saved epoch yet.")
    return chosen


def saved_epochs(run_name: str) -> list[Epoch]:
    return runs.run_folder(run_name).saved_epochs()


def epoch_label(epoch: Epoch) -> str:
    return "where it stopped" if epoch == STOPPED else f"epoch {epoch}"


def epoch_picker(run_name: str, where=st) -> int | str | None:
    """Choose a saved epoch of `run_name`, the latest by default."""
    epochs = saved_epochs(run_name)
    if not epochs:
        return None
    if len(epochs) == 1:
        where.selectbox(
            "Epoch", epochs, format_func=epoch_label, disabled=True, key=state.epoch_key(run_name)
        )
        return epochs[0]
    key = state.epoch_key(run_name)
    _keep_choice(key, epochs, epochs[-1])
    return where.select_slider(
        "Epoch",
        options=epochs,
        key=key,
        format_func=epoch_label,
        help="Vectors are saved after every epoch, so you can look at any stage of training.",
    )


def run_vector_kind(run_name: str) -> str:
    """The vectors a run is explored with first: its settings' `explore_vectors` (the blog presets
    say "output"), "input" for runs of before that setting or a run that cannot be read."""
    try:
        kind = runs.run_folder(run_name).config().explore_vectors
    except W2VError:
        return "input"
    return kind if kind in KIND_LABELS else "input"


def kind_picker(where=st, run_name: str | None = None) -> str:
    """Choose input / output / average vectors; on picking another run, that run's own default."""
    if run_name is not None and state.get(state.PICK_KIND_FOR) != run_name:
        st.session_state[state.PICK_KIND] = run_vector_kind(run_name)
        state.put(state.PICK_KIND_FOR, run_name)
    _keep_choice(state.PICK_KIND, list(KIND_LABELS), "input")
    return where.selectbox(
        "Vectors",
        list(KIND_LABELS),
        format_func=KIND_LABELS.get,
        key=state.PICK_KIND,
        help="Word2vec learns two vectors per word. The input (centre-word) vectors are the usual "
        "choice; the blog read the output vectors, and with full softmax they give its neighbours. "
        "Each run opens with the vectors its settings name.",
    )


def explore_header() -> tuple[str, int | str, str] | None:
    """Run, epoch and vector pickers in one row; an empty state (and None) when nothing is trained."""
    columns = st.columns([3, 2, 2])
    run_name = run_picker(columns[0])
    if run_name is None:
        empty_state(
            "No trained run yet: there are no word vectors to explore. Train one first (a quick demo "
            "takes under a minute).",
            TRAIN,
            "Go to 3 · Train",
        )
        return None
    epoch = epoch_picker(run_name, columns[1])
    kind = kind_picker(columns[2], run_name)
    return run_name, epoch, kind


def explored_embeddings():
    """The explore pages' common start: the run / epoch / vector pickers, then those vectors loaded.

    Returns (run name, epoch, vector kind, Embeddings); stops the page after an empty state or a plain
    error message when there is nothing to explore.
    """
    from w2v_ui import loaders  # loaders imports the core; keep this module light to import

    picked = explore_header()
    if picked is None:
        st.stop()
    run_name, epoch, kind = picked
    emb = run_or_stop(
        "loading the vectors",
        loaders.embeddings,
        run_name,
        epoch,
        kind,
        spinner="Loading the vectors…",
    )
    return run_name, epoch, kind, emb


def run_or_stop(while_doing: str, func, *args, spinner: str | None = None, **kwargs):
    """`func(*args, **kwargs)`, or show what went wrong (as `friendly_errors`) and stop the page."""
    try:
        if spinner:
            with st.spinner(spinner):
                return func(*args, **kwargs)
        return func(*args, **kwargs)
    except W2VError as error:
        st.error(escape_markdown(str(error)), icon=":material/error:")
    except Exception as error:  # noqa: BLE001 - the last line of defence of a page
        show_unexpected_error(error, while_doing)
    st.stop()


def replace_word(text: str, old: str, new: str) -> str:
    """The words of `text` (split like a words box: spaces, commas) with `old` replaced by `new`."""
    return " ".join(new if w == old else w for w in re.split(r"[\s,;]+", text) if w)


def _replace_word(key: str, old: str, new: str) -> None:
    st.session_state[key] = replace_word(st.session_state.get(key, ""), old, new)


def unknown_word(
    error,
    key: str,
    in_list: bool = False,
    instead: str | None = None,
    vocabulary: str = "this run's vocabulary",
    did_you_mean: str = "Did you mean:",
) -> None:
    """'x is not in the vocabulary' and one button per suggestion that puts it in the box `key`.

    With `in_list`, the box holds several words and a suggestion replaces only the unknown one.
    `instead` says what the page shows in its place ("the map shows the most frequent words
    instead"), in the same sentence. `vocabulary` names whose vocabulary it is ("the vocabulary of
    run B (title)"): Markdown, so the caller escapes any user text in it.
    """
    then = f"; {instead}" if instead else ""
    st.warning(
        f"'{shown_word(error.word)}' is not in {vocabulary}{then}.",
        icon=":material/help:",
    )
    if error.suggestions:
        st.caption(did_you_mean)
        columns = st.columns(min(len(error.suggestions), 5))
        for column, word in zip(columns, error.suggestions, strict=False):
            if in_list:
                column.button(
                    escape_markdown(word),  # button labels are Markdown: corpus words are not
                    key=state.scoped(key, "suggest", word),
                    on_click=_replace_word,
                    args=(key, error.word, word),
                )
            else:
                column.button(
                    escape_markdown(word),
                    key=state.scoped(key, "suggest", word),
                    on_click=state.put,
                    args=(key, word),
                )
    elif not instead:
        st.caption("No similar word is in the vocabulary: try another word.")


PREPARATION_POLL_SECONDS = 0.5
# How long a page waits for preprocessing before it shows a progress bar instead: a result in memory
# or on disk comes back well within it (no flashing bar), longer work never holds the script thread.
PREPARATION_WAIT_ENV = "W2V_PREPARATION_WAIT"  # seconds; the tests set a long wait
PREPARATION_WAIT_SECONDS = 0.5


def prepared_corpus(choice, config, while_doing: str = "preparing the corpus"):
    """The `PreprocessResult` of `choice` and `config` when it is ready. Until then the work runs in
    the background (never in this script thread): a progress bar that updates itself is drawn and
    the page stops; when the work ends the page reruns and this returns the result. An error is
    shown with a Try again button."""
    from w2v_ui import loaders

    job = loaders.preparation(choice, config)
    wait = float(os.environ.get(PREPARATION_WAIT_ENV) or PREPARATION_WAIT_SECONDS)
    if not job.wait(wait):
        _preparation_progress(choice, config)
        st.stop()
    if job.error is not None:
        if isinstance(job.error, W2VError):
            st.error(escape_markdown(str(job.error)), icon=":material/error:")
        elif isinstance(job.error, Exception):
            show_unexpected_error(job.error, while_doing)
        else:
            raise job.error
        st.button(
            "Try again",
            key=state.PREPARE_RETRY,
            on_click=loaders.forget_failed_preparation,
            args=(choice, config),
        )
        st.stop()
    return job.result


@st.fragment(run_every=PREPARATION_POLL_SECONDS)
def _preparation_progress(choice, config) -> None:
    from w2v_ui import loaders

    job = loaders.preparation(choice, config)
    if job.done:
        st.rerun()  # the whole page, now with the result
    st.progress(job.fraction, text=job.message)
