"""In headless Chromium: a sidebar link clicked while the cursor is still in a text box opens its
page, and the typed text is kept (`w2v_ui.nav_clicks`; without it 6 of 6 such clicks were lost)."""

from __future__ import annotations

import pytest
from test_e2e_browser import CHROMIUM, Browser, server  # noqa: F401 - `server` is a fixture

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_sidebar_click_right_after_typing_opens_the_page(server) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    url, _ = server
    page, box, typed = "3 · Train", "Run name (optional)", "my run"  # a box whose value is kept
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        b = Browser(chromium.new_page(viewport={"width": 1400, "height": 900}), url)
        b.page.goto(url)
        b.settle()
        for attempt, target in enumerate(["Map", "Export", "Home"]):
            b.go(page)
            text = b.page.get_by_role("textbox", name=box, exact=True)
            text.click()
            text.fill(f"{typed} {attempt}")  # no Enter: the box still has the cursor
            b.page.get_by_role("link", name=target, exact=True).first.click()
            b.page.wait_for_timeout(500)
            b.settle()
            heading = b.page.locator("[data-testid='stMain'] h1").first.inner_text()
            assert target.lower() in heading.lower() or target == "Home", heading
            assert (target.lower() in b.page.url) or target == "Home", b.page.url
            b.check()
        b.go(page)  # the last typed text was sent before the page changed
        assert b.page.get_by_role("textbox", name=box, exact=True).input_value() == f"{typed} 2"
        chromium.close()
