"""What an open Train tab costs the server while a run trains (issue 8, rough edge 5).

Starts the app on a fresh runs folder, starts a long training there (the Quick demo's settings on the
Lee corpus, many epochs), then measures the server process's CPU time (user + system, from
/proc/<pid>/stat, so the figure does not depend on how busy the machine is) over a fixed window:
with no tab open, then with 1 and with 3 headless-Chromium tabs showing the run on the Train page,
for the server as shipped and with Streamlit's default full garbage collection after every script
run. Also the worker's words per second in each window (from its progress records).

Usage::

    python benchmarks/bench_polling.py [--seconds 30]

Prints a Markdown table; record it with date, hardware and load in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def words_per_second(run_dir: Path, since: float) -> float | None:
    from w2v_core.run_folder import RunFolder

    rates = [r.words_per_second for r in RunFolder.open(run_dir).metrics().progress
             if r.time >= since and r.words_per_second]  # fmt: skip
    return sum(rates) / len(rates) if rates else None


def start_long_run(runs_root: Path) -> Path:
    from w2v_core import jobs
    from w2v_core.preprocess import prepare_corpus
    from w2v_core.preprocess.config import PreprocessConfig
    from w2v_core.sources.spec import DataSpec
    from w2v_ui.train_settings import preset_config

    result = prepare_corpus(DataSpec(kind="builtin", key="lee", label="Lee"), PreprocessConfig())
    config = preset_config("quick", result.corpus.n_tokens, len(result.vocab))
    config = type(config)(**{**config.to_dict(), "epochs": 5000, "threads": 1})
    run = jobs.create_and_start(runs_root, "polling benchmark", config, result.vocab,
                                result.corpus, result.data_description())  # fmt: skip
    return run.path


def measure(server_options: tuple[str, ...], seconds: float, pw) -> list[tuple]:
    """(tabs open, server CPU in cores, worker words/s) with 0, 1 and 3 Train tabs open."""
    import bench_app

    from w2v_core import jobs

    rows = []
    with tempfile.TemporaryDirectory(prefix="w2v-poll-") as folder:
        server, url = bench_app._start_server(Path(folder), *server_options)
        run_dir = start_long_run(Path(folder) / "runs")
        browser = pw.chromium.launch(executable_path=bench_app.CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        try:
            time.sleep(10)  # the worker is training
            tabs = []
            for wanted in (0, 1, 3):
                while len(tabs) < wanted:
                    tab = browser.new_page()
                    tab.goto(f"{url}/train?run={run_dir.name}")
                    tab.get_by_text(" of 5000 ·").first.wait_for(timeout=120_000)
                    tabs.append(tab)
                time.sleep(3)
                start_cpu, start = cpu_seconds(server.pid), time.time()
                time.sleep(seconds)
                used = cpu_seconds(server.pid) - start_cpu
                rows.append((wanted, used / seconds, words_per_second(run_dir, start)))
        finally:
            jobs.request_stop(run_dir)
            browser.close()
            server.terminate()
            time.sleep(2)
    return rows


CONFIGURATIONS = {
    "as shipped (.streamlit/config.toml)": (),
    "Streamlit's default runner.postScriptGC = true": ("--runner.postScriptGC", "true"),
}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    os.environ["W2V_WARM_UP"] = "0"  # no UMAP compilation in the measured windows
    print(f"load before: {os.getloadavg()}", file=sys.stderr)
    results = {}
    with sync_playwright() as pw:
        for label, options in CONFIGURATIONS.items():
            results[label] = measure(options, args.seconds, pw)
    print(f"load after: {os.getloadavg()}", file=sys.stderr)
    print("| server | Train tabs open | server CPU (cores) | worker words/s |\n|---|---|---|---|")
    for label, rows in results.items():
        for tabs, cores, rate in rows:
            shown = f"{rate:,.0f}" if rate else "—"
            print(f"| {label} | {tabs} | {cores:.3f} | {shown} |")


if __name__ == "__main__":
    main()
