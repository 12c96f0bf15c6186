"""Benchmark: raw data -> encoded corpus (sources + preprocess). Not a test: prints timings.

    python benchmarks/bench_preprocess.py                 # every case, needs ../shared/data
    python benchmarks/bench_preprocess.py --cases tweets  # one case
    python benchmarks/bench_preprocess.py --repeat 3

Cases:
  tweets   the 32k tweets of ../shared/data/tweets_hate_speech_detection/train.csv, from the raw CSV
           bytes (`read_upload`) to the encoded corpus with the blog's settings (targets <= 5 s).
  nltk     the four NLTK corpora (inaugural, state_union, brown, movie_reviews; ~3.1M words) plus the
           built-in Wikipedia sample (~0.33M) and Lee (~0.06M) and the tweets (~0.42M): ~3.9M words,
           loaded and preprocessed (targets <= 30 s), in one process and with 2 worker processes.
  cache    the same preprocessing again: answered from the on-disk cache.

Timings are wall-clock seconds on a warm process (imports done); `--cold` adds one fresh-process run
of the tweets case, imports included. The cache goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def _machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def _timed(label: str, function, repeat: int):
    from w2v_core.preprocess import tokens

    best, result = float("inf"), None
    for _ in range(repeat):
        tokens._pipeline.cache_clear()  # every run builds its word rules (and stems) afresh
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    print(f"  {label:<58} {best:7.2f} s")
    return result, best


def bench_tweets(repeat: int, cache_dir: Path) -> None:
    from w2v_core.preprocess import PreprocessConfig, preprocess
    from w2v_core.sources import read_upload

    raw = (SHARED / "tweets_hate_speech_detection" / "train.csv").read_bytes()
    config = PreprocessConfig.blog()
    print(f"tweets: {len(raw) / 1e6:.1f} MB CSV, blog settings")

    def run():
        data = read_upload("train.csv", raw, metadata_columns=("label",))
        return preprocess(data, config, use_cache=False, cache_dir=cache_dir)

    result, _ = _timed("raw CSV -> encoded corpus (read_upload + preprocess)", run, repeat)
    _timed("  of which read_upload", lambda: read_upload("train.csv", raw), repeat)
    s = result.stats
    print(
        f"  {s.n_documents_in:,} documents, {s.n_tokens_before:,} words -> {s.n_tokens_after:,} "
        f"tokens, {s.n_types_after:,} words in the vocabulary"
    )


def _all_builtin():
    import datasets

    from w2v_core.sources import TextDataset, load_builtin, read_upload

    parts = [load_builtin(k) for k in ("inaugural", "state_union", "brown", "movie_reviews",
                                       "wiki_sample", "lee")]  # fmt: skip
    raw = (SHARED / "tweets_hate_speech_detection" / "train.csv").read_bytes()
    parts.append(read_upload("train.csv", raw))
    tables = []
    for part in parts:
        table = part.dataset.select_columns([part.text_column])
        if part.text_column != "text":
            table = table.rename_column(part.text_column, "text")
        tables.append(table.cast_column("text", datasets.Value("large_string")))
    combined = datasets.concatenate_datasets(tables)
    return TextDataset("all built-in + tweets", {"kind": "benchmark"}, combined, "text")


def bench_nltk(repeat: int, cache_dir: Path) -> None:
    from w2v_core.preprocess import PreprocessConfig, preprocess
    from w2v_core.sources import load_builtin

    print("nltk: four NLTK corpora + Wikipedia sample + Lee + tweets")
    for key in ("inaugural", "state_union", "brown", "movie_reviews"):
        _timed(f"load_builtin('{key}')", lambda k=key: load_builtin(k), repeat)
    data, _ = _timed("load all and concatenate", _all_builtin, 1)
    words = sum(len(t.split()) for t in data.texts())
    print(f"  {data.n_rows:,} documents, {words:,} words")
    configs = {
        "default (letters, English stopwords)": PreprocessConfig(),
        "+ English stemming + phrases": PreprocessConfig(stem_language="english", phrases=True),
        "blog settings": PreprocessConfig.blog(),
    }
    for name, config in configs.items():
        for workers in (1, 2):
            label = f"{name}, {workers} process{'es' if workers > 1 else ''}"
            result, _ = _timed(
                label,
                lambda c=config, w=workers: preprocess(
                    data, c, use_cache=False, workers=w, cache_dir=cache_dir
                ),  # fmt: skip
                repeat,
            )
        print(
            f"    -> {result.stats.n_tokens_after:,} tokens, {result.stats.n_types_after:,} words"
        )


def bench_cache(repeat: int, cache_dir: Path) -> None:
    from w2v_core.preprocess import PreprocessConfig, preprocess

    print("cache: the combined corpus, default settings")
    data = _all_builtin()
    _timed("first run (computes and writes the cache)", lambda: preprocess(data, PreprocessConfig(),
                                                                             cache_dir=cache_dir), 1)  # fmt: skip
    result, _ = _timed("second run (read from the cache)",
                       lambda: preprocess(data, PreprocessConfig(), cache_dir=cache_dir), repeat)  # fmt: skip
    assert result.from_cache


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", default=["tweets", "nltk", "cache"])
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs")
    parser.add_argument("--cold", action="store_true", help="also time a fresh process (imports)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"needs the shared data folder at {SHARED}")
    os.environ.setdefault("NLTK_DATA", str(SHARED / "nltk_data"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"machine: {_machine()}")
    with tempfile.TemporaryDirectory() as cache:
        cache_dir = Path(cache)
        if args.cold:
            code = (
                "import time; t=time.perf_counter();"
                "from pathlib import Path;"
                "from w2v_core.sources import read_upload;"
                "from w2v_core.preprocess import PreprocessConfig, preprocess;"
                f"raw=Path({str(SHARED / 'tweets_hate_speech_detection' / 'train.csv')!r}).read_bytes();"
                "r=preprocess(read_upload('train.csv', raw), PreprocessConfig.blog(), use_cache=False);"
                "print(f'{time.perf_counter()-t:.2f}')"
            )
            started = time.perf_counter()
            inner = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                                   text=True, check=True).stdout.strip()  # fmt: skip
            print(
                f"tweets, fresh process: {inner} s inside Python (imports included), "
                f"{time.perf_counter() - started:.2f} s with interpreter start"
            )
        from w2v_core.preprocess import PreprocessConfig, tokenize

        tokenize("warm up the imports", PreprocessConfig.blog())
        for case in args.cases:
            {"tweets": bench_tweets, "nltk": bench_nltk, "cache": bench_cache}[case](
                args.repeat, cache_dir
            )
    print(f"load afterwards: {_machine().rsplit('load average', 1)[1].strip()}")


if __name__ == "__main__":
    main()
