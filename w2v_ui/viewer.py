"""Who is looking at this tab: the browser's token (kept in a cookie) and the operator unlock.

The token is a random secret (`w2v_core.ownership.new_token`) kept in the browser as the cookie
`w2v_browser` (SameSite=Strict, Path=/, a long Max-Age), so it survives a reload, a new tab and a
closed tab. Streamlit reads cookies only from the request that opens a tab's connection
(`st.context.cookies`, read-only), and cannot set one; so on a first visit the server makes a token
for the session and a small script (`st.html` with JavaScript) writes it into the cookie, and every
later tab or reload of that browser sends it. The token never goes into a URL (a shared link must
not hand over ownership) and the server keeps only its SHA-256 (`owner_id`) in run folders.

The operator (whoever started the server, e.g. the teacher) unlocks managing every run for this
browser session with the password in `W2V_OPERATOR_PASSWORD` (`unlock`); wrong tries are limited
per browser and for all browsers together (`w2v_core.ownership.PasswordGate`, one per process).

Leaves out: the rules themselves (`w2v_core.ownership`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import streamlit as st

from w2v_core import ownership
from w2v_core.ownership import PasswordGate, Viewer
from w2v_ui import state

COOKIE_NAME = "w2v_browser"
COOKIE_MAX_AGE_SECONDS = (
    400 * 24 * 3600
)  # the longest browsers keep a cookie (Chrome caps at 400 days)


def _request_cookies() -> Mapping[str, str]:
    """The cookies of the request that opened this tab's connection (the tests replace this)."""
    return st.context.cookies


def token() -> str:
    """This browser's token: from the session, else from the cookie, else a new one."""
    known = st.session_state.get(state.BROWSER_TOKEN)
    if ownership.is_token(known):
        return known
    sent = _request_cookies().get(COOKIE_NAME)
    fresh = sent if ownership.is_token(sent) else ownership.new_token()
    st.session_state[state.BROWSER_TOKEN] = fresh
    return fresh


def current() -> Viewer:
    """The viewer of this tab: its browser's owner id, and whether the operator unlocked it."""
    return Viewer.from_token(token(), operator=bool(st.session_state.get(state.OPERATOR)))


def owner_id() -> str:
    """What a run started in this tab records as its owner."""
    return ownership.owner_id(token())


_KEEP_SCRIPT = """<script>
(function () {
  var name = "%(name)s", value = "%(value)s", once = "w2v_browser_reloaded";
  var sent = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; });
  var other = sent.length ? sent[0].slice(name.length + 1) : "";
  if (/^[A-Za-z0-9_-]{43}$/.test(other) && other !== value && !sessionStorage.getItem(once)) {
    sessionStorage.setItem(once, "1");  /* at most once a tab: never a reload loop */
    window.location.reload();  /* another tab set it first: this tab takes the browser's token */
    return;
  }
  document.cookie = name + "=" + value + "; Max-Age=%(age)d; Path=/; SameSite=Strict" +
    (window.location.protocol === "https:" ? "; Secure" : "");
})();
</script>"""


def keep_token_in_browser(where: Any = st) -> None:
    """Write this session's token into the browser's cookie, when the tab's request lacked it.

    Draws nothing visible. When the browser already has another token (a second tab opened before
    the first one wrote its own), the page reloads and takes that one, so a browser has one token.
    """
    value = token()
    if _request_cookies().get(COOKIE_NAME) == value:
        return
    assert ownership.is_token(value)  # letters, digits, - and _: safe inside the script's string
    script = _KEEP_SCRIPT % {"name": COOKIE_NAME, "value": value, "age": COOKIE_MAX_AGE_SECONDS}
    where.html(script, unsafe_allow_javascript=True, width=1)


# ---- the operator ---------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _gate(password_fingerprint: str | None) -> PasswordGate:
    """One gate per server process and password (its wrong-try counts are shared by every tab)."""
    del password_fingerprint  # the cache key: a new password (tests) gets a fresh gate
    return PasswordGate(ownership.operator_password())


def gate() -> PasswordGate:
    password = ownership.operator_password()
    fingerprint = hashlib.sha256(password.encode()).hexdigest() if password else None
    return _gate(fingerprint)


def operator_enabled() -> bool:
    return gate().enabled


def unlock(password: str) -> bool:
    """Unlock the operator for this session if `password` is right (`AccessError` while locked)."""
    right = gate().check(password, owner_id())
    if right:
        st.session_state[state.OPERATOR] = True
    return right


def lock() -> None:
    st.session_state[state.OPERATOR] = False


def may_manage(info: Mapping[str, Any] | ownership.Ownership) -> bool:
    return ownership.may_manage(info, current())


def may_view(info: Mapping[str, Any] | ownership.Ownership) -> bool:
    return ownership.may_view(info, current())
