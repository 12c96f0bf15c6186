"""A page link clicked right after typing in a text box opens its page (a workaround in the browser).

Streamlit (1.67) sends a text box's new value when the box loses the focus. Clicking a sidebar page
link while the cursor is still in the box makes the browser send two rerun requests at once: first
the page change (the link's click), then the box's value, which names the page the box is on. The
server folds the second into the first and keeps the newer request's page, so the click is lost:
8 of 9 tries in the issue, 6 of 6 in headless Chromium here, in a five-line app with `st.navigation`
as well (tests/test_e2e_nav_clicks.py checks the app). The same coalescing is
behind streamlit/streamlit#10169 ("Pending changes to a widget are not submitted if interrupted by
`st.rerun()` or `st.switch_page()`"), open and confirmed.

The workaround holds such a click, lets the box's value reach the server and its rerun finish (the
app remembers widget values at the end of a run), and then clicks the link again, so the page change
comes last: the new page opens and the typed value is kept.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

# Links that switch pages: the navigation in the sidebar and st.page_link in a page.
_LINKS = '[data-testid="stSidebarNavLink"], [data-testid="stPageLink-NavLink"]'
_HOLD_MS = 300  # the box's value is sent within ~10 ms of the click and its run starts soon after
_WAIT_MS = 5000  # at most this long for that run to finish, then the page changes anyway

_SCRIPT = """<script>
(function () {
  if (window.w2vLinkAfterTyping) return;  /* once a tab: the listeners outlive this element */
  window.w2vLinkAfterTyping = true;
  var links = '%(links)s', typing = null, sent = null;  /* sent: the box's value the app has */
  function isTextBox(el) {
    return el && (el.tagName === "TEXTAREA" ||
      (el.tagName === "INPUT" && !/^(checkbox|radio|button|submit|file|range)$/.test(el.type)));
  }
  document.addEventListener("focusin", function (event) {
    if (isTextBox(event.target)) sent = event.target.value;
  }, true);
  document.addEventListener("keydown", function (event) {  /* Enter sends the value */
    if (event.key === "Enter" && isTextBox(event.target)) sent = event.target.value;
  }, true);
  document.addEventListener("pointerdown", function (event) {
    var link = event.target.closest ? event.target.closest(links) : null, box = document.activeElement;
    typing = link && isTextBox(box) && box.value !== sent ? link : null;
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(links) : null;
    if (!link || link !== typing) return;
    typing = null;  /* the click below passes */
    event.preventDefault();
    event.stopPropagation();
    var app = document.querySelector('[data-testid="stApp"]'), done = false, held = false;
    var ran = false;  /* the run the box's value started has begun */
    function go() { if (!done) { done = true; watch.disconnect(); link.click(); } }
    function running() { return !!app && app.getAttribute("data-test-script-state") === "running"; }
    function check() { if (running()) ran = true; else if (held && ran) go(); }
    /* wait for the box's run to start and end, at least %(hold)d ms and at most %(wait)d ms */
    var watch = new MutationObserver(check);
    if (app) watch.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
    check();
    setTimeout(function () { held = true; check(); }, %(hold)d);
    setTimeout(go, app ? %(wait)d : %(hold)d);
  }, true);
})();
</script>"""


def keep_link_clicks_after_typing(where: Any = st) -> None:
    """Install (once a tab) the script that holds a page-link click made while typing in a box."""
    script = _SCRIPT % {"links": _LINKS, "hold": _HOLD_MS, "wait": _WAIT_MS}
    where.html(script, unsafe_allow_javascript=True, width=1)
