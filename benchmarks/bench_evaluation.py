"""Time the per-epoch evaluation (WordSim-353, SimLex-999, Google analogies) against training.

Run: python benchmarks/bench_evaluation.py [--corpus FILE] [--epochs 3] [--threads 2]
Prints, for each corpus, the training seconds of every epoch and the seconds its evaluation took
(both read from the run folder: `metrics.jsonl` and `evaluation.json`, so this is what the trainer
really spends), then the analogies alone on the same vectors with the whole vocabulary searched
(gensim's default) instead of the stored scores' 10,000 most frequent words.

Corpora: gensim's bundled Lee corpus (always), and a pre-tokenised file (`--corpus`, default
benchmarks/results/nltk_corpus_all.txt, written by `bench_training.py --quick`) when it exists.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere, no install

DEFAULT_CORPUS = Path(__file__).resolve().parent / "results" / "nltk_corpus_all.txt"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def bench(name: str, path: Path, epochs: int, threads: int) -> None:
    from w2v_core import evaluation
    from w2v_core.config import TrainConfig
    from w2v_core.corpus import build_from_text_file
    from w2v_core.embeddings import Embeddings
    from w2v_core.run_folder import RunFolder
    from w2v_core.trainer import train

    vocab, corpus = build_from_text_file(path, min_count=5)
    config = TrainConfig(epochs=epochs, threads=threads)
    with tempfile.TemporaryDirectory() as folder:
        run = RunFolder.create(Path(folder) / "run", config, vocab, corpus)
        start = time.perf_counter()
        train(config, vocab, corpus, run=run)
        wall = time.perf_counter() - start
        trained = {r.epoch: r.seconds for r in run.metrics().epochs}
        records = evaluation.stored_evaluations(run)
        print(
            f"{name}: {corpus.n_tokens:,} tokens, {len(vocab):,} words; {epochs} epochs in "
            f"{wall:.1f} s (whole train() call)"
        )
        for record in records:
            analogies = record.analogies
            print(
                f"  epoch {record.epoch}: training {trained[record.epoch]:6.2f} s, evaluation "
                f"{record.seconds:5.2f} s ({record.seconds / trained[record.epoch]:.0%}); "
                f"analogies asked {analogies.attempted:,} of {analogies.questions_total:,}"
            )
        emb = Embeddings.from_run(run, epochs)
        start = time.perf_counter()
        whole = evaluation.evaluate_analogies(emb, restrict_vocab=len(emb))
        print(
            f"  analogies over the whole vocabulary ({len(emb):,} words): "
            f"{time.perf_counter() - start:.2f} s, {whole.attempted:,} questions asked"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from gensim.test.utils import datapath

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"load average before: {os.getloadavg()}")
    bench("Lee corpus", Path(datapath("lee_background.cor")), args.epochs, args.threads)
    if args.corpus.is_file():
        bench(args.corpus.name, args.corpus, args.epochs, args.threads)
    else:
        print(f"({args.corpus} not found: write it with benchmarks/bench_training.py --quick)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
