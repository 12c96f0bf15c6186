"""Managing runs in the app: rename, private, delete (Home), the class run, the operator unlock.

Who may do what is `w2v_core.ownership` (through `w2v_ui.viewer`); the operations themselves are
`w2v_core.jobs` (`rename_run`, `set_private`, `delete_run`, `pin_class_run`), which check the rules
again, so a button drawn for a run that changed hands meanwhile still cannot act on it. Every name
shown is escaped.
"""

from __future__ import annotations

import streamlit as st

from w2v_core import jobs
from w2v_core.errors import W2VError
from w2v_core.ownership import OPERATOR_PASSWORD_ENV
from w2v_ui import runs, state, viewer, widgets

# ---- the operator (sidebar) --------------------------------------------------------------------------


def _unlock() -> None:
    password = st.session_state.get(state.OPERATOR_PASSWORD) or ""
    try:
        right = viewer.unlock(password)
    except W2VError as error:
        st.session_state[state.OPERATOR_MESSAGE] = str(error)
        return
    if not right:
        st.session_state[state.OPERATOR_MESSAGE] = "That is not the operator password."


def operator_box(where) -> None:
    """'Operator' in the sidebar, when the server has an operator password: unlock / lock."""
    if not viewer.operator_enabled():
        return
    with where.expander("Operator (teacher)", icon=":material/admin_panel_settings:"):
        message = st.session_state.pop(state.OPERATOR_MESSAGE, None)
        if message:
            st.caption(f":material/error: {widgets.escape_markdown(message)}")
        if viewer.current().operator:
            st.caption(
                "Unlocked in this browser tab: you can stop, resume, rename and delete every run, "
                "and pin the class run on Home."
            )
            st.button("Lock", key=state.OPERATOR_LOCK, on_click=viewer.lock)
            return
        with st.form(state.OPERATOR_FORM, clear_on_submit=True, border=False):
            st.text_input(
                "Operator password",
                type="password",
                key=state.OPERATOR_PASSWORD,
                help=f"The password the server was started with ({OPERATOR_PASSWORD_ENV}). It "
                "lets this tab manage every run on the server.",
            )
            st.form_submit_button("Unlock", on_click=_unlock)


# ---- the class run (Home) -------------------------------------------------------------------------------
def class_run_banner() -> None:
    """The run the teacher pinned, with links that open it."""
    name = runs.class_run()
    if name is None:
        return
    try:
        summary = jobs.summarize(runs.run_folder(name))
    except W2VError:
        return
    with st.container(border=True):
        st.markdown(
            f":material/push_pin: **Class run:** {widgets.escape_markdown(summary.title)} "
            f"{widgets.status_badge(summary.status)}"
        )
        st.caption(f"Pinned by the operator for everyone · {widgets.run_provenance(summary)}")
        links = st.columns(4)
        if summary.has_vectors:
            links[0].page_link(
                widgets.MAP, label="Open on the map", icon=":material/scatter_plot:",
                query_params={"run": name},
            )  # fmt: skip
        links[1].page_link(
            widgets.TRAIN, label="Training progress", icon=":material/model_training:",
            query_params={"run": name},
        )  # fmt: skip


# ---- one run: rename, private, delete, pin (Home) ------------------------------------------------------
def _note(kind: str, text: str) -> None:
    st.session_state[state.MANAGE_MESSAGE] = (kind, text)


def show_note() -> None:
    """The outcome of the last rename / delete / pin, once."""
    note = st.session_state.pop(state.MANAGE_MESSAGE, None)
    if note:
        kind, text = note
        (st.success if kind == "ok" else st.error)(widgets.escape_markdown(text))


def _act(doing: str, action) -> None:
    try:
        action()
    except W2VError as error:
        _note("error", str(error))
    except OSError as error:  # the folder vanished or cannot be written: say so, plainly
        _note("error", f"Could not {doing} the run: {error.strerror or error}.")


def _rename(name: str) -> None:
    path = runs.run_dir(name)
    title = st.session_state.get(state.scoped(state.MANAGE_TITLE, name), "")
    if path is not None:
        _act(
            "rename",
            lambda: _note("ok", f"Renamed to '{jobs.rename_run(path, title, viewer.current())}'."),
        )


def _set_private(name: str) -> None:
    path = runs.run_dir(name)
    private = bool(st.session_state.get(state.scoped(state.MANAGE_PRIVATE, name)))
    if path is not None:
        _act("change", lambda: jobs.set_private(path, private, viewer.current()))


def _ask_delete(name: str) -> None:
    st.session_state[state.MANAGE_ASKING] = name


def _cancel_delete() -> None:
    st.session_state.pop(state.MANAGE_ASKING, None)


def _delete(name: str, title: str) -> None:
    st.session_state.pop(state.MANAGE_ASKING, None)
    typed = st.session_state.get(state.scoped(state.MANAGE_CONFIRM, name), "")
    # a name copied from the page carries escape_markdown's invisible word joiners: not part of it
    if typed.replace("\u2060", "").strip() != title:
        _note("error", "Not deleted: the name typed does not match the run's name.")
        return
    path = runs.run_dir(name)
    if path is None:
        return

    def delete() -> None:
        deleted = jobs.delete_run(path, runs.runs_root(), viewer.current())
        if state.get(state.RUN) == name:
            state.set_current_run(None)
        _note("ok", f"Deleted run '{deleted}'.")

    _act("delete", delete)


def _toggle_pin(name: str, pinned: bool) -> None:
    path = runs.run_dir(name)
    if path is None:
        return
    if pinned:
        _act("unpin", lambda: jobs.unpin_class_run(runs.runs_root(), viewer.current()))
    else:
        _act("pin", lambda: jobs.pin_class_run(runs.runs_root(), path, viewer.current()))


def manage_run(summary: runs.RunSummary) -> None:
    """Rename, private and delete for its owner (and the operator); who it belongs to otherwise."""
    name = summary.name
    me = viewer.current()
    if me.operator:
        pinned = jobs.class_run(runs.runs_root()) == name
        st.button(
            "Unpin the class run" if pinned else "Pin as the class run",
            key=state.scoped(state.MANAGE_PIN, name),
            icon=":material/push_pin:",
            on_click=_toggle_pin,
            args=(name, pinned),
            disabled=summary.private and not pinned,
            help="The class run is shown at the top of Home for everyone, with links that open it.",
        )
    if not viewer.may_manage(summary.ownership):
        whose = widgets.ownership_label(summary)
        st.caption(
            f"This run is {whose}: you can explore it, but only "
            f"{'the operator' if summary.ownership.from_command_line else 'its owner'} can stop, "
            "rename or delete it."
        )
        return
    with st.expander("Rename, make private or delete this run", icon=":material/edit:"):
        title_key = state.scoped(state.MANAGE_TITLE, name)
        state.default(title_key, summary.title)
        columns = st.columns([4, 1], vertical_alignment="bottom")
        columns[0].text_input("Name", key=title_key, max_chars=120)
        columns[1].button("Rename", key=state.scoped(state.MANAGE_RENAME, name),
                          on_click=_rename, args=(name,))  # fmt: skip
        private_key = state.scoped(state.MANAGE_PRIVATE, name)
        st.session_state[private_key] = summary.private  # what the run says now
        st.toggle(
            "Private: only you (and the operator) can see it",
            key=private_key,
            on_change=_set_private,
            args=(name,),
            disabled=summary.ownership.from_command_line,
            help="A private run is in nobody else's list, link, comparison or export.",
        )
        _delete_controls(summary)


def _delete_controls(summary: runs.RunSummary) -> None:
    name = summary.name
    if summary.study_member:
        st.caption(
            f"This run is {summary.study_member}: deleting it would leave the study incomplete, "
            "so it cannot be deleted here."
        )
        return
    if summary.status.active:
        st.caption("Stop the training first; then the run can be deleted.")
        return
    if state.get(state.MANAGE_ASKING) != name:
        st.button("Delete this run…", key=state.scoped(state.MANAGE_DELETE, name),
                  icon=":material/delete:", on_click=_ask_delete, args=(name,))  # fmt: skip
        return
    st.warning(
        f"Deleting removes this run's folder, its vectors and its scores for good. Type its name "
        f"(**{widgets.escape_markdown(summary.title)}**) to confirm.",
        icon=":material/delete_forever:",
    )
    st.text_input("The run's name", key=state.scoped(state.MANAGE_CONFIRM, name))
    columns = st.columns(2)
    columns[0].button("Delete for good", key=state.scoped(state.MANAGE_DELETE_NOW, name),
                      type="primary", on_click=_delete, args=(name, summary.title))  # fmt: skip
    columns[1].button("Cancel", key=state.scoped(state.MANAGE_CANCEL, name),
                      on_click=_cancel_delete)  # fmt: skip
