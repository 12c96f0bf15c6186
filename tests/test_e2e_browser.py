"""End to end in headless Chromium: Data -> Preprocess -> Train (2 epochs) -> Map -> Neighbours ->
Compare epochs -> Export, as a person would click through it.

Starts `streamlit run app.py` on a free port with its runs and caches in a temp folder, fails on any
exception box or "Something went wrong" message, and saves a screenshot of every page under
test-artifacts/e2e/ (look at them: they are the product).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from app_support import REPO_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def server(tmp_path: Path):
    pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        W2V_RUNS_DIR=str(tmp_path / "runs"),
        W2V_CACHE_DIR=str(tmp_path / "cache"),
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the Streamlit server did not start:\n" + (tmp_path / "server.log").read_text())
    yield url, tmp_path
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


class Browser:
    """A page with the waits and checks every step needs."""

    def __init__(self, page, base: str) -> None:
        self.page = page
        self.base = base
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def settle(self, timeout: float = 120) -> None:
        """Wait until the script has finished: no 'running' indicator, no spinner, for a moment."""
        deadline = time.time() + timeout
        quiet = 0
        while time.time() < deadline:
            busy = (
                self.page.locator("[data-testid='stStatusWidget']").count() > 0
                or self.page.locator("[data-testid='stSpinner']").count() > 0
            )
            quiet = 0 if busy else quiet + 1
            if quiet >= 6:
                return
            time.sleep(0.25)
        raise AssertionError(f"the page was still busy after {timeout} s")

    def check(self) -> None:
        exceptions = self.page.locator("[data-testid='stException']")
        assert exceptions.count() == 0, exceptions.first.inner_text()
        text = self.page.locator("[data-testid='stMain']").inner_text()
        assert "Something went wrong" not in text, text[:2000]

    def go(self, link: str) -> None:
        self.page.get_by_role("link", name=link, exact=True).first.click()
        self.page.wait_for_timeout(300)
        self.settle()

    def shot(self, name: str) -> None:
        """Full-height screenshot: Streamlit scrolls inside its main block, so grow the viewport."""
        height = self.page.evaluate(
            "() => document.querySelector(\"[data-testid='stMain']\").scrollHeight"
        )
        self.page.set_viewport_size(
            {"width": 1400, "height": max(900, min(int(height) + 40, 7000))}
        )
        self.page.wait_for_timeout(600)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1400, "height": 900})

    def wait_for_text(self, text: str, timeout: float = 180) -> None:
        try:
            self.page.get_by_text(text).first.wait_for(timeout=timeout * 1000)
        except Exception:
            self.page.screenshot(path=str(ARTIFACTS / "failed-waiting.png"), full_page=True)
            raise


def test_data_to_compare_epochs_in_a_browser(server) -> None:
    from playwright.sync_api import sync_playwright

    url, tmp_path = server
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        b = Browser(chromium.new_page(viewport={"width": 1400, "height": 900}), url)
        b.page.goto(url)
        b.settle()
        b.check()
        b.shot("01-home")

        b.go("1 · Data")
        b.wait_for_text("First rows")
        b.check()
        b.shot("02-data")

        b.go("2 · Preprocess")
        b.page.get_by_role("button", name="Preprocess", exact=True).click()
        b.wait_for_text("Zipf chart")
        b.settle()
        b.check()
        b.shot("03-preprocess")

        b.go("3 · Train")
        epochs = b.page.get_by_role("spinbutton", name="Epochs")
        epochs.fill("2")
        epochs.press("Enter")
        b.settle()
        b.page.get_by_role("button", name="Start training").click()
        b.wait_for_text("Epochs done")
        b.check()
        b.shot("04-train-running")
        b.wait_for_text("Vectors are ready", timeout=240)
        b.settle()
        b.check()
        b.shot("05-train-finished")

        b.go("Map")
        b.page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=240_000)
        b.settle(timeout=240)
        b.check()
        # Click the first word of the map (its pixel position from plotly's own axes).
        point = b.page.evaluate(
            """() => {
              const plot = document.querySelector('.js-plotly-plot');
              const trace = plot._fullData[0], xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis;
              const box = plot.getBoundingClientRect();
              return {x: box.left + xa._offset + xa.d2p(trace.x[0]),
                      y: box.top + ya._offset + ya.d2p(trace.y[0])};
            }"""
        )
        b.page.mouse.click(point["x"], point["y"])
        b.wait_for_text("Nearest neighbours of")
        b.settle()
        b.check()
        b.shot("06-map")

        b.go("Neighbours")
        word = b.page.get_by_role("textbox", name="Word", exact=True)
        word.fill("government")
        word.press("Enter")
        b.settle()
        b.check()
        assert b.page.locator("[data-testid='stDataFrame']").count() >= 1
        b.shot("07-neighbours")

        b.go("Compare epochs")
        b.wait_for_text("Neighbours epoch by epoch")
        b.settle(timeout=240)
        b.check()
        b.shot("08-compare-epochs")

        b.go("Export")
        b.wait_for_text("Embedding Projector")
        b.check()
        b.shot("09-export")
        chromium.close()
    # the run folders (the queue and the spare worker keep dot-folders beside them)
    runs = [p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1 and (runs[0] / "checkpoints" / "epoch_002.json").is_file()
