"""The live view of one training run: progress bar, ETA, words/s, device, loss chart, Stop/Resume.

It is an `st.fragment` that re-reads the run folder every second while the run is active, so only
this part of the page redraws, any tab (or a tab opened later) shows the same live run, and nothing
here waits on the worker. When the run's status changes (it starts, ends or fails) the whole page
reruns once, to swap the controls and update the sidebar.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from w2v_core import jobs
from w2v_core.errors import W2VError
from w2v_core.run_folder import RunStatus
from w2v_ui import charts, runs, state, widgets

POLL_SECONDS = 1.0


def format_seconds(seconds: float | None) -> str:
    """'45 s', '3 min 05 s', '1 h 02 min'."""
    if seconds is None or seconds != seconds:
        return "—"
    if 0 < seconds < 1:
        return "under 1 s"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def time_left(seconds: float | None) -> str:
    """'about 3 min 05 s left', 'less than a second left'."""
    if seconds is not None and 0 <= seconds < 1:
        return "less than a second left"
    return f"about {format_seconds(seconds)} left"


def progress_text(view: jobs.RunView) -> tuple[float, str]:
    """(fraction done, one line for the progress bar)."""
    latest = view.latest
    done, total = view.state.epochs_done, view.state.epochs_total
    if view.status == RunStatus.FINISHED:
        return 1.0, f"Finished all {total} epochs"
    if view.status == RunStatus.STOPPING:
        return done / max(total, 1), "Stopping: saving the vectors reached so far…"
    if view.status == RunStatus.QUEUED:  # 'Waiting for a free training slot: place 2 of 3, …'
        return done / max(total, 1), view.queue_text
    if latest is None and view.active:
        import time

        launched = view.state.launched_at
        waited = f" ({format_seconds(time.time() - launched)})" if launched else ""
        return done / max(total, 1), (
            f"Starting{waited}: a training process loads the corpus and prepares the model…"
        )
    if latest is None or not view.active:  # stopped or failed: what is saved, not the last report
        return done / max(total, 1), f"{done} of {total} epochs done"
    fraction = latest.fraction_done
    parts = [
        f"Epoch {latest.epoch} of {latest.epochs}",
        f"{fraction:.0%}",
        time_left(latest.eta_seconds),
        f"{latest.words_per_second:,.0f} words/s",
    ]
    return min(max(fraction, 0.0), 1.0), " · ".join(parts)


def d2l_loss_line(view: jobs.RunView) -> str | None:
    """The d2l book's loss of the newest report, on the book's scale; None when the engine did not
    compute it (only the fused Adam engine does)."""
    value = view.latest_d2l_loss
    if value is None:
        return None
    return (
        f"{charts.D2L_LOSS_LABEL}: **{value:.4f}**. The Dive into Deep Learning book (chapter "
        "15.4) prints this figure (its running mean over all epochs so far) and reports about "
        "0.41 after 5 epochs on PTB. Our loss above adds up the terms of a context word and its "
        "noise words for each pair; the book averages them, so its figure is smaller."
    )


FAILURE_ADVICE = {
    "diverged": "Lower the learning rate (or pick a preset) and start again: Resume would continue "
    "from the same vectors with the same learning rate, and fail the same way.",
    "memory": "Use a smaller vocabulary (raise min count on Preprocess), fewer dimensions, or negative "
    "sampling instead of full softmax.",
    "default": "Check the settings, or press Resume to continue from the last saved epoch. If it "
    "fails again, the log below says more.",
}


def diverged(error: str | None) -> bool:
    """Whether a run's error says its loss became NaN or infinite (`TrainingDivergedError`)."""
    text = (error or "").lower()
    return "nan" in text or "infinite" in text or "diverg" in text


def failure_advice(error: str | None) -> str:
    text = (error or "").lower()
    if diverged(error):
        return FAILURE_ADVICE["diverged"]
    if "memory" in text or "killed" in text:
        return FAILURE_ADVICE["memory"]
    return FAILURE_ADVICE["default"]


def _check_manage(run_name: str, doing: str):
    """The run's folder when this tab may `doing` it (its owner, or the operator); else None, with
    the reason as the page's one-off note (a button drawn before the run changed hands)."""
    from w2v_core.ownership import check_manage
    from w2v_ui import viewer

    path = runs.run_dir(run_name)
    if path is None:
        return None
    folder = runs.run_folder(run_name)
    try:
        check_manage(folder.info(), viewer.current(), doing, folder.title())
    except W2VError as error:
        st.session_state[state.TRAIN_MESSAGE] = str(error)
        return None
    return path


def _stop(run_name: str) -> None:
    path = _check_manage(run_name, "stop")
    if path is not None:
        jobs.request_stop(path)


def _resume(run_name: str) -> None:
    path = _check_manage(run_name, "resume")
    if path is not None:
        try:
            jobs.start(path)
        except W2VError as error:  # already training (a second click, another tab): say so
            st.session_state[state.TRAIN_MESSAGE] = str(error)


def _restart_with_lower_learning_rate(run_name: str) -> None:
    """A new run with the diverged run's own vocabulary, corpus and settings, learning rate / 10;
    the Train page then shows the new run."""
    original = runs.run_folder(run_name)
    config = original.config()
    lower = dataclasses.replace(config, lr=config.learning_rate / 10)
    info = original.info()
    title = f"{info.get('name') or run_name} (learning rate {lower.learning_rate:g})"
    from w2v_ui import viewer

    new = jobs.create_and_start(
        runs.runs_root(), title, lower, original.vocab(), original.corpus(),
        info.get("data") or {}, owner=viewer.owner_id(),
    )  # fmt: skip
    state.set_current_run(new.name)


def needs_full_rerun(drawn_status: RunStatus | None, view: jobs.RunView) -> bool:
    """Whether the fragment must redraw the whole page: the run started, ended or failed.

    `drawn_status` is the status the fragment was created for when it polls, None when it does not.
    A fragment cannot switch its own polling on: after Resume (clicked inside the fragment, so only
    the fragment reruns) the page must be redrawn to get a polling fragment.
    """
    if drawn_status is None:
        return view.active
    return view.status != drawn_status


CHART_REFRESH_SECONDS = 5.0  # while a run trains, its loss chart is rebuilt at most this often


@st.cache_resource(show_spinner=False)
def _loss_figures() -> dict:
    return {}  # run name -> (built at, epochs seen, status, figure); shared by every tab


def _loss_figure(run_name: str, view: jobs.RunView):
    """The run's loss chart, rebuilt when an epoch ends, the run stops, or every
    `CHART_REFRESH_SECONDS` while it trains: building a plotly figure costs tens of milliseconds,
    and every open Train tab asks every second (the progress bar above still moves each second)."""
    import time

    figures = _loss_figures()
    now = time.monotonic()
    cached = figures.get(run_name)
    if (
        cached is not None
        and view.active
        and cached[1:3] == (len(view.epochs), view.status)
        and now - cached[0] < CHART_REFRESH_SECONDS
    ):
        return cached[3]
    figure = charts.loss_chart(view.progress, view.epochs, view.state.epochs_total)
    if len(figures) > 64:
        figures.clear()
    figures[run_name] = (now, len(view.epochs), view.status, figure)
    return figure


def _render(run_name: str, drawn_status: RunStatus | None) -> None:
    path = runs.run_dir(run_name)
    if path is None:
        st.warning("This run's folder is gone (deleted on the server).")
        return
    try:
        view = jobs.run_view(path)
        summary = jobs.summarize(runs.run_folder(run_name))
    except W2VError as error:
        st.error(widgets.escape_markdown(str(error)))
        return
    message = st.session_state.pop(state.TRAIN_MESSAGE, None)
    if message:
        st.info(message, icon=":material/info:")
    if needs_full_rerun(drawn_status, view):
        st.rerun()

    st.markdown(
        f"#### {widgets.escape_markdown(summary.title)} {widgets.status_badge(view.status)}"
    )
    st.caption(f"{widgets.escape_markdown(summary.corpus)} · {summary.settings}")
    fraction, text = progress_text(view)
    st.progress(fraction, text=text)

    latest = view.latest
    columns = st.columns(4)
    device = view.device or (latest.device if latest else None)
    if device is None and view.active:  # before the worker reports: what 'auto' will pick
        from w2v_ui import loaders

        device = loaders.device_description()
    columns[0].metric("Device", device or "—")
    loss = view.latest_loss
    columns[1].metric("Loss (recent)", f"{loss:.4f}" if loss is not None else "—")
    if view.active:
        columns[2].metric("Running for", format_seconds(latest.elapsed_seconds if latest else None))
    else:
        total = view.training_seconds
        columns[2].metric(
            "Training time",
            format_seconds(total) if total else "—",
            help="Sum of the saved epochs' times.",
        )
    columns[3].metric("Epochs done", f"{view.state.epochs_done} / {view.state.epochs_total}")
    if line := d2l_loss_line(view):
        st.caption(line)

    if view.progress or view.epochs:
        st.plotly_chart(
            _loss_figure(run_name, view),
            key=state.TRAIN_LOSS_CHART,
            config={"displayModeBar": False},
        )
        st.caption(
            "The loss measures how badly the model predicts each word's neighbours; it should fall "
            "quickly, then level off. The light line is each report, the dots are per-epoch averages."
        )

    from w2v_ui import viewer

    manages = viewer.may_manage(summary.ownership)  # Stop, Resume, restart: its owner, the operator
    if not manages:
        whose = widgets.ownership_label(summary)
        who = "the operator" if summary.ownership.from_command_line else "its owner"
        st.caption(
            f":material/lock: This run is {whose}: only {who} can stop or resume it. "
            + ("You can explore its saved epochs." if view.state.has_vectors else "")
        )
    elif view.active:
        st.button(
            "Stop",
            key=state.TRAIN_STOP,
            icon=":material/stop_circle:",
            disabled=view.state.stop_requested,
            on_click=_stop,
            args=(run_name,),
            help="Stops within a second and keeps the vectors as they are; Resume continues later.",
        )
        if view.state.stop_requested:
            st.caption("Stopping…")
        else:
            st.caption(
                "Training runs on the server: you can close this tab or explore other pages "
                "and come back; this view reattaches to the run."
            )
    if view.active:
        return

    if view.status in (RunStatus.FAILED, RunStatus.LOST):
        error = view.state.error or ""
        st.error(f"Training failed. {widgets.escape_markdown(error)}", icon=":material/error:")
        st.markdown(f"**What to try:** {failure_advice(error)}")
        if view.log.strip():
            with st.expander("Training log (last lines)"):
                st.code(view.log, language=None)
    elif view.status == RunStatus.CREATED:
        st.info("This run was prepared but its training never started. Press Resume to train it.")
    elif view.status == RunStatus.STOPPED:
        st.info(
            f"Stopped after {view.state.epochs_done} complete epoch(s). The vectors where it "
            "stopped are saved; Resume continues from the last complete epoch."
        )
    if manages and view.status == RunStatus.FAILED and diverged(view.state.error):
        rate = runs.run_folder(run_name).config().learning_rate
        if st.button(
            "Start again with a lower learning rate",
            key=state.TRAIN_RESTART_LOWER_LR,
            icon=":material/restart_alt:",
            type="primary",
            help=f"A new run on the same data with the same settings, but a learning rate of "
            f"{rate / 10:g} instead of {rate:g}. This run stays as it is.",
        ):
            widgets.run_or_stop("starting the new run", _restart_with_lower_learning_rate, run_name)
            st.rerun()  # the whole page (not only this fragment), on the new run
    elif manages and view.state.can_resume:
        st.button(
            "Resume",
            key=state.TRAIN_RESUME,
            icon=":material/play_circle:",
            on_click=_resume,
            args=(run_name,),
            type="primary",
        )
    if view.state.has_vectors:
        st.success("Vectors are ready. Explore them:", icon=":material/check_circle:")
        links = st.columns(4)
        links[0].page_link(widgets.MAP, label="Map", icon=":material/scatter_plot:")
        links[1].page_link(widgets.NEIGHBOURS, label="Neighbours", icon=":material/hub:")
        links[2].page_link(
            widgets.COMPARE, label="Compare epochs", icon=":material/compare_arrows:"
        )
        links[3].page_link(widgets.EXPORT, label="Export", icon=":material/download:")
        from w2v_ui import evaluate_view  # late: the scores are read only for a run with vectors

        if scores := evaluate_view.latest_scores_line(run_name):
            st.caption(scores)
            st.page_link(widgets.EVALUATE, label="Scores per epoch", icon=":material/fact_check:")


def live_run_view(run_name: str) -> None:
    """Draw the run; keep redrawing it every second while it trains."""
    path = runs.run_dir(run_name)
    status = None
    if path is not None:
        try:
            status = runs.run_folder(run_name).state().status
        except W2VError:
            status = None
    active = status is not None and status.active
    fragment = st.fragment(_render, run_every=POLL_SECONDS if active else None)
    fragment(run_name, status if active else None)
