"""Adam benchmark: the fused Adam engine against our SGD kernel and the batched PyTorch Adam path.

What it measures
    In one process, on the same corpus and settings (the d2l book's: skip-gram, window 5, 5 noise
    words, dim 100, subsampling 1e-4; Adam lr 0.002 in batches of 512 centres; SGD at word2vec's
    0.025 decaying linearly), the three engines train epoch by epoch in turn (epoch 1 of each, then
    epoch 2 of each, ...), so a change in the machine's load hits all of them alike:

    * `fused-cpu`: the compiled SGD kernel, the speed reference;
    * `fused-adam-cpu`: the compiled lazy Adam (this issue's engine);
    * `batched-torch`: the batched PyTorch engine with torch.optim.SparseAdam (Adam's path before),
      with one intra-op thread as the trainer gives it on the CPU.

    words/s = corpus words / epoch wall time (corpus words before subsampling, as the trainer counts
    them). Loss per epoch is our usual loss (mean per positive pair of -log σ(pos) - Σ log σ(-noise));
    the fused Adam engine also reports the d2l book's loss (per centre the mean binary cross-entropy
    over its context and noise positions, averaged over centres) per epoch and as the book prints it:
    the running mean over all epochs so far.

Corpora
    * "ptb": PTB's validation and test files (../shared/data/ptb; the book trains on ptb.train.txt,
      which is not available offline), read as the book reads them: one sentence a line, tokens split
      on spaces, the corpus's own "<unk>" tokens dropped (the book drops them with the rare words),
      words seen fewer than 10 times left out. Goes through the app's data path (`prepare_corpus`).
    * "nltk500k": the first 500,000 tokens of the training benchmark's NLTK corpus
      (benchmarks/results/nltk_corpus_all.txt, written by bench_training.py), min_count 5.

Usage
    python benchmarks/bench_adam.py                       # both corpora, 5 epochs on PTB, 3 on nltk
    python benchmarks/bench_adam.py --corpora ptb --epochs 5
    Prints Markdown tables and saves JSON in benchmarks/results/; the load average is printed before
    and after (timings on a shared machine are only comparable within one run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from w2v_core.backends.base import ChunkResult, EpochContext, initial_vectors  # noqa: E402
from w2v_core.backends.batched_torch import BatchedTorchEngine  # noqa: E402
from w2v_core.backends.fused_adam_cpu import FusedAdamCpuEngine  # noqa: E402
from w2v_core.backends.fused_cpu import FusedCpuEngine  # noqa: E402
from w2v_core.config import TrainConfig  # noqa: E402
from w2v_core.sampling import linear_learning_rate  # noqa: E402

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
PTB_DIR = REPO_ROOT.parent / "shared" / "data" / "ptb"
NLTK_CORPUS = RESULTS_DIR / "nltk_corpus_all.txt"
D2L_SETTINGS = dict(model="skipgram", loss="negative", window=5, negative=5, dim=100, sample=1e-4)
D2L_PREPROCESSING = {
    "lowercase": False,  # the book reads PTB as it is
    "char_filter": "none",  # tokens split on spaces
    "stopwords_language": None,
    "extra_stopwords": ["<unk>"],  # the book's subsample() drops '<unk>' with the rare words
    "min_count": 10,
    "max_token_length": None,
}
NEIGHBOUR_WORDS = ("chip", "computer", "bank", "oil", "president")


def ptb_corpus(workdir: Path, min_count: int = 10):
    from w2v_core.preprocess import PreprocessConfig, prepare_corpus
    from w2v_core.sources import DataSpec

    path = workdir / "ptb.valid+test.txt"
    with open(path, "w", encoding="utf-8") as handle:
        for name in ("ptb.valid.txt", "ptb.test.txt"):
            handle.write((PTB_DIR / name).read_text(encoding="utf-8"))
    config = PreprocessConfig.from_dict({**D2L_PREPROCESSING, "min_count": min_count})
    result = prepare_corpus(DataSpec.from_path(path), config)
    return result.vocab, result.corpus


def nltk_corpus(workdir: Path, tokens: int = 500_000):
    from w2v_core.corpus import build_from_text_file

    if not NLTK_CORPUS.is_file():
        sys.exit(f"Needs {NLTK_CORPUS}: run python benchmarks/bench_training.py --quick first.")
    path = workdir / "nltk500k.txt"
    written = 0
    with open(NLTK_CORPUS, encoding="utf-8") as source, open(path, "w", encoding="utf-8") as out:
        for line in source:
            words = line.split()[: tokens - written]
            out.write(" ".join(words) + "\n")
            written += len(words)
            if written >= tokens:
                break
    return build_from_text_file(path, min_count=5)


def make_engines(vocab, corpus, threads: int, seed: int) -> dict:
    sgd = TrainConfig(**D2L_SETTINGS, optimizer="sgd", threads=threads, seed=seed, epochs=1)
    adam = TrainConfig(
        **D2L_SETTINGS, optimizer="adam", lr=0.002, batch_size=512, threads=threads, seed=seed
    )
    engines = {}
    for name, cls, config in (
        ("fused-cpu (SGD)", FusedCpuEngine, sgd),
        ("fused-adam-cpu (Adam)", FusedAdamCpuEngine, adam),
        ("batched-torch (SparseAdam)", BatchedTorchEngine, adam),
    ):
        vectors = initial_vectors(len(vocab), config.dim, config.seed)
        started = time.perf_counter()
        engine = cls(config, vocab.counts, corpus, *vectors, device=torch.device("cpu"))
        engines[name] = {
            "engine": engine,
            "config": config,
            "build_seconds": time.perf_counter() - started,
        }
    return engines


def run_epoch(entry: dict, epoch: int, epochs: int) -> dict:
    config = entry["config"]
    start = config.learning_rate
    if config.optimizer == "sgd":

        def lr_at(fraction: float) -> float:
            progress = (epoch + fraction) / epochs
            return linear_learning_rate(start, start * config.min_lr_fraction, progress)
    else:

        def lr_at(fraction: float) -> float:
            return start

    results: list[ChunkResult] = []
    context = EpochContext(epoch, lr_at, lambda r: results.append(r) or False)
    torch.set_num_threads(1 if isinstance(entry["engine"], BatchedTorchEngine) else config.threads)
    started = time.perf_counter()
    entry["engine"].run_epoch(context)
    seconds = time.perf_counter() - started
    words = sum(r.words_done for r in results)
    d2l_count = sum(r.d2l_loss_count for r in results)
    return {
        "seconds": seconds,
        "words_per_second": words / seconds,
        "loss": sum(r.loss_sum for r in results) / max(sum(r.loss_count for r in results), 1),
        "d2l_sum": sum(r.d2l_loss_sum for r in results),
        "d2l_count": d2l_count,
        "d2l_loss": sum(r.d2l_loss_sum for r in results) / d2l_count if d2l_count else None,
    }


def neighbours(vocab, vectors: np.ndarray, words, k: int = 6) -> dict:
    """Cosine nearest neighbours of each word in the input vectors (as the book's get_similar_tokens)."""
    unit = vectors / np.sqrt((vectors * vectors).sum(1, keepdims=True) + 1e-9)
    found = {}
    index = {w: i for i, w in enumerate(vocab.words)}
    for word in words:
        if word not in index:
            found[word] = None
            continue
        cosine = unit @ unit[index[word]]
        order = [i for i in np.argsort(-cosine) if i != index[word]][:k]
        found[word] = [(vocab.words[i], round(float(cosine[i]), 3)) for i in order]
    return found


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_corpus(name: str, vocab, corpus, epochs: int, threads: int, seed: int) -> dict:
    engines = make_engines(vocab, corpus, threads, seed)
    per_epoch = {engine: [] for engine in engines}
    for epoch in range(epochs):
        for engine_name, entry in engines.items():
            per_epoch[engine_name].append(run_epoch(entry, epoch, epochs))
            last = per_epoch[engine_name][-1]
            print(
                f"  {name} epoch {epoch + 1} {engine_name}: {last['words_per_second']:,.0f} words/s,"
                f" loss {last['loss']:.4f}"
                + (f", d2l loss {last['d2l_loss']:.4f}" if last["d2l_loss"] is not None else ""),
                flush=True,
            )
    summary = {}
    for engine_name, records in per_epoch.items():
        total_seconds = sum(r["seconds"] for r in records)
        running = []
        sums = counts = 0.0
        for r in records:
            sums += r["d2l_sum"]
            counts += r["d2l_count"]
            running.append(sums / counts if counts else None)
        summary[engine_name] = {
            "words_per_second": corpus.n_tokens * epochs / total_seconds,
            "epoch_losses": [r["loss"] for r in records],
            "epoch_d2l_losses": [r["d2l_loss"] for r in records],
            "d2l_running_mean": running,  # what the book prints
            "epoch_seconds": [r["seconds"] for r in records],
            "build_seconds": engines[engine_name]["build_seconds"],
        }
    adam = engines["fused-adam-cpu (Adam)"]["engine"]
    summary["neighbours (fused-adam-cpu, input vectors)"] = neighbours(
        vocab, adam.state_tensors()["input"].numpy(), NEIGHBOUR_WORDS
    )
    sgd_speed = summary["fused-cpu (SGD)"]["words_per_second"]
    return {
        "corpus": name,
        "tokens": corpus.n_tokens,
        "vocabulary": len(vocab),
        "epochs": epochs,
        "adam_over_sgd": summary["fused-adam-cpu (Adam)"]["words_per_second"] / sgd_speed,
        "batched_over_sgd": summary["batched-torch (SparseAdam)"]["words_per_second"] / sgd_speed,
        "engines": summary,
    }


def format_tables(results: list[dict]) -> str:
    lines = []
    for result in results:
        lines += [
            f"\n{result['corpus']}: {result['tokens']:,} tokens, {result['vocabulary']:,} words, "
            f"{result['epochs']} epochs; fused Adam / SGD speed {result['adam_over_sgd']:.3f}x, "
            f"batched Adam / SGD {result['batched_over_sgd']:.3f}x",
            "",
            "| engine | words/s | loss per epoch | d2l loss per epoch | d2l running mean (book) |",
            "|---|---|---|---|---|",
        ]
        for name, engine in result["engines"].items():
            if not name.startswith(("fused", "batched")):
                continue

            def numbers(values) -> str:
                return ", ".join("—" if v is None else f"{v:.3f}" for v in values)

            lines.append(
                f"| {name} | {engine['words_per_second']:,.0f} | {numbers(engine['epoch_losses'])} |"
                f" {numbers(engine['epoch_d2l_losses'])} | {numbers(engine['d2l_running_mean'])} |"
            )
        for word, found in result["engines"]["neighbours (fused-adam-cpu, input vectors)"].items():
            shown = "not in the vocabulary" if found is None else ", ".join(w for w, _ in found)
            lines.append(f"- {word}: {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default="ptb,nltk500k")
    parser.add_argument("--epochs", type=int, default=None, help="default: 5 on ptb, 3 on nltk500k")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    load_before = load_average()
    print(f"load average before: {load_before}", flush=True)
    started = datetime.now(timezone.utc)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.corpora.split(","):
            if name == "ptb":
                vocab, corpus = ptb_corpus(Path(workdir))
                epochs = args.epochs or 5
            elif name == "nltk500k":
                vocab, corpus = nltk_corpus(Path(workdir))
                epochs = args.epochs or 3
            else:
                sys.exit(f"Unknown corpus {name}: choose ptb or nltk500k.")
            results.append(bench_corpus(name, vocab, corpus, epochs, args.threads, args.seed))
    report = {
        "started": started.isoformat(),
        "load_before": load_before,
        "load_after": load_average(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "threads": args.threads,
        "results": results,
    }
    print(f"load average after: {report['load_after']}")
    print(format_tables(results))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"adam-{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"\nSaved {out.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
