"""A class on one server: N sessions navigating every page while 2 trainings run (issue 9).

On 127.0.0.1 only. Starts the app (`streamlit run app.py`, fresh runs and cache folders, the UMAP
warm-up on as on a real server), trains one short run to explore (the Quick demo preset on the Lee
corpus), starts 2 long trainings through the core, then opens N sessions, arriving one a second
(`--ramp`), that land on Home with `?run=` of the finished run (or, with `--watching SHARE`, that
share of them on a run still training, as students watching their own runs: its Train page polls
every second and its explore pages show its newest epoch) and then click through every page in the
sidebar in a loop, with a random think time of 1-3 s between clicks. The 2 trainings:
W2V_MAX_TRAININGS=2 lets the training queue run both at once (on 2 cores it runs one by default).

Two kinds of session. A browser session is a separate context of one headless Chromium. A protocol
session (`ProtocolSession`) speaks Streamlit's websocket protocol as the frontend does (a
`rerun_script` with the page's hash, the query string the app writes, the fragment reruns the
server asks for) without rendering anything: in a class each browser runs on its student's own
computer, while here Chromium would share the server's 2 cores (N browser contexts take 1.3 cores,
about 10 times the server, measured). `--browsers K` makes K of the N sessions real browsers (what
a person sees) and the others protocol sessions; by default all N are browsers.

Per page switch in a browser: seconds from the click until the new page's title (h1) is drawn AND
the script has finished (stApp's script state "notRunning" and no spinner for 0.3 s; the 0.3 s is
not counted); in a protocol session: from sending the rerun until the server's `script_finished`.
Errors: an exception box (`stException`) or element, an error box (`stAlertContentError`, an error
alert), a switch or first page that timed out. "Served": a session's first page (Home, finished)
within 10 s.

Also over the measured window: the server's CPU, the 2 workers' CPU and words/s (their progress
records; against a window with no session open), the CPU of Chromium and the Playwright driver
(the browsers share the machine's cores with the server: read the split), and the machine's busy
fraction and load average. With `--profile`, py-spy samples the server during the window and the
script prints where its time went (own frames and cumulative frames, by share of samples).

Usage::

    python benchmarks/bench_load.py                          # N = 10, then 20, all in Chromium
    python benchmarks/bench_load.py --browsers 2 --watching 0.5 --profile   # as in BENCHMARKS.md

Prints Markdown tables and writes benchmarks/results/load.json (git-ignored); record the figures
with date, hardware and load in docs/BENCHMARKS.md. Timings are not tests: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "load.json"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SERVED_WITHIN_S = 10.0  # issue 9: every session served within 10 s
FIRST_PAGE_TIMEOUT_S = 60.0
SWITCH_TIMEOUT_S = 30.0
QUIET_S = 0.3  # "script finished": no running indicator / spinner for this long (not counted)

# (sidebar link, the page's h1): app.py's st.Page titles, each page's widgets.page_intro title
PAGES = [
    ("Home", "Word2vec Studio"),
    ("1 · Data", "1 · Data"),
    ("2 · Preprocess", "2 · Preprocess"),
    ("3 · Train", "3 · Train"),
    ("Map", "Map"),
    ("Neighbours", "Neighbours"),
    ("Compare epochs", "Compare epochs"),
    ("Evaluate", "Evaluate"),
    ("Stability", "Stability"),
    ("Methods card", "Methods card"),
    ("Export", "Export"),
]

# The script's state is read from stApp's data-test-script-state ("running", "notRunning", ...):
# the running indicator (stStatusWidget) appears only after 500 ms of running, so a page whose h1
# is drawn early would look finished for the first 0.5 s of a longer run.
# Runs in the page: resolves once `title` is an h1 and nothing has run for `quiet` ms, with how
# long ago the quiet began (so the caller can subtract it), or after `timeout` ms with what it saw.
SETTLED_JS = """
([title, quiet, timeout]) => new Promise((resolve) => {
  const started = performance.now();
  let quietSince = null;
  const errors = () => [...document.querySelectorAll(
      "[data-testid='stException'], [data-testid='stAlertContentError']")]
    .map((e) => e.innerText.slice(0, 200));
  const tick = () => {
    const now = performance.now();
    const titled = [...document.querySelectorAll("h1")].some((h) => h.innerText.trim() === title);
    const app = document.querySelector("[data-testid='stApp']");
    const busy = (app === null || app.getAttribute("data-test-script-state") !== "notRunning"
      || document.querySelector("[data-testid='stSpinner']") !== null);
    if (titled && !busy) {
      if (quietSince === null) quietSince = now;
      else if (now - quietSince >= quiet) {
        resolve({ok: true, quietFor: (now - quietSince) / 1000, errors: errors()});
        return;
      }
    } else quietSince = null;
    if (now - started > timeout) {
      resolve({ok: false, titled: titled, busy: busy, errors: errors()});
      return;
    }
    setTimeout(tick, 50);
  };
  tick();
})
"""


# ---- processes ------------------------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0 when it is gone."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def descendants(root: int) -> dict[int, str]:
    """Every live process under `root`: pid -> command name."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    names = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children[int(fields[1])].append(int(entry.name))
            try:
                names[int(entry.name)] = (entry / "comm").read_text().strip()
            except OSError:
                names[int(entry.name)] = "?"
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = names.get(child, "?")
            todo.append(child)
    return found


def machine_busy() -> tuple[float, float]:
    """(busy jiffies, all jiffies) of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuWindow:
    """CPU seconds of the server, the workers, the browsers (Chromium and the Playwright driver),
    this script and the whole machine between `start()` and `stop()`."""

    def __init__(self, server_pid: int, worker_pids: list[int]):
        self.server_pid, self.worker_pids = server_pid, worker_pids

    def _browser_pids(self) -> dict[int, str]:
        skip = {self.server_pid, *self.worker_pids}
        return {p: n for p, n in descendants(os.getpid()).items() if p not in skip
                and n != "py-spy" and self.server_pid not in _ancestors(p)}  # fmt: skip

    def _snapshot(self) -> dict[str, object]:
        browsers = self._browser_pids()
        return {
            "time": time.time(),
            "server": cpu_seconds(self.server_pid),
            "workers": [cpu_seconds(p) for p in self.worker_pids],
            "browsers": {p: (n, cpu_seconds(p)) for p, n in browsers.items()},
            "driver_script": cpu_seconds(os.getpid()),
            "machine": machine_busy(),
        }

    def start(self) -> None:
        self.begin = self._snapshot()

    def stop(self) -> dict[str, float]:
        end, begin = self._snapshot(), self.begin
        seconds = end["time"] - begin["time"]
        chromium = node = 0.0
        for pid, (name, used) in end["browsers"].items():
            before = begin["browsers"].get(pid, (name, 0.0))[1]
            if name.startswith("node"):
                node += used - before
            else:
                chromium += used - before
        busy = end["machine"][0] - begin["machine"][0]
        total = end["machine"][1] - begin["machine"][1]
        return {
            "window_s": seconds,
            "server_cores": (end["server"] - begin["server"]) / seconds,
            "workers_cores": [(e - b) / seconds for e, b in zip(end["workers"], begin["workers"])],
            "chromium_cores": chromium / seconds,
            "playwright_node_cores": node / seconds,
            "this_script_cores": (end["driver_script"] - begin["driver_script"]) / seconds,
            "machine_busy_cores": os.cpu_count() * busy / total if total else 0.0,
        }


def _ancestors(pid: int) -> set[int]:
    found = set()
    while pid > 1 and (fields := _stat_fields(pid)):
        pid = int(fields[1])
        found.add(pid)
    return found


# ---- the server and its runs ----------------------------------------------------------------------
def prepare_lee():
    from w2v_core.preprocess import prepare_corpus
    from w2v_core.preprocess.config import PreprocessConfig
    from w2v_core.sources.spec import DataSpec

    return prepare_corpus(DataSpec(kind="builtin", key="lee", label="Lee"), PreprocessConfig())


def start_run(runs_root: Path, title: str, epochs: int | None, threads: int) -> Path:
    """A Quick demo run on the Lee corpus trained by a background worker (as bench_polling)."""
    from w2v_core import jobs
    from w2v_ui.train_settings import preset_config

    result = prepare_lee()
    config = preset_config("quick", result.corpus.n_tokens, len(result.vocab))
    changes = {"threads": threads} | ({"epochs": epochs} if epochs else {})
    config = type(config)(**{**config.to_dict(), **changes})
    run = jobs.create_and_start(runs_root, title, config, result.vocab, result.corpus,
                                result.data_description())  # fmt: skip
    return run.path


def wait_finished(run_dir: Path, timeout: float = 180) -> float:
    from w2v_core.run_folder import RunFolder

    start = time.time()
    while time.time() - start < timeout:
        status = RunFolder.open(run_dir).info().get("status")
        if status == "finished":
            return time.time() - start
        if status == "failed":
            raise RuntimeError(f"the run to explore failed: {run_dir}")
        time.sleep(0.5)
    raise TimeoutError("the run to explore did not finish")


def worker_pid(run_dir: Path, timeout: float = 60) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            return int((run_dir / "worker.pid").read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.2)
    raise TimeoutError(f"no worker for {run_dir}")


def words_per_second(run_dir: Path, since: float, until: float) -> float | None:
    """The mean of a worker's progress reports between two Unix times."""
    from w2v_core.run_folder import RunFolder

    rates = [r.words_per_second for r in RunFolder.open(run_dir).metrics().progress
             if since <= r.time <= until and r.words_per_second]  # fmt: skip
    return sum(rates) / len(rates) if rates else None


# ---- the sessions ---------------------------------------------------------------------------------
@dataclass
class SessionLog:
    index: int
    first_page_s: float | None = None  # None: not served within FIRST_PAGE_TIMEOUT_S
    switches: list[tuple[str, float]] = field(default_factory=list)  # (page, seconds)
    errors: list[str] = field(default_factory=list)
    kind: str = "browser"  # or "protocol" (a ProtocolSession)
    fragment_reruns: int = 0


async def _settled(page, title: str, timeout: float) -> dict:
    return await asyncio.wait_for(
        page.evaluate(SETTLED_JS, [title, QUIET_S * 1000, timeout * 1000]), timeout + 10
    )


async def run_session(
    context, url: str, log: SessionLog, until: float, seed: int, delay: float
) -> None:
    """One person: after `delay` seconds open the app on the run, then click through every page
    until `until`."""
    rng = random.Random(seed)
    await asyncio.sleep(delay)
    page = await context.new_page()
    start = time.perf_counter()
    while log.first_page_s is None:  # a person who sees nothing reloads, until the window ends
        if time.perf_counter() > until:
            return
        try:
            # "commit": the clock of the wait below covers loading the scripts too
            await page.goto(url, wait_until="commit", timeout=FIRST_PAGE_TIMEOUT_S * 1000)
            seen = await _settled(page, "Word2vec Studio", FIRST_PAGE_TIMEOUT_S)
        except Exception as error:  # a timeout or a closed page: this person got nothing
            log.errors.append(f"first page: {type(error).__name__}: {str(error)[:80]}")
            continue
        if not seen["ok"]:
            log.errors.append(f"first page not drawn in {FIRST_PAGE_TIMEOUT_S:.0f} s")
            continue
        log.first_page_s = time.perf_counter() - start - seen["quietFor"]
    log.errors += [f"Home: {text}" for text in seen["errors"]]
    position = rng.randrange(len(PAGES))  # people are not all on the same page
    while time.perf_counter() < until:
        await asyncio.sleep(rng.uniform(1.0, 3.0))  # reading the page
        position = (position + 1) % len(PAGES)
        link, title = PAGES[position]
        start = time.perf_counter()
        try:
            await page.get_by_role("link", name=link, exact=True).first.click(
                timeout=SWITCH_TIMEOUT_S * 1000
            )
            seen = await _settled(page, title, SWITCH_TIMEOUT_S)
        except Exception as error:
            log.errors.append(f"{link}: {type(error).__name__}: {str(error)[:120]}")
            continue
        if not seen["ok"]:
            log.errors.append(f"{link}: not settled in {SWITCH_TIMEOUT_S:.0f} s "
                              f"(title drawn {seen['titled']}, busy {seen['busy']})")  # fmt: skip
            continue
        log.switches.append((link, time.perf_counter() - start - seen["quietFor"]))
        log.errors += [f"{link}: {text}" for text in seen["errors"]]


class ProtocolSession:
    """One person's tab without a browser: a websocket client that speaks Streamlit's protocol
    (`/_stcore/stream`, protobuf BackMsg / ForwardMsg) as the frontend does, so that the server
    carries N sessions while the browsers' rendering (on the students' own computers in a class)
    is left out of the 2 cores. A page switch is a `rerun_script` with the page's hash, timed until
    the server's `script_finished`; it keeps the query string the app writes (`page_info_changed`)
    and runs the fragments the server asks to rerun (`auto_rerun`) as the frontend does. Errors:
    an exception element, an error box, a script that did not finish."""

    def __init__(self, url: str, query_string: str, log: SessionLog):
        self.ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.origin = url.rstrip("/")
        self.query_string, self.log = query_string, log
        self.pages: dict[str, str] = {}  # page name -> script hash
        self.page_hash = ""
        self._finished: asyncio.Future | None = None
        self._fragment_finished: asyncio.Future | None = None
        self._auto_reruns: list[asyncio.Task] = []
        self.reruns = self.fragment_reruns = 0

    async def __aenter__(self) -> ProtocolSession:
        import websockets

        self.ws = await websockets.connect(
            self.ws_url, subprotocols=["streamlit"], origin=self.origin, max_size=None,
            open_timeout=FIRST_PAGE_TIMEOUT_S,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        self._stop_auto_reruns()
        self._reader.cancel()
        await self.ws.close()

    def _send(self, fragment_id: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, True
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-GB"
        state.context_info.url = f"{self.origin}/?{self.query_string}"
        return self.ws.send(message.SerializeToString())

    async def _read(self) -> None:
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        finished = ForwardMsg.ScriptFinishedStatus
        async for raw in self.ws:
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in message.navigation.app_pages}
                self.page_hash = message.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query_string = message.page_info_changed.query_string
            elif kind == "auto_rerun":
                rerun = message.auto_rerun
                self._auto_reruns.append(
                    asyncio.create_task(self._auto_rerun(rerun.interval, rerun.fragment_id))
                )
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "exception":
                    self.log.errors.append(f"exception: {element.exception.message[:160]}")
                elif element.WhichOneof("type") == "alert" and (
                    element.alert.format == Alert.Format.ERROR
                ):
                    self.log.errors.append(f"error box: {element.alert.body[:160]}")
            elif kind == "script_finished":
                status = message.script_finished
                target = (
                    self._fragment_finished
                    if (status == finished.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
                    else self._finished
                )
                if status == finished.FINISHED_WITH_COMPILE_ERROR:
                    self.log.errors.append("the script did not compile")
                if (
                    target is not None
                    and not target.done()
                    and (status != finished.FINISHED_EARLY_FOR_RERUN)
                ):
                    target.set_result(time.perf_counter())

    async def _auto_rerun(self, interval: float, fragment_id: str) -> None:
        """A fragment's `run_every`: the frontend asks for its rerun every `interval` seconds
        while the page is open (skipped while a rerun of this tab is still going)."""
        while True:
            await asyncio.sleep(interval)
            if self._finished is not None and not self._finished.done():
                continue
            self._fragment_finished = asyncio.get_running_loop().create_future()
            await self._send(fragment_id)
            self.fragment_reruns += 1
            try:
                await asyncio.wait_for(self._fragment_finished, SWITCH_TIMEOUT_S)
            except TimeoutError:
                self.log.errors.append(f"a fragment rerun did not finish in {SWITCH_TIMEOUT_S} s")

    def _stop_auto_reruns(self) -> None:
        for task in self._auto_reruns:
            task.cancel()
        self._auto_reruns = []

    async def open_page(self, name: str | None, timeout: float) -> float | None:
        """Seconds until the server finished the page's script (None: it did not in time)."""
        self._stop_auto_reruns()  # the frontend drops the old page's timers
        if name is not None:
            self.page_hash = self.pages[name]
        self._finished = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        await self._send()
        self.reruns += 1
        try:
            return await asyncio.wait_for(self._finished, timeout) - start
        except TimeoutError:
            return None


async def run_protocol_session(
    url: str, query_string: str, log: SessionLog, until: float, seed: int, delay: float
) -> None:
    """`run_session` for a ProtocolSession: the same arrival, think times and page order."""
    rng = random.Random(seed)
    await asyncio.sleep(delay)
    start = time.perf_counter()
    try:
        async with ProtocolSession(url, query_string, log) as tab:
            first = await tab.open_page(None, FIRST_PAGE_TIMEOUT_S)
            if first is None:
                log.errors.append(f"first page not finished in {FIRST_PAGE_TIMEOUT_S:.0f} s")
                return
            log.first_page_s = time.perf_counter() - start
            position = rng.randrange(len(PAGES))
            while time.perf_counter() < until:
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                position = (position + 1) % len(PAGES)
                link = PAGES[position][0]
                seconds = await tab.open_page(link, SWITCH_TIMEOUT_S)
                if seconds is None:
                    log.errors.append(f"{link}: not finished in {SWITCH_TIMEOUT_S:.0f} s")
                else:
                    log.switches.append((link, seconds))
            log.fragment_reruns = tab.fragment_reruns
    except Exception as error:  # a refused or dropped connection
        log.errors.append(f"connection: {type(error).__name__}: {str(error)[:120]}")


def _base(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def session_links(
    url: str, explore: str, training: list[Path], sessions: int, watching: int
) -> list[str]:
    """Each session's first link: `watching` of them (spread over the arrivals) open one of the
    runs still training, as a student watching their own run; the others the finished run."""
    watchers = watcher_indexes(sessions, watching) if training else set()
    return [
        f"{url}/?run={training[i % len(training)].name}"
        if i in watchers
        else f"{url}/?run={explore}"
        for i in range(sessions)
    ]


def spread(sessions: int, chosen: int | None, offset: int = 0) -> set[int]:
    """`chosen` of the sessions' arrival indexes, spread evenly (None: all), shifted by
    `offset`."""
    if chosen is None or chosen >= sessions:
        return set(range(sessions))
    return {(j * sessions // chosen + offset) % sessions for j in range(chosen)}


def browser_indexes(sessions: int, browsers: int | None, watching: int = 0) -> set[int]:
    """Which sessions are real browsers: spread over the arrivals and, with few browsers, taking
    turns between sessions that watch a training and sessions that explore the finished run."""
    if browsers is None or 2 * browsers > sessions or not watching:
        return spread(sessions, browsers)
    watchers = watcher_indexes(sessions, watching)
    picked = sorted(spread(sessions, browsers))
    return {i if (n % 2 == 0) == (i not in watchers) else (i + 1) % sessions
            for n, i in enumerate(picked)}  # fmt: skip


def watcher_indexes(sessions: int, watching: int) -> set[int]:
    return spread(sessions, watching, offset=1) if watching else set()


async def drive(
    urls: list[str],
    seconds: float,
    seed: int,
    window: CpuWindow,
    ramp: float,
    browsers: int | None = None,
    watching: int = 0,
) -> tuple[list, float, float, dict]:
    """One person per link in `urls` (the app's address with `?run=`), one arriving every `ramp`
    seconds, clicking until `seconds` after the first arrived, `browsers` of them in headless Chromium and the others ProtocolSessions (None:
    all in Chromium); returns the logs, the Unix times the window began and ended and the CPU used
    meanwhile (taken before the browser closes, so its processes are still there to read)."""
    from urllib.parse import urlsplit

    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    sessions = len(urls)
    in_browser = browser_indexes(sessions, browsers, watching)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
        try:
            viewport = {"width": 1400, "height": 1000}
            contexts = {i: await browser.new_context(viewport=viewport) for i in in_browser}
            logs = [SessionLog(i, kind="browser" if i in in_browser else "protocol")
                    for i in range(sessions)]  # fmt: skip
            window.start()
            begin = time.time()
            until = time.perf_counter() + seconds
            tasks = [
                run_session(contexts[log.index], urls[log.index], log, until, seed + log.index,
                            ramp * log.index)
                if log.kind == "browser" else
                run_protocol_session(_base(urls[log.index]), urlsplit(urls[log.index]).query, log,
                                     until, seed + log.index, ramp * log.index)
                for log in logs
            ]  # fmt: skip
            await asyncio.wait_for(asyncio.gather(*tasks), seconds + FIRST_PAGE_TIMEOUT_S + 60)
            end = time.time()
            return logs, begin, end, window.stop()
        finally:
            await browser.close()


def wait_server_quiet(
    pid: int, below: float = 0.25, seconds: float = 4, timeout: float = 240
) -> float:
    """Until the server used under `below` cores over `seconds` (the start-up warm-up has
    compiled UMAP); returns the seconds waited."""
    start = time.time()
    while time.time() - start < timeout:
        used = cpu_seconds(pid)
        time.sleep(seconds)
        if (cpu_seconds(pid) - used) / seconds < below:
            break
    return time.time() - start


def open_home(url: str) -> float:
    """The first tab after the server start (starts the server's warm-up); seconds to Home."""

    async def visit() -> float:
        from playwright.async_api import async_playwright

        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
            try:
                page = await browser.new_page()
                start = time.perf_counter()
                await page.goto(url, timeout=120_000)
                seen = await _settled(page, "Word2vec Studio", 120)
                return time.perf_counter() - start - seen.get("quietFor", 0)
            finally:
                await browser.close()

    return asyncio.run(visit())


def warm_explore_pages(url: str) -> dict[str, float]:
    """One tab visits every page once (the teacher checking the run): the first map and the first
    load of the vectors are computed here, once for everyone (the caches are shared)."""

    async def visit() -> dict[str, float]:
        from playwright.async_api import async_playwright

        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROME_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                await page.goto(url, timeout=120_000)
                await _settled(page, "Word2vec Studio", 120)
                times = {}
                for link, title in PAGES[1:] + PAGES[:1]:
                    start = time.perf_counter()
                    await page.get_by_role("link", name=link, exact=True).first.click()
                    seen = await _settled(page, title, 120)
                    times[link] = time.perf_counter() - start - seen.get("quietFor", 0)
                    if seen["errors"]:
                        times[link + " errors"] = seen["errors"]
                return times
            finally:
                await browser.close()

    return asyncio.run(visit())


# ---- the profile ----------------------------------------------------------------------------------
# Leaf frames of a thread that waits (py-spy's --nonblocking sampling does not always tell them
# from running ones): left out of the shares.
IDLE_LEAVES = (
    "Condition.wait ", "EpollSelector.select ", "PollingPathWatcher._schedule.<locals>.task ",
    "_worker (concurrent/futures/thread.py", "Event.wait ", "select ", "sleep ",
)  # fmt: skip


OUR_CODE = ("(w2v_core/", "(w2v_ui/", "(app.py:") + tuple(
    f"({page.name}:" for page in (REPO_ROOT / "app_pages").glob("*.py")
)


def start_profile(server_pid: int, seconds: float, path: Path) -> subprocess.Popen:
    pyspy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [str(pyspy), "record", "-p", str(server_pid), "-f", "raw", "-o", str(path), "-d",
         str(int(seconds)), "-r", "50", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def summarise_profile(path: Path, top: int = 25) -> dict[str, list]:
    """From py-spy's collapsed stacks: the share of samples in each frame (self) and under it
    (cumulative), and which threads the samples came from."""
    own, under, threads = collections.Counter(), collections.Counter(), collections.Counter()
    ours = collections.Counter()  # the innermost frame of this project's code, else the thread
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(frames[-1].startswith(leaf) for leaf in IDLE_LEAVES):
            idle += int(count)
            continue
        total += int(count)
        threads[frames[0]] += int(count)
        mine = [f for f in frames if any(part in f for part in OUR_CODE)]
        where = mine[-1] if mine else f"(Streamlit / server) {frames[min(1, len(frames) - 1)]}"
        ours[re.sub(r":\d+\)$", ")", where)] += int(count)  # by function, not by line
        own[frames[-1]] += int(count)
        for frame in set(frames[1:]):
            under[frame] += int(count)

    def share(counter: collections.Counter) -> list:
        return [(f"{100 * n / total:.1f}%", name) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "idle_samples_left_out": idle,
        "threads": share(threads),
        "ours": share(ours),
        "self": share(own),
        "cumulative": share(under),
    }


# ---- the whole thing ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarise(logs: list[SessionLog]) -> dict[str, object]:
    times = [t for log in logs for _, t in log.switches]
    by_page = collections.defaultdict(list)
    for log in logs:
        for page, t in log.switches:
            by_page[page].append(t)
    firsts = [log.first_page_s for log in logs]
    return {
        "sessions": len(logs),
        "switches": len(times),
        "errors": sum(len(log.errors) for log in logs),
        "error_texts": sorted({e for log in logs for e in log.errors})[:30],
        "not_served_within_10s": sum(1 for t in firsts if t is None or t > SERVED_WITHIN_S),
        "first_page_max_s": max((t for t in firsts if t is not None), default=None),
        "first_page_median_s": statistics.median(t for t in firsts if t is not None)
        if any(t is not None for t in firsts)
        else None,
        "switch_p50_s": percentile(times, 0.5) if times else None,
        "switch_p95_s": percentile(times, 0.95) if times else None,
        "switch_max_s": max(times) if times else None,
        "by_page_p50_p95_max_s": {
            page: (percentile(ts, 0.5), percentile(ts, 0.95), max(ts), len(ts))
            for page, ts in sorted(by_page.items())
        },
        "switch_times_s": [round(t, 3) for t in times],
    }


def measure(args, folder: Path) -> dict[str, object]:
    import bench_app

    from w2v_core import jobs

    results: dict[str, object] = {"load_average_start": os.getloadavg()}
    server, url = bench_app._start_server(folder)
    runs_root = folder / "runs"
    long_runs: list[Path] = []
    try:
        results["first_home_after_start_s"] = open_home(url)
        explore = start_run(runs_root, "Explore me", epochs=args.explore_epochs, threads=2)
        results["explore_run_training_s"] = wait_finished(explore)
        results["explore_run"] = explore.name
        long_runs = [start_run(runs_root, f"Long run {i + 1}", epochs=5000, threads=1)
                     for i in range(args.trainings)]  # fmt: skip
        workers = [worker_pid(run) for run in long_runs]
        results["warm_visit_s"] = warm_explore_pages(f"{url}/?run={explore.name}")
        results["waited_for_quiet_server_s"] = wait_server_quiet(server.pid)
        # the 2 workers alone (no session open): their words/s to compare with
        quiet = CpuWindow(server.pid, workers)
        quiet.start()
        begin = time.time()
        time.sleep(args.baseline_seconds)
        results["no_sessions"] = quiet.stop() | {
            "workers_words_per_s": [words_per_second(r, begin, time.time()) for r in long_runs]
        }
        for n in args.sessions:
            window = CpuWindow(server.pid, workers)
            profile_path = folder / f"profile-{n}.txt"
            profiler = None
            load_before = os.getloadavg()
            if args.profile:  # the sessions' first pages and their clicking
                profiler = start_profile(server.pid, args.seconds + 120, profile_path)
            logs, begin, end, cpu = asyncio.run(
                drive(session_links(url, explore.name, long_runs, n, round(n * args.watching)),
                      args.seconds, args.seed, window, args.ramp, args.browsers,
                      round(n * args.watching))
            )  # fmt: skip
            row = summarise(logs) | cpu
            for kind in ("browser", "protocol"):
                row[f"{kind}_sessions"] = summarise([log for log in logs if log.kind == kind])
            row["fragment_reruns"] = sum(log.fragment_reruns for log in logs)
            served = row["switches"] + sum(1 for log in logs if log.first_page_s is not None)
            row["server_cpu_per_page_s"] = cpu["server_cores"] * cpu["window_s"] / max(1, served)
            row["checkpoints_saved"] = sum(
                len(list((run / "checkpoints").glob("epoch_*.json"))) for run in long_runs
            )
            row["load_average_before"] = load_before
            row["load_average_after"] = os.getloadavg()
            row["workers_words_per_s"] = [words_per_second(r, begin, end) for r in long_runs]
            if profiler is not None:  # py-spy writes its file when interrupted
                profiler.send_signal(signal.SIGINT)
                try:
                    profiler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    profiler.kill()
                if profile_path.exists():
                    row["profile"] = summarise_profile(profile_path)
                    shutil.copy(profile_path, RESULTS.parent / f"load-profile-{n}.txt")
            results[f"sessions_{n}"] = row
            print(f"N={n} done: p95 {row['switch_p95_s']}, errors {row['errors']}", file=sys.stderr)
    finally:
        for run in long_runs:
            jobs.request_stop(run)
        bench_app._stop_workers(runs_root)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return results


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list) and value and all(isinstance(v, float) for v in value):
        return ", ".join(f"{v:,.0f}" if v > 100 else f"{v:.2f}" for v in value)
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--seconds", type=float, default=150.0, help="navigation window per N")
    parser.add_argument(
        "--ramp",
        type=float,
        default=1.0,
        help="seconds between two sessions' arrivals (the browsers share the server's cores: "
        "twenty fresh tabs at once spend tens of seconds of Chromium CPU loading the app)",
    )
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--explore-epochs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="py-spy the server in the window")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trainings", type=int, default=2, help="long trainings running")
    parser.add_argument(
        "--watching",
        type=float,
        default=0.0,
        help="the share of the N sessions that open a run that is training (its Train page polls "
        "every second, its explore pages show its newest epoch); the others open the finished run",
    )
    parser.add_argument(
        "--browsers",
        type=int,
        default=None,
        help="how many of the N sessions are headless Chromium tabs; the others speak Streamlit's "
        "protocol without rendering (ProtocolSession), as if their browsers ran on other "
        "computers (default: all N in Chromium)",
    )
    args = parser.parse_args()
    os.environ.setdefault("W2V_WARM_UP", "1")  # a real server compiles UMAP at start
    # The training queue runs half the cores' worth of trainings at once (1 here) unless told
    # more: the server and this script (which starts the runs) both read it.
    os.environ["W2V_MAX_TRAININGS"] = str(args.trainings)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "cores": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="w2v-load-", ignore_cleanup_errors=True) as folder:
        results.update(measure(args, Path(folder)))
    results["date_utc_end"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    keys = ["sessions", "switches", "errors", "not_served_within_10s", "first_page_median_s",
            "first_page_max_s", "switch_p50_s", "switch_p95_s", "switch_max_s", "server_cores", "server_cpu_per_page_s",
            "checkpoints_saved",
            "workers_cores", "workers_words_per_s", "chromium_cores", "playwright_node_cores",
            "this_script_cores", "machine_busy_cores", "load_average_before",
            "load_average_after"]  # fmt: skip
    for key in ("first_home_after_start_s", "explore_run_training_s", "waited_for_quiet_server_s"):
        print(f"{key}: {results.get(key, 0):.1f}")
    print(
        "warm visit (one tab, every page once):",
        {k: _fmt(v) for k, v in results["warm_visit_s"].items()},
    )
    columns = ["no_sessions"] + [f"sessions_{n}" for n in args.sessions]
    print("| measure | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for key in keys:
        print(f"| {key} | " + " | ".join(_fmt(results[c].get(key, "")) for c in columns) + " |")
    kind_keys = ["sessions", "switches", "errors", "not_served_within_10s", "first_page_median_s",
                 "first_page_max_s", "switch_p50_s", "switch_p95_s", "switch_max_s"]  # fmt: skip
    for column in columns[1:]:
        row = results[column]
        print(f"\n{column}: by kind of session (fragment reruns {row['fragment_reruns']})")
        print("| measure | browser | protocol |\n|---|---|---|")
        for key in kind_keys:
            print(f"| {key} | " + " | ".join(
                _fmt(row[f"{kind}_sessions"].get(key, "")) for kind in ("browser", "protocol")
            ) + " |")  # fmt: skip
        print(f"\n{column}: errors {row['error_texts']}")
        for page, (p50, p95, worst, count) in row["by_page_p50_p95_max_s"].items():
            print(f"  {page}: p50 {p50:.2f} p95 {p95:.2f} max {worst:.2f} ({count})")
        if "profile" in row:
            print(
                f"  profile: {row['profile']['samples']} samples, "
                f"{row['profile']['idle_samples_left_out']} waiting ones left out"
            )
            for part in ("ours", "self", "cumulative"):
                print(f"  profile {part}:")
                for share, name in row["profile"][part][:15]:
                    print(f"    {share} {name}")


if __name__ == "__main__":
    main()
