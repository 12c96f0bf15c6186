"""Server memory for one large upload (issue 9, finding 4): before, at the peak, and after the tab
closed, read from /proc/<server pid>/status (VmRSS now, VmHWM the peak since start).

Starts `streamlit run app.py` (benchmarks/bench_app.py's `_start_server`), writes a text file of
about `--size-mb` MB (lines of words), uploads it on the Data page through headless Chromium
(playwright `set_input_files`), waits for "First rows", closes the tab and samples again after
`--after` seconds and after Streamlit's disconnected-session TTL (120 s: until then the session, with
the uploaded file's bytes, is kept for a reconnect). RSS hardly depends on the machine's load;
the upload time does. Results: benchmarks/results/upload_memory.json and the printed lines.

    .venv/bin/python benchmarks/bench_upload_memory.py --size-mb 190
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "upload_memory.json"
CHROMIUM = "/usr/bin/chromium"
SESSION_TTL_SECONDS = 120  # streamlit's server.disconnectedSessionTTL default


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of `pid` in MB (10^6 bytes)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024 / 1e6
    return values


def write_corpus(path: Path, size_mb: float) -> int:
    """About `size_mb` MB of lines of made-up words (a ~1 MB block of 12-word lines, repeated)."""
    rng = random.Random(0)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
                  for _ in range(20_000)]  # fmt: skip
    block = "".join(" ".join(rng.choices(vocabulary, k=12)) + "\n" for _ in range(12_000))
    data = block.encode()
    with path.open("wb") as out:
        for _ in range(max(1, round(size_mb * 1e6 / len(data)))):
            out.write(data)
    return path.stat().st_size


class Sampler(threading.Thread):
    """VmRSS of the server every 0.2 s; `peak` is the largest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, status_mb(self.pid)["VmRSS"])
            time.sleep(0.2)


def main() -> None:
    from bench_app import _settled, _start_server
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=190)
    parser.add_argument("--after", type=float, default=60, help="seconds after closing the tab")
    parser.add_argument("--label", default="", help="a name for this measurement in the results")
    args = parser.parse_args()

    load = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    upload = folder / "big corpus.txt"
    size = write_corpus(upload, args.size_mb)
    server, url = _start_server(folder)
    figures: dict[str, float] = {"file_mb": size / 1e6}
    try:
        time.sleep(15)  # the warm-up imports (torch, umap) settle first
        figures["idle_rss_mb"] = status_mb(server.pid)["VmRSS"]
        sampler = Sampler(server.pid)
        sampler.start()
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            _settled(page)
            page.get_by_role("link", name="1 · Data", exact=True).first.click()
            _settled(page)
            page.get_by_text("Upload a file", exact=True).first.click()
            _settled(page)
            figures["before_upload_rss_mb"] = status_mb(server.pid)["VmRSS"]
            started = time.time()
            page.locator("input[type='file']").first.set_input_files(str(upload))
            # the data set's own heading (h3): the file chip shows the name from the start
            page.locator("h3", has_text=upload.stem).first.wait_for(timeout=900_000)
            page.get_by_text("First rows").first.wait_for(timeout=900_000)
            _settled(page, timeout=900)
            figures["upload_to_preview_s"] = time.time() - started
            figures["with_preview_rss_mb"] = status_mb(server.pid)["VmRSS"]
            page.close()
            chromium.close()
        closed = time.time()
        time.sleep(max(0.0, args.after - (time.time() - closed)))
        figures[f"rss_{int(args.after)}s_after_close_mb"] = status_mb(server.pid)["VmRSS"]
        time.sleep(max(0.0, SESSION_TTL_SECONDS + 30 - (time.time() - closed)))
        figures["rss_after_session_ttl_mb"] = status_mb(server.pid)["VmRSS"]
        sampler.running = False
        figures["peak_rss_mb"] = max(sampler.peak, status_mb(server.pid)["VmHWM"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    record = {
        "label": args.label,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_before": [round(x, 2) for x in load],
        **{k: round(v, 1) for k, v in figures.items()},
    }
    for key, value in record.items():
        print(f"{key:28s} {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    RESULTS.write_text(json.dumps([*previous, record], indent=2) + "\n")


if __name__ == "__main__":
    main()
