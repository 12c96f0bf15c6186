"""Benchmarks of the app as a person meets it (issue 4, "Speed").

Measures, on this machine:

1. first page render: a fresh server, a fresh browser tab, Home fully drawn;
2. the "Quick demo" preset on the default built-in corpus, from clicking Start to a finished map;
3. page switches while a long training runs on the same server (the worker competes for the CPU);
4. UMAP of 5,000 words (first fit in a fresh process, and warm) and PCA of 5,000 words;
5. a neighbour query on a 50,000-word vocabulary (the Neighbours page's table).

Usage::

    python benchmarks/bench_app.py                  # everything (needs Chromium for 1-3)
    python benchmarks/bench_app.py --no-browser     # only 4 and 5

Results print as a Markdown table and go to benchmarks/results/app.json (git-ignored); record them
with date and hardware in docs/benchmarks/app.md. Timings are not tests: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "app.json"


# ---- 4 and 5: projections and queries -------------------------------------------------------------
UMAP_COLD = """
import time, numpy as np
from w2v_core.projection import project_2d
x = np.random.default_rng(0).normal(size=(5000, 100)).astype(np.float32)
t = time.perf_counter(); project_2d(x, "umap"); cold = time.perf_counter() - t
t = time.perf_counter(); project_2d(x, "umap"); warm = time.perf_counter() - t
print(cold, warm)
"""


def bench_projection() -> dict[str, float]:
    from w2v_core.projection import project_2d

    out = subprocess.run([sys.executable, "-c", UMAP_COLD], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    cold, warm = (float(v) for v in out.stdout.split())
    vectors = np.random.default_rng(1).normal(size=(5000, 100)).astype(np.float32)
    pca = []
    for _ in range(5):
        start = time.perf_counter()
        project_2d(vectors, "pca")
        pca.append(time.perf_counter() - start)
    return {"umap_5000_first_in_process_s": cold, "umap_5000_warm_s": warm,
            "pca_5000_s": statistics.median(pca)}  # fmt: skip


def bench_neighbours() -> dict[str, float]:
    from w2v_core.embeddings import Embeddings
    from w2v_ui import queries

    rng = np.random.default_rng(2)
    words = [f"w{i}" for i in range(50_000)]
    emb = Embeddings(words, rng.normal(size=(50_000, 100)), np.arange(50_000, 0, -1))
    emb.unit_vectors  # noqa: B018 - built once when the page first loads the run (cached)
    times = []
    for word in rng.choice(words, 50):
        start = time.perf_counter()
        queries.neighbours_table(emb, str(word), 10)
        times.append(time.perf_counter() - start)
    return {"neighbours_50k_median_ms": 1000 * statistics.median(times),
            "neighbours_50k_max_ms": 1000 * max(times)}  # fmt: skip


# ---- 1-3: in a browser ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(folder: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free port, runs and caches under `folder`; `options` are more
    command-line settings (`--runner.postScriptGC`, `true`, ...)."""
    port = _free_port()
    env = dict(os.environ, W2V_RUNS_DIR=str(folder / "runs"), W2V_CACHE_DIR=str(folder / "cache"))
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", *options],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not start")


def _settled(page, timeout: float = 300, quiet_for: float = 0.3) -> None:
    """Until the script finished: no running indicator and no spinner for `quiet_for` seconds."""
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        busy = (page.locator("[data-testid='stStatusWidget']").count() > 0
                or page.locator("[data-testid='stSpinner']").count() > 0)  # fmt: skip
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since >= quiet_for:
            return
        time.sleep(0.05)
    raise TimeoutError("page still busy")


def _switch(page, link: str, title: str) -> float:
    """Seconds from clicking a navigation link until the new page's title is drawn."""
    start = time.perf_counter()
    page.get_by_role("link", name=link, exact=True).first.click()
    page.locator("h1", has_text=title).first.wait_for(timeout=60_000)
    return time.perf_counter() - start


def _first_epoch_saved(runs_root: Path, start: float, timeout: float = 300) -> float:
    """Seconds from `start` until a run under `runs_root` has its first epoch record in
    metrics.jsonl (written right after the epoch's checkpoint)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for metrics in runs_root.glob("*/metrics.jsonl"):
            if '"kind": "epoch"' in metrics.read_text(errors="replace"):
                return time.perf_counter() - start
        time.sleep(0.02)
    raise TimeoutError("no epoch was saved")


def _start_stages(runs_root: Path, start: float) -> dict[str, float]:
    """Where the Quick demo's start-up went, from the first run folder's files: Start -> run
    folder written (the app) -> worker launched (worker.pid) -> worker training (its first
    progress record)."""
    from w2v_core.run_folder import RunFolder

    offset = time.time() - time.perf_counter()  # perf_counter -> wall clock
    run_dir = min(p.parent for p in runs_root.glob("*/run.json"))
    stages = {"start_to_run_folder_s": (run_dir / "vocab.tsv").stat().st_mtime - offset - start}
    if (run_dir / "worker.pid").exists():
        stages["start_to_worker_launched_s"] = (
            (run_dir / "worker.pid").stat().st_mtime - offset - start
        )
    progress = RunFolder.open(run_dir).metrics().progress
    if progress:
        stages["start_to_worker_training_s"] = progress[0].time - offset - start
    return stages


def bench_browser(
    only_quick_demo: bool = False, wait_before_start: float = 0.0
) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    results: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="w2v-bench-", ignore_cleanup_errors=True) as folder,
        sync_playwright() as pw,
    ):
        process, url = _start_server(Path(folder))
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            # 1. first render: the first tab after a server start, then a second, fresh tab
            start = time.perf_counter()
            page.goto(url)
            page.locator("h1", has_text="Word2vec Studio").wait_for()
            results["first_render_title_s"] = time.perf_counter() - start
            _settled(page)
            results["first_render_complete_s"] = time.perf_counter() - start - 0.3
            second = browser.new_page()
            start = time.perf_counter()
            second.goto(url)
            second.locator("h1", has_text="Word2vec Studio").wait_for()
            _settled(second)
            results["second_tab_render_complete_s"] = time.perf_counter() - start - 0.3
            second.close()

            time.sleep(wait_before_start)  # a person reading the Train page; the warm-up runs
            # 2. Quick demo: Start -> first epoch saved (read from the run folder) -> finished map
            _switch(page, "3 · Train", "3 · Train")
            _settled(page)
            start = time.perf_counter()
            page.get_by_role("button", name="Start training").click()
            results["quick_demo_first_epoch_s"] = _first_epoch_saved(Path(folder) / "runs", start)
            results.update(_start_stages(Path(folder) / "runs", start))
            page.get_by_text("Vectors are ready").first.wait_for(timeout=300_000)
            results["quick_demo_training_s"] = time.perf_counter() - start
            page.get_by_role("link", name="Map", exact=True).first.click()
            page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=300_000)
            _settled(page)
            results["quick_demo_start_to_map_s"] = time.perf_counter() - start - 0.3
            if only_quick_demo:
                browser.close()
                return results

            # 3. page switches while a long run trains on the same server
            _switch(page, "3 · Train", "3 · Train")
            _settled(page)
            epochs = page.get_by_role("spinbutton", name="Epochs")
            if not epochs.is_visible():  # the settings sit in a closed expander once a run exists
                page.get_by_text("Settings for a new run").click()
            # The d2l preset trains with the PyTorch engine (Adam), which keeps both cores busy.
            page.get_by_text("d2l book: skip-gram + negative sampling + Adam").click()
            _settled(page)
            epochs.fill("100")
            epochs.press("Enter")
            _settled(page)
            page.get_by_role("button", name="Start training").click()
            page.get_by_text(" of 100 ·").first.wait_for(timeout=120_000)
            switches = []
            for link, title in [("Home", "Word2vec Studio"), ("1 · Data", "1 · Data"),
                                ("Neighbours", "Neighbours"), ("3 · Train", "3 · Train"),
                                ("Home", "Word2vec Studio"), ("Export", "Export"),
                                ("3 · Train", "3 · Train")] * 2:  # fmt: skip
                switches.append((link, _switch(page, link, title)))
                time.sleep(1.0)
            seconds = [t for _, t in switches]
            results["switch_during_training_median_s"] = statistics.median(seconds)
            results["switch_during_training_max_s"] = max(seconds)
            results["switch_during_training_each_s"] = [f"{link}: {t:.2f}" for link, t in switches]
            page.get_by_role("button", name="Stop").click()
            start = time.perf_counter()
            page.get_by_text("Stopped after").first.wait_for(timeout=60_000)
            results["stop_to_stopped_shown_s"] = time.perf_counter() - start
            browser.close()
        except Exception:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(RESULTS.parent / "failure.png"), full_page=True)
            raise
        finally:
            _stop_workers(Path(folder) / "runs")
            process.terminate()
            process.wait(timeout=20)
    return results


def _stop_workers(runs_root: Path) -> None:
    """Ask every run's worker to stop and wait for it: workers outlive the server by design."""
    from w2v_core import jobs
    from w2v_core.run_folder import list_runs

    for run in list_runs(runs_root):
        jobs.request_stop(run.path)  # a no-op for runs no worker trains
    deadline = time.time() + 30
    while time.time() < deadline and any(r.worker_alive() for r in list_runs(runs_root)):
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="skip the browser timings")
    parser.add_argument(
        "--quick-demo",
        action="store_true",
        help="only the first render and the Quick demo (Start -> first epoch -> map)",
    )
    parser.add_argument(
        "--wait-before-start",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds on the Train page before Start (the server's warm-up runs meanwhile)",
    )
    args = parser.parse_args()
    results: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "load_average_before": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    if not args.quick_demo:
        results.update(bench_neighbours())
        results.update(bench_projection())
    if not args.no_browser and Path(CHROMIUM).is_file():
        results.update(bench_browser(args.quick_demo, args.wait_before_start))
    results["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for key, value in results.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"| {key} | {shown} |")


if __name__ == "__main__":
    main()
