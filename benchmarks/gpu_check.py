"""GPU check (issue 11): one prepared script for one call of at most 8 minutes on a bare GPU machine.

What it does, each step time-boxed and run in its own subprocess (a CUDA error that poisons one
process's context, or a hung kernel, costs that step only; the next one starts clean):

1. ``probe``   - the device, the versions there, and two ceilings measured on it: device-to-device copy
                 bandwidth and float32 / bf16 matrix-product rates.
2. ``corpus``  - a corpus of at least 30M tokens from text gensim ships in its test data (the Lee news
                 corpus, an English Wikipedia extract, movie-review and other sentences), every
                 document repeated in a shuffled order (fixed seed) until the size is reached;
                 min_count 5 is counted on the distinct text, so repetition admits no once-seen word.
3. ``skipgram`` / ``cbow`` - the fused GPU engine (``engine="fused-cuda"``), dim 100, window 5,
                 negative 5, sample 1e-3, 3 epochs, through the normal trainer.
4. ``d2l`` / ``blog`` - the d2l preset (Adam) and the blog preset (full softmax + AdamW) for one epoch,
                 with whatever engine ``engine="auto"`` picks on the device; the blog preset's figure
                 is compared with same-shaped ``torch.matmul`` calls timed on the device (its floor).
5. ``cuda-tests`` - ``python -m pytest -m cuda -q`` over the test files that carry the marker.

For every training step: words/s (whole run, and steady state once the first chunk, or the first
epoch, is behind it: that leaves out JIT compilation), GPU memory peak (``torch.cuda`` and the
process's memory seen by NVML, which includes numba's), host synchronisations per epoch, and
WordSim-353 / SimLex-999 / Google-analogy scores from ``w2v_core.evaluation`` beside the fused CPU
engine's scores on the same corpus, computed beforehand and stored in ``benchmarks/gpu_reference.json``.
A training step that outlives its time box is stopped through the trainer's own stop event, so its
figures cover the part it did (said in the table). Results are printed as they come and rewritten
after every step to ``$OUT/gpu_check.json``, ``$OUT/gpu_check.md`` (a table for docs/BENCHMARKS.md)
and ``$OUT/gpu_check.log``.

Usage
    python benchmarks/gpu_check.py                      # on the GPU machine (see gpu_check.sh)
    python benchmarks/gpu_check.py --dry-run            # here: every step on the CPU, 200k tokens
    python benchmarks/gpu_check.py --reference          # here: fused-cpu scores -> gpu_reference.json
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: w2v_core importable without PYTHONPATH
    sys.path.insert(0, str(REPO_ROOT))

REFERENCE_PATH = REPO_ROOT / "benchmarks" / "gpu_reference.json"

# ---- the corpus ---------------------------------------------------------------------------------------
CORPUS_TOKENS = 30_000_000
CORPUS_SEED = 2026
MIN_COUNT = 5
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # as benchmarks/bench_training.py
# Plain-text files of gensim's test data, one document per line (head500.noblanks.cor is left out:
# it is Porter-stemmed, so its words would never match the benchmark sets).
PLAIN_TEXT_FILES = (
    "lee_background.cor",
    "lee.cor",
    "pang_lee_polarity.cor",  # lines start with a __label__ tag
    "alldata-id-10.txt",  # lines start with a _*N id
    "crime-and-punishment.txt",
    "para2para_text1.txt",
    "para2para_text2.txt",
)
# MediaWiki dumps, read with gensim's own wiki reader; one document per paragraph.
WIKI_FILES = (
    "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
    "enwiki-table-markup.xml.bz2",
)

# ---- the settings (issue 11) ------------------------------------------------------------------------
FUSED_SETTINGS = {"dim": 100, "window": 5, "negative": 5, "sample": 1e-3, "epochs": 3, "seed": 1}
ANALOGY_VOCAB = 30_000  # word2vec's compute-accuracy (and evaluate_analogies' default)
TARGETS = {
    "skipgram_words_per_second": 25e6,
    "cbow_words_per_second": 50e6,
    "adam_words_per_second": 5e6,
    "wordsim353_tolerance": 0.03,
    "analogy_tolerance": 0.01,
    "softmax_floor_ratio": 2.0,
}


@dataclass(frozen=True)
class StepPlan:
    name: str
    seconds: (
        float  # hard limit of the subprocess (the training inside stops earlier, see train_box)
    )
    min_seconds: float  # below this much time left the step is not started
    train_box: float | None = None  # training is stopped after this many seconds


GPU_PLAN = (
    StepPlan("probe", 45, 15),
    StepPlan("corpus", 90, 30),
    StepPlan("skipgram", 150, 40, train_box=60),
    StepPlan("cbow", 120, 40, train_box=45),
    StepPlan("d2l", 110, 40, train_box=40),
    StepPlan("blog", 110, 40, train_box=40),
    StepPlan("cuda-tests", 100, 30),
)
CPU_PLAN = (  # --dry-run: every step on the CPU, small
    StepPlan("probe", 60, 10),
    StepPlan("corpus", 90, 10),
    StepPlan("skipgram", 120, 10, train_box=20),
    StepPlan("cbow", 120, 10, train_box=20),
    StepPlan("d2l", 120, 10, train_box=6),
    StepPlan("blog", 120, 10, train_box=6),
    StepPlan("cuda-tests", 90, 10),  # they skip without a GPU: this checks the call itself
)
REFERENCE_PLAN = (
    StepPlan("corpus", 600, 10),
    StepPlan("skipgram", 7200, 10),
    StepPlan("cbow", 7200, 10),
)
TRAINING_STEPS = ("skipgram", "cbow", "d2l", "blog")


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def gensim_documents() -> tuple[list[list[str]], dict[str, int]]:
    """Tokenised documents from gensim's test data, and the number of tokens each file gave."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    from gensim.test.utils import datapath

    documents: list[list[str]] = []
    per_file: dict[str, int] = {}
    for name in PLAIN_TEXT_FILES:
        before = sum(map(len, documents))
        with open(datapath(name), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split(maxsplit=1)
                if fields and (fields[0].startswith("__label__") or fields[0].startswith("_*")):
                    line = fields[1] if len(fields) > 1 else ""
                tokens = _tokens(line)
                if len(tokens) >= 2:
                    documents.append(tokens)
        per_file[name] = sum(map(len, documents)) - before
    for name in WIKI_FILES:
        before = sum(map(len, documents))
        with bz2.open(datapath(name)) as handle:
            for _title, text, _page_id in extract_pages(handle):
                for paragraph in filter_wiki(text).split("\n"):
                    tokens = _tokens(paragraph)
                    if len(tokens) >= 2:
                        documents.append(tokens)
        per_file[name] = sum(map(len, documents)) - before
    return documents, per_file


def repeat_corpus(documents: list[list[str]], target_tokens: int, seed: int, min_count: int):
    """(Vocabulary, EncodedCorpus, facts): the documents, shuffled, repeated to >= target_tokens.

    The vocabulary is cut at `min_count` on the distinct documents (a word seen once stays out however
    often the text is repeated); its counts are those of the repeated corpus. Each repetition takes
    every document once in a fresh random order. A target below the distinct text's size takes the
    first documents of one shuffled order, and the vocabulary is counted on those.
    """
    import numpy as np

    from w2v_core.corpus import EncodedCorpus, encode_documents
    from w2v_core.vocab import Vocabulary

    rng = np.random.default_rng(seed)
    distinct_tokens = sum(map(len, documents))
    if target_tokens < distinct_tokens:
        order = rng.permutation(len(documents))
        lengths = np.array([len(documents[i]) for i in order])
        n_docs = int(np.searchsorted(np.cumsum(lengths), target_tokens)) + 1
        documents = [documents[i] for i in order[:n_docs]]
    vocab = Vocabulary.from_documents(documents, min_count=min_count)
    base = encode_documents(documents, vocab)  # OOV dropped, 1-word documents dropped
    if base.n_tokens == 0:
        raise ValueError("no document has two words of the vocabulary")
    repeats = max(1, math.ceil(target_tokens / base.n_tokens))
    lengths = np.diff(base.doc_offsets)  # (D,)
    pieces, doc_lengths = [], []
    for _ in range(repeats):
        order = rng.permutation(base.n_documents) if repeats > 1 else np.arange(base.n_documents)
        starts = base.doc_offsets[order]  # (D,)
        ordered_lengths = lengths[order]
        # token positions of the documents in this order, without a Python loop per document
        first = np.repeat(starts - np.cumsum(ordered_lengths) + ordered_lengths, ordered_lengths)
        pieces.append(base.token_ids[first + np.arange(int(ordered_lengths.sum()))])
        doc_lengths.append(ordered_lengths)
    token_ids = np.concatenate(pieces).astype(np.int32)
    all_lengths = np.concatenate(doc_lengths)
    offsets = np.zeros(len(all_lengths) + 1, dtype=np.int64)
    np.cumsum(all_lengths, out=offsets[1:])
    corpus = EncodedCorpus(token_ids, offsets, np.arange(len(all_lengths), dtype=np.int64))
    counts = np.bincount(token_ids, minlength=len(vocab))
    vocab = Vocabulary(vocab.words, counts)  # same order: every count scaled by `repeats`
    digest = hashlib.sha256(token_ids.tobytes())
    digest.update("\n".join(vocab.words).encode())
    facts = {
        "tokens": corpus.n_tokens,
        "documents": corpus.n_documents,
        "vocabulary": len(vocab),
        "distinct_tokens": base.n_tokens,
        "distinct_documents": base.n_documents,
        "repeats": repeats,
        "seed": seed,
        "min_count": min_count,
        "sha256": digest.hexdigest(),
    }
    return vocab, corpus, facts


def build_corpus(target_tokens: int = CORPUS_TOKENS, seed: int = CORPUS_SEED):
    """The benchmark corpus: gensim's shipped text repeated to `target_tokens` (see module doc)."""
    import gensim

    documents, per_file = gensim_documents()
    vocab, corpus, facts = repeat_corpus(documents, target_tokens, seed, MIN_COUNT)
    facts["source_tokens"] = per_file
    facts["gensim"] = gensim.__version__
    return vocab, corpus, facts


def corpus_folder(work_dir: Path, tokens: int) -> Path:
    return work_dir / f"corpus-{tokens}"


def load_corpus(folder: Path):
    from w2v_core.corpus import EncodedCorpus
    from w2v_core.vocab import Vocabulary

    facts = json.loads((folder / "corpus.json").read_text())
    return (
        Vocabulary.load_tsv(folder / "vocab.tsv"),
        EncodedCorpus.load(folder / "corpus.npz"),
        facts,
    )


# ---- measuring helpers (inside a step's subprocess) --------------------------------------------------
def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def say(message: str) -> None:
    print(message, flush=True)


class GpuMemorySampler:
    """Peak GPU memory of this process as NVML sees it (torch's, numba's and the CUDA context's),
    sampled every 0.2 s in a thread; falls back to device-wide used memory above the start."""

    def __init__(self) -> None:
        self.peak_process = 0
        self.peak_device_above_start = 0
        self.available = False
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            index = int((os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0])
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._start_used = pynvml.nvmlDeviceGetMemoryInfo(self._handle).used
            self.available = True
        except Exception:  # noqa: BLE001 - no NVML: torch's figure alone
            return
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        nvml = self._nvml
        used = nvml.nvmlDeviceGetMemoryInfo(self._handle).used
        self.peak_device_above_start = max(self.peak_device_above_start, used - self._start_used)
        try:
            for proc in nvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
                if proc.pid == os.getpid() and proc.usedGpuMemory:
                    self.peak_process = max(self.peak_process, int(proc.usedGpuMemory))
        except Exception:  # noqa: BLE001 - some drivers refuse the process list
            pass

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._sample()
            except Exception:  # noqa: BLE001
                return

    def stop(self) -> dict[str, float | None]:
        if not self.available:
            return {"nvml_process_peak_mib": None, "nvml_device_peak_above_start_mib": None}
        self._stop.set()
        self._thread.join(timeout=2)
        self._sample()
        return {
            "nvml_process_peak_mib": self.peak_process / 2**20 or None,
            "nvml_device_peak_above_start_mib": self.peak_device_above_start / 2**20,
        }


def _timed(fn, device, repeats: int = 10) -> float:
    """Median seconds of fn() after 2 warm-ups (CUDA events on a GPU)."""
    import statistics

    import torch

    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1000)
        else:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def step_probe(args: argparse.Namespace) -> dict[str, Any]:
    import importlib.metadata as md

    import torch

    versions = {}
    for package in (
        "torch",
        "numpy",
        "numba",
        "numba-cuda",
        "triton",
        "gensim",
        "scipy",
        "pytest",
        "nvidia-ml-py",
    ):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    result: dict[str, Any] = {"versions": versions, "python": sys.version.split()[0]}
    result["cuda_available"] = torch.cuda.is_available()
    smi = shutil.which("nvidia-smi")
    if smi:
        out = subprocess.run(
            [
                smi,
                "--query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        result["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        props = torch.cuda.get_device_properties(0)
        result.update(
            device=props.name,
            capability=f"{props.major}.{props.minor}",
            multiprocessors=props.multi_processor_count,
            memory_gib=props.total_memory / 2**30,
            torch_cuda=torch.version.cuda,
        )
        try:
            from numba import cuda as numba_cuda

            result["numba_cuda_available"] = bool(numba_cuda.is_available())
        except Exception as error:  # noqa: BLE001
            result["numba_cuda_available"] = f"{type(error).__name__}: {error}"
    else:
        result["device"] = f"CPU, {os.cpu_count()} cores"
    # Ceilings (METHOD.md): a big copy counts bytes read + written; matrix products on random data.
    n_bytes = (1 << 30) if device.type == "cuda" else (1 << 26)
    src = torch.randint(0, 255, (n_bytes,), dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    seconds = _timed(lambda src=src, dst=dst: dst.copy_(src), device)
    result["copy_gb_per_s"] = 2 * n_bytes / seconds / 1e9
    del src, dst
    size = 8192 if device.type == "cuda" else 1024
    for dtype in ("float32", "bfloat16"):
        a = torch.randn(size, size, device=device, dtype=getattr(torch, dtype))
        b = torch.randn(size, size, device=device, dtype=getattr(torch, dtype))
        seconds = _timed(lambda a=a, b=b: a @ b, device, repeats=5)
        result[f"matmul_{dtype}_tflops"] = 2 * size**3 / seconds / 1e12
    try:  # the precision float32 products (and the softmax engine's) ran at
        result["tf32_matmul_allowed"] = bool(torch.backends.cuda.matmul.allow_tf32)
    except Exception:  # noqa: BLE001 - renamed in some torch versions
        result["tf32_matmul_allowed"] = None
    say(
        f"probe: {result.get('device')}  copy {result['copy_gb_per_s']:.0f} GB/s  "
        f"fp32 {result['matmul_float32_tflops']:.1f} TFLOP/s  "
        f"bf16 {result['matmul_bfloat16_tflops']:.1f} TFLOP/s  versions {versions}"
    )
    return result


def step_corpus(args: argparse.Namespace) -> dict[str, Any]:
    folder = corpus_folder(Path(args.work_dir), args.tokens)
    if (folder / "corpus.json").is_file():
        facts = json.loads((folder / "corpus.json").read_text())
        say(f"corpus: reusing {folder}")
    else:
        start = time.perf_counter()
        vocab, corpus, facts = build_corpus(args.tokens)
        facts["build_seconds"] = time.perf_counter() - start
        folder.mkdir(parents=True, exist_ok=True)
        corpus.save(folder / "corpus.npz")
        vocab.save_tsv(folder / "vocab.tsv")
        (folder / "corpus.json").write_text(json.dumps(facts, indent=1))
    say(
        f"corpus: {facts['tokens']:,} tokens in {facts['documents']:,} documents, vocabulary "
        f"{facts['vocabulary']:,} (min_count {facts['min_count']} on {facts['distinct_tokens']:,} "
        f"distinct tokens, repeated {facts['repeats']}x, seed {facts['seed']}), sha256 "
        f"{facts['sha256'][:12]}"
    )
    return facts


def _config_for(step: str, device: str, n_tokens: int, vocab_size: int, simulate: bool = False):
    from w2v_core.config import TrainConfig

    if step in ("skipgram", "cbow"):
        engine = "fused-cuda" if device == "cuda" or simulate else "fused-cpu"
        return TrainConfig(model=step, engine=engine, device=device, **FUSED_SETTINGS)
    from w2v_ui.train_settings import preset_config

    return preset_config(step, n_tokens, vocab_size, device=device).replace(epochs=1)


def _steady_rate(reports: list, n_tokens: int, epochs: int) -> tuple[float | None, str]:
    """Words/s once the start-up is behind: from the start of epoch 2 when there are several epochs,
    else from the first report after the first chunk, to the last report."""

    def words(report) -> float:
        return report.fraction_done * epochs * n_tokens

    start = None
    if epochs > 1:
        start = next((r for r in reports if r.epoch >= 2), None)
        label = "epochs 2+"
    if start is None:
        start = next((r for r in reports if r.fraction_done > 0), None)
        label = "after the first chunk"
    if start is None or reports[-1].elapsed_seconds - start.elapsed_seconds <= 0:
        return None, label
    end = reports[-1]
    return (words(end) - words(start)) / (end.elapsed_seconds - start.elapsed_seconds), label


def _kept_fraction(counts, sample: float) -> float:
    import numpy as np

    from w2v_core.sampling import keep_probabilities

    keep = keep_probabilities(counts, sample)
    return float(np.sum(counts * keep) / np.sum(counts))


def _softmax_floor(batch_size, config, vocab, words_done: float, device) -> dict[str, Any]:
    """Seconds the same-shaped matrix products take: per batch of B centres, the (B, D) x (D, V)
    scores, the (V, B) x (B, D) output gradient and the (B, V) x (V, D) input gradient."""
    import torch

    batch = int(batch_size or config.batch_size or 256)  # the engine's centres per step
    rows = words_done * _kept_fraction(vocab.counts, config.sample)  # centres trained (estimate)
    n_batches = math.ceil(rows / batch)
    V, D = len(vocab), config.dim
    h = torch.randn(batch, D, device=device)  # (B, D)
    w = torch.randn(V, D, device=device)  # (V, D)
    g = torch.randn(batch, V, device=device)  # (B, V)

    def three_products() -> None:
        h @ w.T  # (B, V)
        g.T @ h  # (V, D)
        g @ w  # (B, D)

    seconds_per_batch = _timed(three_products, device, repeats=20)
    return {
        "batch": batch,
        "vocabulary": V,
        "dim": D,
        "batches_estimated": n_batches,
        "seconds_per_batch": seconds_per_batch,
        "floor_seconds": n_batches * seconds_per_batch,
    }


def _device_used_mib() -> float | None:
    """Memory in use on the whole device (every context, numba's included), from the driver."""
    import torch

    try:
        free, total = torch.cuda.mem_get_info()
    except Exception:  # noqa: BLE001
        return None
    return (total - free) / 2**20


def _save_partial(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """The step's figures so far, where the parent finds them if it has to kill this step."""
    record = {"step": args.step, "status": "partial", "result": result}
    Path(args.step_json).write_text(json.dumps(record, indent=1, default=str))


def _count_torch_syncs(config, vocab, corpus, seconds: float) -> dict[str, Any]:
    """Host synchronisations torch itself sees (``torch.cuda.set_sync_debug_mode``, through
    ``w2v_core.device.count_torch_syncs``) in a second, shorter run of the same settings; scaled to
    one epoch by the words it trained."""
    from w2v_core.device import count_torch_syncs
    from w2v_core.trainer import Trainer

    stop = threading.Event()
    reports: list = []
    trainer = Trainer(config, vocab, corpus, on_progress=reports.append, stop_event=stop)
    timer = threading.Timer(seconds, stop.set)
    with count_torch_syncs() as counted:
        timer.start()
        try:
            trainer.fit()
        finally:
            timer.cancel()
    words = reports[-1].fraction_done * config.epochs * corpus.n_tokens if reports else 0
    syncs = counted.count
    return {
        "syncs": syncs,
        "words": words,
        "per_epoch": syncs / words * corpus.n_tokens if words and syncs is not None else None,
        "method": f"torch.cuda.set_sync_debug_mode('warn') over a {seconds:g} s second run",
    }


def _engine_syncs(engine, epochs_done: float) -> dict[str, Any] | None:
    """The engine's own count of its host waits (`host_syncs_per_epoch`, else `host_syncs`):
    the largest over complete epochs, else the partial epoch's scaled to a whole one."""
    per_epoch_list = getattr(engine, "host_syncs_per_epoch", None)
    if per_epoch_list:
        complete = min(int(epochs_done), len(per_epoch_list))
        if complete >= 1:
            per_epoch = float(max(per_epoch_list[:complete]))
        else:
            per_epoch = per_epoch_list[-1] / epochs_done if epochs_done else None
        return {
            "per_epoch_list": list(per_epoch_list),
            "per_epoch": per_epoch,
            "method": "the engine's host_syncs_per_epoch",
        }
    host_syncs = getattr(engine, "host_syncs", None)
    if host_syncs is None:
        return None
    fraction = epochs_done - math.floor(epochs_done) or 1.0  # `host_syncs` counts the last epoch
    return {
        "last_epoch": int(host_syncs),
        "per_epoch": host_syncs / fraction,
        "method": "the engine's host_syncs (last epoch)",
    }


def _evaluate(vocab, vectors) -> dict[str, Any]:
    from w2v_core.embeddings import Embeddings
    from w2v_core.evaluation import evaluate_analogies, evaluate_word_pairs

    start = time.perf_counter()
    emb = Embeddings(vocab.words, vectors, vocab.counts)
    scores: dict[str, Any] = {}
    for which in ("wordsim353", "simlex999"):
        pairs = evaluate_word_pairs(emb, which)
        scores[which] = pairs.spearman
        scores[f"{which}_pairs"] = f"{pairs.pairs_used}/{pairs.pairs_total}"
    analogies = evaluate_analogies(emb, restrict_vocab=ANALOGY_VOCAB)
    scores["analogy"] = analogies.accuracy
    scores["analogy_questions"] = f"{analogies.attempted}/{analogies.questions_total}"
    scores["analogy_restrict_vocab"] = ANALOGY_VOCAB
    scores["seconds"] = time.perf_counter() - start
    return scores


class _CountingTrainer:
    """Factory for a `Trainer` that also sums the examples its engine reports (positive pairs for
    skip-gram, centres for CBOW): the normal trainer, one counter added."""

    @staticmethod
    def make(config, vocab, corpus, on_progress, stop_event):
        from w2v_core.trainer import Trainer

        class CountingTrainer(Trainer):
            examples = 0

            def _on_chunk(self, result):  # noqa: ANN001 - the trainer's own hook
                self.examples += result.loss_count
                return super()._on_chunk(result)

        return CountingTrainer(
            config,
            vocab,
            corpus,
            on_progress=on_progress,
            stop_event=stop_event,
            report_interval=0.5,
        )


def step_train(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    device = torch.device(args.device)
    vocab, corpus, facts = load_corpus(corpus_folder(Path(args.work_dir), args.tokens))
    config = _config_for(args.step, args.device, corpus.n_tokens, len(vocab), args.simulate)
    if args.simulate and config.engine == "fused-cuda":
        # A wiring check, not a measurement: the simulator runs every GPU thread as a Python
        # thread, so blocks 4 wide and tiny vectors, as tests/fused_cuda_sim.py does.
        import w2v_core.backends.fused_cuda as fused_cuda

        fused_cuda.THREADS_PER_BLOCK = 4
        sys.setswitchinterval(1e-5)
        config = config.replace(dim=8, window=2, negative=3)  # 4 threads: 3 noise words at most
    result: dict[str, Any] = {"settings": config.to_dict(), "corpus_sha256": facts["sha256"]}
    say(
        f"{args.step}: {config.model}, {config.loss}, {config.optimizer}, {config.epochs} epoch(s), "
        f"engine {config.engine!r} on {args.device}, time box {args.train_box} s"
    )
    sampler = GpuMemorySampler() if device.type == "cuda" else None
    if device.type == "cuda":
        torch.cuda.init()  # the peak counters exist once the context does
        torch.cuda.reset_peak_memory_stats()
    stop = threading.Event()
    reports: list = []
    last_print = [0.0]

    def on_progress(report) -> None:
        reports.append(report)
        if report.elapsed_seconds - last_print[0] >= 5:
            last_print[0] = report.elapsed_seconds
            say(
                f"  {args.step}: epoch {report.epoch}/{report.epochs} "
                f"{100 * report.fraction_done:5.1f}%  {report.words_per_second / 1e6:7.2f}M words/s "
                f"loss {report.loss if report.loss is None else round(report.loss, 4)}"
            )

    start = time.perf_counter()
    trainer = _CountingTrainer.make(config, vocab, corpus, on_progress, stop)
    result["setup_seconds"] = time.perf_counter() - start
    result["engine"] = trainer.engine_name
    result["device"] = trainer.device_label
    result["batch_size"] = getattr(trainer.engine, "batch_size", None)
    timer = threading.Timer(args.train_box, stop.set) if args.train_box else None
    if timer:
        timer.start()
    start = time.perf_counter()
    try:
        trained = trainer.fit()
    finally:
        if timer:
            timer.cancel()
    seconds = time.perf_counter() - start
    last = reports[-1]
    words = last.fraction_done * config.epochs * corpus.n_tokens
    steady, steady_label = _steady_rate(reports, corpus.n_tokens, config.epochs)
    epochs_done = words / corpus.n_tokens
    result.update(
        status=trained.status,
        stopped_by_time_box=trained.status == "stopped",
        fit_seconds=seconds,
        words=words,
        epochs_done=epochs_done,
        examples=trainer.examples,
        words_per_second=words / seconds if seconds else None,
        steady_words_per_second=steady,
        steady_from=steady_label,
        final_loss=trained.final_loss,
    )
    result["host_syncs"] = {"engine": _engine_syncs(trainer.engine, epochs_done)}
    if device.type == "cuda":
        result["memory"] = {
            "torch_max_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
            "torch_max_reserved_mib": torch.cuda.max_memory_reserved() / 2**20,
            "device_used_after_training_mib": _device_used_mib(),
            **(sampler.stop() if sampler else {}),
        }
    say(
        f"{args.step}: {trained.status} after {seconds:.1f} s, {words:,.0f} words "
        f"({epochs_done:.2f} epochs): {result['words_per_second'] / 1e6:.2f}M words/s overall, "
        f"{(steady or 0) / 1e6:.2f}M steady ({steady_label}); memory {result.get('memory')}; "
        f"host syncs {result.get('host_syncs')}"
    )
    _save_partial(args, result)  # a step killed later keeps its training figures
    vectors = trained.input_vectors
    del trainer, trained
    try:
        result["scores"] = _evaluate(vocab, vectors)
    except Exception as error:  # noqa: BLE001 - the training figures above still count
        result["scores"] = {"error": f"{type(error).__name__}: {error}"}
    say(f"{args.step}: scores {result['scores']}")
    _save_partial(args, result)
    if args.step == "blog":
        try:
            floor = _softmax_floor(result["batch_size"], config, vocab, words, device)
            floor["ratio"] = seconds / floor["floor_seconds"] if floor["floor_seconds"] else None
        except Exception as error:  # noqa: BLE001
            floor = {"error": f"{type(error).__name__}: {error}"}
        result["softmax_floor"] = floor
        say(f"blog: matmul floor {floor}")
    syncs = result["host_syncs"]
    if device.type == "cuda":
        try:
            syncs["torch"] = _count_torch_syncs(config, vocab, corpus, seconds=5)
        except Exception as error:  # noqa: BLE001 - a count that failed is reported, not fatal
            syncs["torch"] = {"error": f"{type(error).__name__}: {error}"}
    # torch's count includes the engine's own reads where those are torch calls; numba's are not
    # torch calls: the larger of the two is the figure judged
    figures = [c["per_epoch"] for c in syncs.values() if c and c.get("per_epoch") is not None]
    syncs["per_epoch"] = max(figures) if figures else None
    syncs["method"] = " / ".join(
        c["method"] for c in syncs.values() if isinstance(c, dict) and "method" in c
    )
    say(f"{args.step}: host syncs {syncs}")
    return result


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


def cuda_test_files() -> list[str]:
    marker = re.compile(r"mark\.cuda\b|pytestmark\s*=.*cuda")
    return sorted(
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "tests").glob("test_*.py")
        if marker.search(path.read_text(encoding="utf-8", errors="replace"))
    )


def step_cuda_tests(args: argparse.Namespace) -> dict[str, Any]:
    files = cuda_test_files()
    if not files:
        return {"skipped": "no test file carries the cuda marker", "files": files}
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider", *files]
    say("cuda-tests: " + " ".join(command))
    budget = max(10.0, args.step_seconds - 10)
    paths = [str(REPO_ROOT), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    try:
        proc = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=budget, env=env
        )
    except subprocess.TimeoutExpired as expired:
        output = _text(expired.stdout) + _text(expired.stderr)
        say(output[-4000:])
        return {
            "files": files,
            "summary": f"pytest stopped after {budget:.0f} s",
            "returncode": None,
            "timed_out": True,
            "tail": output[-3000:],
        }
    output = proc.stdout + proc.stderr
    say(output[-4000:])
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    counts = {
        k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", summary)
    }
    return {
        "files": files,
        "returncode": proc.returncode,
        "summary": summary,
        "counts": counts,
        "tail": output[-3000:],
    }


STEP_FUNCTIONS = {"probe": step_probe, "corpus": step_corpus, "cuda-tests": step_cuda_tests}


def run_step_here(args: argparse.Namespace) -> int:
    """The child side: run one step, write its JSON (also on failure)."""
    out = Path(args.step_json)
    start = time.perf_counter()
    record: dict[str, Any] = {"step": args.step, "started": _now()}
    try:
        fn = STEP_FUNCTIONS.get(args.step, step_train)
        record["result"] = fn(args)
        record["status"] = "ok"
    except Exception as error:  # noqa: BLE001 - reported as one line; the next step still runs
        import traceback

        record["status"] = "failed"
        record["error"] = f"{type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc()[-4000:]
        say(f"{args.step}: FAILED: {record['error']}\n{record['traceback']}")
    record["seconds"] = time.perf_counter() - start
    out.write_text(json.dumps(record, indent=1, default=str))
    return 0 if record["status"] == "ok" else 1


# ---- the parent: plan, time-box, collect, judge, write -----------------------------------------------
def _run_child(args: argparse.Namespace, plan: StepPlan, seconds: float, log) -> dict[str, Any]:
    work = Path(args.work_dir)
    step_json = work / f"step-{plan.name}.json"
    step_json.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-u",
        __file__,
        "--step",
        plan.name,
        "--step-json",
        str(step_json),
        "--device",
        args.device,
        "--tokens",
        str(args.tokens),
        "--work-dir",
        str(work),
        "--step-seconds",
        str(seconds),
    ]
    if plan.train_box:
        command += ["--train-box", str(min(plan.train_box, max(5.0, seconds - 60)))]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.simulate and plan.name in ("skipgram", "cbow"):
        command.append("--simulate")
        env["NUMBA_ENABLE_CUDASIM"] = "1"  # numba's CUDA simulator: fused-cuda's kernels on the CPU
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        cwd=REPO_ROOT,
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
            log.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
    reader.join(timeout=5)
    elapsed = time.perf_counter() - start
    if step_json.is_file():
        record = json.loads(step_json.read_text())
    else:
        record = {"step": plan.name, "status": "failed", "error": f"exit code {proc.returncode}"}
    if timed_out:
        record["status"] = "timed out"
        record["error"] = f"killed after {seconds:.0f} s (its time box)"
    record["wall_seconds"] = elapsed
    return record


def _fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:.2f}M"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("PASS" if ok else "FAIL")


def load_reference(sha256: str | None) -> tuple[dict[str, Any] | None, str]:
    if not REFERENCE_PATH.is_file():
        return None, f"no {REFERENCE_PATH.name}"
    reference = json.loads(REFERENCE_PATH.read_text())
    if sha256 is not None and reference.get("corpus", {}).get("sha256") != sha256:
        return None, "the stored reference was computed on another corpus"
    return reference, "ok"


def judge(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: figure, target, reference and verdict (None where not judged)."""
    steps = report["steps"]
    judged = report["device"] == "cuda"
    corpus = (steps.get("corpus") or {}).get("result") or {}
    reference, why = load_reference(corpus.get("sha256"))
    rows = []

    def result_of(name: str) -> dict[str, Any]:
        return (steps.get(name) or {}).get("result") or {}

    def add(check: str, figure: str, target: str, ok: bool | None, note: str = "") -> None:
        rows.append(
            {
                "check": check,
                "figure": figure,
                "target": target,
                "verdict": _verdict(ok if judged else None),
                "note": note,
            }
        )

    for name, key in (("skipgram", "skipgram_words_per_second"), ("cbow", "cbow_words_per_second")):
        res = result_of(name)
        rate = res.get("steady_words_per_second")
        note = (
            f"steady ({res.get('steady_from')}); overall {_fmt_rate(res.get('words_per_second'))}"
        )
        if res.get("stopped_by_time_box"):
            note += f"; stopped by its time box after {_fmt(res.get('epochs_done'), 2)} epochs"
        add(
            f"{name} words/s ({res.get('engine', '–')})",
            _fmt_rate(rate),
            f">= {_fmt_rate(TARGETS[key])}",
            None if rate is None else rate >= TARGETS[key],
            note,
        )
        scores = res.get("scores") or {}
        ref_scores = ((reference or {}).get("results", {}).get(name) or {}).get("scores") or {}
        for metric, tolerance in (
            ("wordsim353", "wordsim353_tolerance"),
            ("analogy", "analogy_tolerance"),
        ):
            ours, theirs = scores.get(metric), ref_scores.get(metric)
            ok = (
                None if ours is None or theirs is None else abs(ours - theirs) <= TARGETS[tolerance]
            )
            add(
                f"{name} {metric}",
                _fmt(ours),
                f"within {TARGETS[tolerance]} of CPU {_fmt(theirs)}",
                ok,
                "" if reference else f"no reference: {why}",
            )
    res = result_of("d2l")
    rate = res.get("steady_words_per_second")
    add(
        f"d2l preset (Adam) words/s ({res.get('engine', '–')})",
        _fmt_rate(rate),
        f">= {_fmt_rate(TARGETS['adam_words_per_second'])}",
        None if rate is None else rate >= TARGETS["adam_words_per_second"],
        f"overall {_fmt_rate(res.get('words_per_second'))}",
    )
    res = result_of("blog")
    floor = res.get("softmax_floor") or {}
    ratio = floor.get("ratio")
    add(
        f"blog preset (softmax) time / matmul floor ({res.get('engine', '–')})",
        _fmt(ratio, 2),
        f"<= {TARGETS['softmax_floor_ratio']}",
        None if ratio is None else ratio <= TARGETS["softmax_floor_ratio"],
        f"{_fmt_rate(res.get('words_per_second'))} words/s; floor {_fmt(floor.get('floor_seconds'), 2)} s "
        f"for {floor.get('batches_estimated', '–')} batches of {floor.get('batch', '–')} x V {floor.get('vocabulary', '–')}",
    )
    for name in TRAINING_STEPS:
        res = result_of(name)
        syncs = res.get("host_syncs") or {}
        per_epoch = syncs.get("per_epoch")
        epoch_seconds = (res.get("fit_seconds") or 0) / max(res.get("epochs_done") or 0, 1e-9)
        # issue 11 allows the progress read (about once a second; fused-cuda reads twice a second
        # so that a stop is honoured quickly), plus the epoch's start and end
        allowed = 2 * math.ceil(epoch_seconds) + 2
        ok = None if per_epoch is None else per_epoch <= allowed
        add(
            f"{name} host syncs per epoch",
            _fmt(per_epoch, 1),
            f"<= {allowed} (2 per second of a {epoch_seconds:.1f} s epoch + 2)",
            ok,
            syncs.get("method", ""),
        )
    tests = result_of("cuda-tests")
    ok = None if "returncode" not in tests else tests["returncode"] == 0
    add("CUDA-marked tests", tests.get("summary") or tests.get("skipped") or "–", "all pass", ok)
    return rows


def training_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| step | engine | status | epochs | words/s steady | overall | torch peak MiB | NVML peak MiB "
        "| syncs/epoch | WordSim-353 | SimLex-999 | analogy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    reference, _ = load_reference(
        ((report["steps"].get("corpus") or {}).get("result") or {}).get("sha256")
    )
    for name in TRAINING_STEPS:
        step = report["steps"].get(name)
        if not step:
            continue
        res = step.get("result") or {}
        mem = res.get("memory") or {}
        scores = res.get("scores") or {}
        status = step["status"] if step["status"] != "ok" else res.get("status", "ok")
        if step["status"] != "ok":
            status += f": {step.get('error', '')[:80]}"
        lines.append(
            f"| {name} | {res.get('engine', '–')} | {status} | {_fmt(res.get('epochs_done'), 2)} "
            f"| {_fmt_rate(res.get('steady_words_per_second'))} | {_fmt_rate(res.get('words_per_second'))} "
            f"| {_fmt(mem.get('torch_max_allocated_mib'), 0)} | {_fmt(mem.get('nvml_process_peak_mib') or mem.get('nvml_device_peak_above_start_mib'), 0)} "
            f"| {_fmt((res.get('host_syncs') or {}).get('per_epoch'), 1)} | {_fmt(scores.get('wordsim353'))} "
            f"| {_fmt(scores.get('simlex999'))} | {_fmt(scores.get('analogy'))} |"
        )
        ref = (reference or {}).get("results", {}).get(name) or {}
        if ref:
            rs = ref.get("scores") or {}
            lines.append(
                f"| {name}, CPU reference | {ref.get('engine')} | {ref.get('status')} | "
                f"{_fmt(ref.get('epochs_done'), 2)} | {_fmt_rate(ref.get('steady_words_per_second'))} | "
                f"{_fmt_rate(ref.get('words_per_second'))} | – | – | – | {_fmt(rs.get('wordsim353'))} | "
                f"{_fmt(rs.get('simlex999'))} | {_fmt(rs.get('analogy'))} |"
            )
    return lines


def markdown(report: dict[str, Any]) -> str:
    probe = (report["steps"].get("probe") or {}).get("result") or {}
    corpus = (report["steps"].get("corpus") or {}).get("result") or {}
    lines = [
        f"Script: `benchmarks/gpu_check.sh` ({report['mode']}), {report['started']}, "
        f"{probe.get('device', report['device'])}, {probe.get('nvidia_smi', '')}; python "
        f"{probe.get('python', '?')}, versions {probe.get('versions', {})}; load {report['load_before']}.",
        "",
        f"Ceilings measured there: copy {_fmt(probe.get('copy_gb_per_s'), 0)} GB/s (read + written), "
        f"fp32 matmul {_fmt(probe.get('matmul_float32_tflops'), 1)} TFLOP/s, bf16 "
        f"{_fmt(probe.get('matmul_bfloat16_tflops'), 1)} TFLOP/s.",
        "",
        f"Corpus: {corpus.get('tokens', 0):,} tokens, {corpus.get('documents', 0):,} documents, "
        f"vocabulary {corpus.get('vocabulary', 0):,} (gensim {corpus.get('gensim', '?')} test data, "
        f"{corpus.get('distinct_tokens', 0):,} distinct tokens repeated {corpus.get('repeats', '?')}x, "
        f"sha256 {str(corpus.get('sha256', ''))[:12]}).",
        "",
        "| check | figure | target | verdict | note |",
        "|---|---|---|---|---|",
    ]
    for row in report["checks"]:
        lines.append(
            f"| {row['check']} | {row['figure']} | {row['target']} | {row['verdict']} | {row['note']} |"
        )
    lines += ["", *training_table(report)]
    failed = [
        f"{s}: {r['status']} ({r.get('error', '')})"
        for s, r in report["steps"].items()
        if r["status"] != "ok"
    ]
    if failed:
        lines += ["", "Steps that did not finish: " + "; ".join(failed)]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out: Path) -> None:
    report["checks"] = judge(report)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu_check.md").write_text(markdown(report))


def orchestrate(args: argparse.Namespace, plan: tuple[StepPlan, ...], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "mode": args.mode,
        "device": args.device,
        "tokens_asked": args.tokens,
        "started": _now(),
        "load_before": _load_average(),
        "host": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "budget_seconds": args.budget,
        "targets": TARGETS,
        "steps": {},
    }
    wanted = set(args.steps.split(",")) if args.steps else None
    if wanted and wanted & set(TRAINING_STEPS):
        wanted.add("corpus")  # (cached in the work folder after the first time)
    with open(out / "gpu_check.log", "w", encoding="utf-8") as log:
        for index, plan_step in enumerate(plan):
            if wanted and plan_step.name not in wanted:
                continue
            left = args.budget - (time.perf_counter() - started)
            later = sum(p.min_seconds for p in plan[index + 1 :] if not wanted or p.name in wanted)
            seconds = min(plan_step.seconds, left - later)
            header = (
                f"==== {plan_step.name}: up to {seconds:.0f} s ({left:.0f} s of the budget left)"
            )
            say(header)
            log.write(header + "\n")
            if seconds < plan_step.min_seconds:
                record = {
                    "step": plan_step.name,
                    "status": "skipped",
                    "error": f"only {max(seconds, 0):.0f} s left of the {args.budget:.0f} s budget",
                }
            elif (
                plan_step.name in TRAINING_STEPS
                and (report["steps"].get("corpus") or {}).get("status") != "ok"
            ):
                record = {"step": plan_step.name, "status": "skipped", "error": "no corpus"}
            else:
                record = _run_child(args, plan_step, seconds, log)
            report["steps"][plan_step.name] = record
            report["elapsed_seconds"] = time.perf_counter() - started
            write_report(report, out)
            say(
                f"==== {plan_step.name}: {record['status']} in {record.get('wall_seconds', 0):.1f} s"
                + (f" ({record.get('error')})" if record["status"] != "ok" else "")
            )
    report["load_after"] = _load_average()
    report["elapsed_seconds"] = time.perf_counter() - started
    write_report(report, out)
    return report


def write_reference(report: dict[str, Any]) -> None:
    """Store the fused CPU engine's figures on the benchmark corpus, for the GPU run to compare."""
    steps = report["steps"]
    reference = {
        "what": "fused-cpu engine on the gpu_check corpus; the GPU run's scores are compared with these",
        "date": report["started"],
        "hardware": "2-core x86_64 VM, 24 GiB, no GPU (shared with other sessions)",
        "host": report["host"],
        "load_before": report["load_before"],
        "load_after": report.get("load_after"),
        "corpus": steps["corpus"].get("result"),
        "settings": {
            "min_count": MIN_COUNT,
            **FUSED_SETTINGS,
            "analogy_restrict_vocab": ANALOGY_VOCAB,
        },
        "results": {},
    }
    for name in ("skipgram", "cbow"):
        step = steps.get(name) or {}
        if step.get("status") == "ok":
            res = step["result"]
            reference["results"][name] = {
                key: res.get(key)
                for key in (
                    "engine",
                    "device",
                    "status",
                    "epochs_done",
                    "fit_seconds",
                    "words",
                    "words_per_second",
                    "steady_words_per_second",
                    "steady_from",
                    "final_loss",
                    "scores",
                    "settings",
                )
            }
        else:
            reference["results"][name] = {"status": step.get("status"), "error": step.get("error")}
    REFERENCE_PATH.write_text(json.dumps(reference, indent=1, default=str) + "\n")
    say(f"reference written to {REFERENCE_PATH}")


def print_summary(report: dict[str, Any]) -> None:
    say("\n" + "=" * 100)
    say(markdown(report))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--tokens", type=int, default=CORPUS_TOKENS, help="corpus size")
    parser.add_argument("--budget", type=float, default=430, help="seconds for all steps together")
    parser.add_argument(
        "--out",
        default=os.environ.get("OUT") or str(REPO_ROOT / "benchmarks" / "results" / "gpu_check"),
    )
    parser.add_argument(
        "--work-dir", default="/tmp/w2v_gpu_check", help="corpus cache and step files"
    )
    parser.add_argument("--steps", help="comma-separated subset of the steps")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="with --dry-run: skip-gram and CBOW on fused-cuda under numba's CUDA simulator (slow: "
        "use a tiny --tokens)",
    )
    parser.add_argument("--dry-run", action="store_true", help="every step on the CPU, 200k tokens")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="fused-cpu skip-gram and CBOW on the full corpus -> gpu_reference.json",
    )
    # the child side (one step in its own process)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--step-json", help=argparse.SUPPRESS)
    parser.add_argument("--step-seconds", type=float, default=60, help=argparse.SUPPRESS)
    parser.add_argument("--train-box", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.mode = "gpu"
    if args.dry_run:
        args.device, args.mode = "cpu", "dry run on the CPU"
        if args.tokens == CORPUS_TOKENS:
            args.tokens = 200_000
    if args.reference:
        args.device, args.mode, args.budget = "cpu", "reference on the CPU", 4 * 3600
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.step:
        return run_step_here(args)
    plan = REFERENCE_PLAN if args.reference else (GPU_PLAN if args.device == "cuda" else CPU_PLAN)
    out = Path(args.out)
    report = orchestrate(args, plan, out)
    if args.reference:
        write_reference(report)
    print_summary(report)
    say(f"written: {out / 'gpu_check.json'}, {out / 'gpu_check.md'}, {out / 'gpu_check.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
