"""Training benchmark: our fused CPU engine against gensim 4.x, same corpus, same settings.

What it measures
    For skip-gram and CBOW, each implementation trains in its own subprocess on the same corpus file,
    so whole-process wall time, CPU time and peak RSS (from `os.wait4`) are measured the same way:

    * gensim, `Word2Vec(corpus_file=...)` (its fastest path) and/or `Word2Vec(sentences=LineSentence)`
      (the iterable path; its learning-rate schedule is the textbook one, see docs), vectors saved in
      word2vec text format;
    * ours, exactly what a user runs: `python -m w2v_core train --corpus FILE --out RUN ...` then
      `python -m w2v_core export RUN --format word2vec` (or, with `--ours direct`, a minimal loop that
      drives `FusedCpuEngine` without the trainer, to separate the kernel from the product around it).

    words/s = corpus words x epochs / training time, where corpus words are all tokens of the file (as
    gensim counts them) and training time is gensim's `total_train_time` or the sum of our per-epoch
    times in `metrics.jsonl`. Quality comes from gensim's own evaluators and bundled files on the
    exported vectors: WordSim-353 and SimLex-999 Spearman, Google-analogy accuracy.

Corpus
    Built once into benchmarks/results/ from the NLTK corpora in ../shared/data/nltk_data (brown by
    paragraph, movie_reviews by review, state_union and inaugural by paragraph): one document per line,
    lowercased, tokens `[a-z0-9]+('[a-z]+)?`. About 2.8 million tokens.

Usage
    python benchmarks/bench_training.py                    # both models, 5 epochs, 2 gensim modes
    python benchmarks/bench_training.py --quick            # 300k tokens, 1 epoch: a smoke test
    python benchmarks/bench_training.py --models skipgram --seeds 1,2,3 --tokens 1000000

    Settings follow the issue: dim 100, window 5, negative 5, sample 1e-3, min_count 5, threads = cores;
    learning rate 0.025 (skip-gram) / 0.05 (CBOW) for both implementations, decaying linearly to
    lr * 0.004. Results are printed as a Markdown table and saved as JSON in benchmarks/results/.
    The machine's load average is recorded before and after each run: timings on a shared machine are
    only comparable within one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_NLTK_DATA = REPO_ROOT.parent / "shared" / "data" / "nltk_data"
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
LEARNING_RATE = {"skipgram": 0.025, "cbow": 0.05}  # TrainConfig's SGD defaults
MIN_LR_FRACTION = 1e-4 / 0.025  # TrainConfig.min_lr_fraction


# ---- corpus -----------------------------------------------------------------------------------------
def nltk_documents(nltk_data: Path):
    """Raw text of each document: brown paragraphs, movie reviews, speech paragraphs."""
    os.environ["NLTK_DATA"] = str(nltk_data)
    import nltk

    nltk.data.path[:0] = [str(nltk_data)]
    from nltk.corpus import brown, inaugural, movie_reviews, state_union

    for paragraph in brown.paras():
        yield " ".join(word for sentence in paragraph for word in sentence)
    for fileid in movie_reviews.fileids():
        yield movie_reviews.raw(fileid)
    for reader in (state_union, inaugural):
        for fileid in reader.fileids():
            yield from reader.raw(fileid).splitlines()


def build_corpus(path: Path, nltk_data: Path, max_tokens: int | None) -> dict:
    """Write the corpus file (one document per line) unless it exists; return its size."""
    info_path = path.with_suffix(".json")
    if path.is_file() and info_path.is_file():
        return json.loads(info_path.read_text())
    if not nltk_data.is_dir():
        sys.exit(f"Needs the NLTK corpora at {nltk_data} (see ../shared/README.md).")
    path.parent.mkdir(parents=True, exist_ok=True)
    n_tokens = n_documents = 0
    with open(path, "w", encoding="utf-8") as handle:
        for text in nltk_documents(nltk_data):
            tokens = TOKEN.findall(text.lower())
            if max_tokens is not None:
                tokens = tokens[: max_tokens - n_tokens]
            if len(tokens) < 2:
                if max_tokens is not None and n_tokens >= max_tokens:
                    break
                continue
            handle.write(" ".join(tokens) + "\n")
            n_tokens += len(tokens)
            n_documents += 1
    info = {"tokens": n_tokens, "documents": n_documents, "path": str(path)}
    info_path.write_text(json.dumps(info))
    return info


# ---- child processes --------------------------------------------------------------------------------
def run_measured(command: list[str], env: dict | None = None) -> dict:
    """Run a command; wall time, CPU time and peak RSS of that process alone (os.wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT
    )
    # Read output while it runs (so a full pipe never blocks it), then reap with wait4 for rusage.
    stdout, stderr = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr.decode()[-3000:]}")
    return {
        "wall_seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,  # Linux reports KiB
        "stdout": stdout.decode(),
    }


def child_gensim(args: argparse.Namespace) -> None:
    """In a child process: train gensim, save word2vec text, print timings as JSON."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    lr = LEARNING_RATE[args.model]
    settings = dict(
        vector_size=args.dim, window=args.window, negative=args.negative, sample=args.sample,
        min_count=args.min_count, workers=args.threads, sg=int(args.model == "skipgram"), hs=0,
        cbow_mean=1, epochs=args.epochs, seed=args.seed, alpha=lr, min_alpha=lr * MIN_LR_FRACTION,
    )  # fmt: skip
    if args.gensim_mode == "corpus_file":
        model = Word2Vec(corpus_file=str(args.corpus), **settings)
    else:
        model = Word2Vec(sentences=LineSentence(str(args.corpus)), **settings)
    model.wv.save_word2vec_format(str(args.vectors))
    print(json.dumps({"train_seconds": model.total_train_time, "vocab_size": len(model.wv)}))


def child_ours_direct(args: argparse.Namespace) -> None:
    """In a child process: drive FusedCpuEngine with a minimal epoch loop (no trainer, no run folder)."""
    import numpy as np

    from w2v_core.backends.base import ChunkResult, EpochContext, initial_vectors
    from w2v_core.backends.fused_cpu import FusedCpuEngine
    from w2v_core.config import TrainConfig
    from w2v_core.corpus import build_from_text_file
    from w2v_core.sampling import linear_learning_rate

    config = TrainConfig(
        model=args.model, dim=args.dim, window=args.window, negative=args.negative,
        sample=args.sample, epochs=args.epochs, seed=args.seed, threads=args.threads, device="cpu",
    )  # fmt: skip
    vocab, corpus = build_from_text_file(args.corpus, min_count=args.min_count)
    input_vectors, output_vectors = initial_vectors(len(vocab), config.dim, config.seed)
    started = time.perf_counter()
    engine = FusedCpuEngine(config, vocab.counts, corpus, input_vectors, output_vectors)
    compile_seconds = time.perf_counter() - started
    start_lr = config.learning_rate
    epoch_seconds, epoch_losses = [], []
    for epoch in range(config.epochs):
        totals = [0.0, 0]

        def on_chunk(result: ChunkResult, totals=totals) -> bool:
            totals[0] += result.loss_sum
            totals[1] += result.loss_count
            return False

        context = EpochContext(
            epoch=epoch,
            lr_at=lambda f, e=epoch: linear_learning_rate(
                start_lr, start_lr * config.min_lr_fraction, (e + f) / config.epochs
            ),
            on_chunk=on_chunk,
        )
        started = time.perf_counter()
        engine.run_epoch(context)
        epoch_seconds.append(time.perf_counter() - started)
        epoch_losses.append(totals[0] / max(totals[1], 1))
    vectors = input_vectors.numpy()
    with open(args.vectors, "w", encoding="utf-8") as handle:
        handle.write(f"{len(vocab)} {config.dim}\n")
        for word, row in zip(vocab.words, vectors):
            numbers = " ".join(np.format_float_positional(x, 6) for x in row)
            handle.write(f"{word} {numbers}\n")
    print(
        json.dumps(
            {
                "train_seconds": sum(epoch_seconds),
                "vocab_size": len(vocab),
                "compile_seconds": compile_seconds,
                "epoch_losses": epoch_losses,
            }
        )
    )


def ours_cli(args: argparse.Namespace, model: str, seed: int, workdir: Path, vectors: Path) -> dict:
    """Train and export through the CLI, as a user would; timings of both processes."""
    run_dir = workdir / f"run-{model}-{seed}"
    options = {
        "--corpus": args.corpus_path, "--out": run_dir, "--model": model, "--dim": args.dim,
        "--window": args.window, "--negative": args.negative, "--sample": args.sample,
        "--min-count": args.min_count, "--epochs": args.epochs, "--seed": seed,
        "--threads": args.threads, "--device": "cpu",
    }  # fmt: skip
    cli = [sys.executable, "-m", "w2v_core"]
    train = run_measured([*cli, "train", *flags(options), "--quiet"])
    export_options = {"--format": "word2vec", "--out": vectors}
    export = run_measured([*cli, "export", str(run_dir), *flags(export_options)])
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    run_info = json.loads((run_dir / "run.json").read_text())
    return {
        "wall_seconds": train["wall_seconds"] + export["wall_seconds"],
        "cpu_seconds": train["cpu_seconds"] + export["cpu_seconds"],
        "peak_rss_mb": max(train["peak_rss_mb"], export["peak_rss_mb"]),
        "train_seconds": sum(r["seconds"] for r in epochs),
        "epoch_losses": [r["loss"] for r in epochs],
        "engine": run_info.get("engine"),
        "device": run_info.get("device"),
    }


def flags(options: dict) -> list[str]:
    """{"--dim": 100} -> ["--dim", "100"]."""
    return [text for name, value in options.items() for text in (name, str(value))]


# ---- evaluation -------------------------------------------------------------------------------------
def evaluate(vectors: Path) -> dict:
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = KeyedVectors.load_word2vec_format(str(vectors), binary=False)
    return {
        "wordsim353": kv.evaluate_word_pairs(datapath("wordsim353.tsv"))[1][0],
        "simlex999": kv.evaluate_word_pairs(datapath("simlex999.txt"))[1][0],
        "analogy": kv.evaluate_word_analogies(datapath("questions-words.txt"))[0],
    }


# ---- the benchmark ----------------------------------------------------------------------------------
def child_command(
    args: argparse.Namespace,
    kind: str,
    model: str,
    seed: int,
    vectors: Path,
    gensim_mode: str = "corpus_file",
) -> list[str]:
    options = {
        "--child": kind, "--corpus-path": args.corpus_path, "--vectors": vectors, "--model": model,
        "--seed": seed, "--epochs": args.epochs, "--threads": args.threads, "--dim": args.dim,
        "--window": args.window, "--negative": args.negative, "--sample": args.sample,
        "--min-count": args.min_count, "--gensim-mode": gensim_mode,
    }  # fmt: skip
    return [sys.executable, str(Path(__file__).resolve()), *flags(options)]


def one_run(args, implementation: str, model: str, seed: int, workdir: Path) -> dict:
    vectors = workdir / f"{implementation}-{model}-{seed}.txt"
    load_before = os.getloadavg()[0]
    if implementation.startswith("gensim"):
        mode = implementation.split(" ", 1)[1]
        measured = run_measured(child_command(args, "gensim", model, seed, vectors, mode))
        measured.update(json.loads(measured.pop("stdout").strip().splitlines()[-1]))
    elif implementation == "ours direct":
        measured = run_measured(child_command(args, "ours-direct", model, seed, vectors))
        measured.update(json.loads(measured.pop("stdout").strip().splitlines()[-1]))
    else:
        measured = ours_cli(args, model, seed, workdir, vectors)
    measured.update(evaluate(vectors))
    measured["words_per_second"] = args.corpus_tokens * args.epochs / measured["train_seconds"]
    measured.update(
        implementation=implementation, model=model, seed=seed,
        load_before=load_before, load_after=os.getloadavg()[0],
    )  # fmt: skip
    vectors.unlink(missing_ok=True)
    print(
        f"  {model:8s} {implementation:18s} seed {seed}: train {measured['train_seconds']:.1f} s, "
        f"{measured['words_per_second']:,.0f} words/s, RSS {measured['peak_rss_mb']:.0f} MB, "
        f"WS {measured['wordsim353']:.3f}, SL {measured['simlex999']:.3f}, "
        f"an {measured['analogy']:.3f} (load {load_before:.1f})",
        flush=True,
    )
    return measured


def compile_times(args, workdir: Path) -> dict:
    """Seconds to build the engine with an empty numba cache (first run ever) and a warm one."""
    tiny = workdir / "tiny.txt"
    with open(args.corpus_path, encoding="utf-8") as source:
        tiny.write_text("".join(line for _, line in zip(range(200), source)), encoding="utf-8")
    saved = args.corpus_path
    args.corpus_path = tiny
    out: dict = {}
    try:
        for model in args.models:
            cold_cache = workdir / f"numba-cache-{model}"
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cold_cache)}
            for label, environment in (("cold", env), ("warm", env)):
                command = child_command(args, "ours-direct", model, 1, workdir / "tiny-vectors.txt")
                measured = run_measured(command, env=environment)
                result = json.loads(measured["stdout"].strip().splitlines()[-1])
                out[f"{model} {label}"] = result["compile_seconds"]
    finally:
        args.corpus_path = saved
    return out


def format_table(results: list[dict], implementations: list[str]) -> str:
    """Markdown table: mean over seeds (± half the range when several), ratio to each gensim row."""
    lines = [
        "| model | implementation | seeds | process wall s | process CPU s | train s | words/s "
        "| ours/gensim | peak RSS MB | WordSim-353 | SimLex-999 | analogy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ours_name = next(i for i in implementations if i.startswith("ours"))
    for model in dict.fromkeys(r["model"] for r in results):
        rows = {i: [r for r in results if r["model"] == model and r["implementation"] == i]
                for i in implementations}  # fmt: skip
        ours_speed = _mean([r["words_per_second"] for r in rows[ours_name]])
        for implementation, group in rows.items():
            if not group:
                continue

            def cell(key, digits, group=group):
                values = [r[key] for r in group]
                text = f"{_mean(values):.{digits}f}"
                if len(values) > 1:
                    text += f" ± {(max(values) - min(values)) / 2:.{digits}f}"
                return text

            speed = _mean([r["words_per_second"] for r in group])
            ratio = "-" if implementation.startswith("ours") else f"{ours_speed / speed:.2f}x"
            lines.append(
                f"| {model} | {implementation} | {len(group)} | {cell('wall_seconds', 1)} "
                f"| {cell('cpu_seconds', 1)} | {cell('train_seconds', 1)} | {speed:,.0f} | {ratio} "
                f"| {cell('peak_rss_mb', 0)} | {cell('wordsim353', 3)} | {cell('simlex999', 3)} "
                f"| {cell('analogy', 3)} |"
            )
    return "\n".join(lines)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--models", default="skipgram,cbow", help="comma-separated")
    parser.add_argument("--tokens", type=int, default=None, help="use at most this many tokens")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds, e.g. 1,2,3")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--gensim-modes", default="corpus_file,iterable", help="corpus_file and/or iterable"
    )
    parser.add_argument(
        "--ours", choices=["cli", "direct", "both"], default="cli",
        help="cli: python -m w2v_core train + export (what users run); direct: the engine alone",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="300k tokens, 1 epoch, corpus_file")
    parser.add_argument("--nltk-data", type=Path, default=DEFAULT_NLTK_DATA)
    parser.add_argument("--no-compile-check", action="store_true")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--min-count", type=int, default=5)
    # internal: one training in a child process
    parser.add_argument("--child", choices=["gensim", "ours-direct"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--gensim-mode", default="corpus_file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.corpus = args.corpus_path
    if args.quick:
        args.tokens = args.tokens or 300_000
        args.epochs = 1
        args.gensim_modes = "corpus_file"
    args.models = [m for m in args.models.split(",") if m]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    if args.child == "gensim":
        return child_gensim(args)
    if args.child == "ours-direct":
        return child_ours_direct(args)

    name = f"nltk_corpus_{args.tokens or 'all'}.txt"
    corpus = build_corpus(RESULTS_DIR / name, args.nltk_data, args.tokens)
    args.corpus_path = Path(corpus["path"])
    args.corpus_tokens = corpus["tokens"]
    if args.ours == "cli" and not (REPO_ROOT / "w2v_core" / "cli.py").is_file():
        args.ours = "direct"  # before the CLI existed; the engine alone
    ours = {"cli": ["ours (CLI)"], "direct": ["ours direct"], "both": ["ours (CLI)", "ours direct"]}
    implementations = [f"gensim {m}" for m in args.gensim_modes.split(",") if m] + ours[args.ours]
    header = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "corpus": corpus,
        "settings": {k: getattr(args, k) for k in ("epochs", "threads", "dim", "window",
                                                    "negative", "sample", "min_count")},
    }  # fmt: skip
    print(f"{header['date']}  {header['cpu']}, {header['cores']} cores, load {os.getloadavg()}")
    print(f"corpus: {corpus['tokens']:,} tokens in {corpus['documents']:,} documents")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-training-") as temp:
        workdir = Path(temp)
        if not args.no_compile_check:
            header["compile_seconds"] = compile_times(args, workdir)
            print(f"engine construction (numba compile or cache load): {header['compile_seconds']}")
        for model in args.models:
            for seed in args.seeds:
                for implementation in implementations:
                    results.append(one_run(args, implementation, model, seed, workdir))
    table = format_table(results, implementations)
    print()
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"training-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({**header, "results": results, "table": table}, indent=1))
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
