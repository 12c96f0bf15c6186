"""Benchmark: a 5-seed stability study on the built-in Lee corpus, from Start to finished report.

    python benchmarks/bench_stability.py                  # both schedules, 5 seeds
    python benchmarks/bench_stability.py --parallel 2     # one schedule
    python benchmarks/bench_stability.py --bootstrap

"Start" is what the app's Start button does (the corpus is already prepared: the app has it in its
cache): write the study folder and its five run folders, train them as background workers through
`w2v_core.jobs`; "finished report" is the study's stability-vs-frequency data, its most and least
stable words and one word's cross-run table. Settings: the Quick demo preset scaled to Lee, as the
app's Train page sets them. Schedules compared: `--parallel 1` (one run after another, each with
every core) and `--parallel 2` (two at a time, one thread each). Not a test: prints timings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--parallel", type=int, choices=[1, 2], default=None)
    parser.add_argument("--bootstrap", action="store_true")
    args = parser.parse_args()

    from w2v_core import jobs
    from w2v_core.preprocess import PreprocessConfig, prepare_corpus
    from w2v_core.sources import DataSpec, list_builtin_corpora
    from w2v_core.stability import (
        Study,
        load_study_vectors,
        run_study,
        study_report,
        word_stability,
    )
    from w2v_ui.train_settings import preset_config

    lee = next(c for c in list_builtin_corpora() if c.key == "lee")
    spec = DataSpec("builtin", lee.key, lee.name, "text", lee.metadata_columns)
    result = prepare_corpus(spec, PreprocessConfig())
    vocab, corpus = result.vocab, result.corpus
    base = preset_config("quick", corpus.n_tokens, len(vocab), device="cpu")
    print(
        f"Lee: {corpus.n_tokens:,} tokens, {len(vocab):,} words; quick demo: {base.epochs} epochs, "
        f"{base.dim} dims, {base.model}; {os.cpu_count()} cores; load {os.getloadavg()}"
    )
    schedules = [args.parallel] if args.parallel else [2, 1]
    for parallel in schedules:
        config = base.replace(threads=1) if parallel == 2 else base
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            study = Study.create(
                Path(folder) / "study", config, vocab, corpus, result.data_description(),
                n_runs=args.seeds, bootstrap=args.bootstrap, parallel=parallel,
            )  # fmt: skip
            progress = run_study(study, jobs.start, poll_seconds=0.2)
            trained = time.perf_counter()
            vectors = load_study_vectors(study)
            report = study_report(vectors, k=10, min_count=5)
            word = word_stability(vectors, "government", 10)
            done = time.perf_counter()
            print(
                f"parallel {parallel} x threads {config.threads or os.cpu_count()}: "
                f"{progress.status}, train {trained - started:.1f} s, report {done - trained:.1f} s, "
                f"total {done - started:.1f} s; 'government' stability {word.stability:.2f}; "
                f"{report.share_low():.0%} of {len(report.words)} words below 0.3; "
                f"load after {os.getloadavg()}"
            )


if __name__ == "__main__":
    main()
