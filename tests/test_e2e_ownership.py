"""End to end in headless Chromium: a reload keeps the data and the run, and a second browser
(another cookie jar) can look at the first one's run but not stop it.

Uses the server and helpers of test_e2e_browser (a real `streamlit run app.py`, its runs in a temp
folder); screenshots go to test-artifacts/e2e/ownership-*.png.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from test_e2e_browser import CHROMIUM, Browser, server  # noqa: F401 - server is a fixture

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def browser_cookies(context, wait_seconds: float = 60) -> dict:
    """The context's cookies by name, once the page's script has written ours (or the wait ends)."""
    deadline = time.time() + wait_seconds
    while True:
        cookies = {c["name"]: c for c in context.cookies()}
        if "w2v_browser" in cookies or time.time() > deadline:
            return cookies
        time.sleep(0.5)


def sidebar_text(b: Browser) -> str:
    return b.page.locator("[data-testid='stSidebar']").inner_text()


def test_reload_keeps_data_and_run_and_another_browser_cannot_stop_it(server) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    url, tmp_path = server
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        first = chromium.new_context(viewport={"width": 1400, "height": 900})
        a = Browser(first.new_page(), url)
        a.page.goto(url)
        a.settle()
        a.check()
        cookies = browser_cookies(first)
        assert "w2v_browser" in cookies, cookies  # written by the page on the first visit
        token = cookies["w2v_browser"]["value"]
        assert cookies["w2v_browser"]["sameSite"] == "Strict"

        a.go("1 · Data")  # choose the data (the built-in corpus), then train on it
        a.wait_for_text("First rows")
        a.go("3 · Train")
        epochs = a.page.get_by_role("spinbutton", name="Epochs")
        epochs.fill("200")  # long enough to be still training while the other browser looks
        epochs.press("Enter")
        a.settle()
        a.page.get_by_role("button", name="Start training").click()
        a.wait_for_text("Epochs done")
        a.page.get_by_role("button", name="Stop").wait_for(timeout=120_000)
        a.settle()
        query = parse_qs(urlparse(a.page.url).query)
        assert query.get("data") == ["builtin:lee"] and query.get("run"), a.page.url
        assert token not in a.page.url
        run = query["run"][0]

        a.page.reload()  # F5
        a.settle()
        a.check()
        a.page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
        text = sidebar_text(a)
        assert "Data: Lee news corpus" in text and "none chosen" not in text, text
        assert "Run: Quick demo" in text and "yours" in text, text
        a.shot("ownership-1-after-reload")

        second = chromium.new_context(viewport={"width": 1400, "height": 900})
        b = Browser(second.new_page(), url)
        b.page.goto(a.page.url)  # the link, shared
        b.settle()
        b.check()
        b.wait_for_text("only its owner can stop or resume it")
        assert b.page.get_by_role("button", name="Stop").count() == 0
        assert browser_cookies(second)["w2v_browser"]["value"] != token
        assert "someone else's" in sidebar_text(b)
        b.shot("ownership-2-other-browser")

        tab = Browser(first.new_page(), url)  # a new tab of the first browser
        tab.page.goto(f"{url}/train?run={run}")
        tab.settle()
        tab.page.get_by_role("button", name="Stop").click()
        tab.wait_for_text("Stopped after", timeout=120)
        tab.check()
        chromium.close()
    assert (tmp_path / "runs" / run / "checkpoints").is_dir()
