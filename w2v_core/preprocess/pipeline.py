"""The corpus pipeline: `preprocess(dataset, config)` -> `PreprocessResult`; `prepare_corpus(spec,
config)` loads the data first (the one path from a `DataSpec` to a corpus, for the app and the CLI).

Owns: reading text from Arrow in batches, tokenising them (here or in worker processes), merging
batch-local word ids, applying per-word decisions to all tokens with numpy, phrases, stems, the
rare-word cut-off, encoding, statistics, examples, progress reports, and using the cache.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from w2v_core.corpus import (
    NOISY_CORPUS_TOKENS,
    EncodedCorpus,
    encode_tokens,
    provisional_ids,
    vocabulary_from_tokens,
)
from w2v_core.errors import ConfigError, CorpusError, DataChangedError
from w2v_core.preprocess import cache
from w2v_core.preprocess.config import PreprocessConfig
from w2v_core.preprocess.phrases import find_phrases, segment_sums
from w2v_core.preprocess.result import PreprocessResult, PreprocessStats
from w2v_core.preprocess.tokens import Splitter, WordRules, compile_pipeline
from w2v_core.vocab import Vocabulary

if TYPE_CHECKING:
    from w2v_core.sources.dataset import TextDataset
    from w2v_core.sources.spec import DataSpec

ProgressCallback = Callable[[float, str], None]
# text per batch: small enough for steady progress reports, large enough to cost little overhead
BATCH_BYTES = 2_000_000


@dataclass
class _Batch:
    """Tokens of a batch of documents, with batch-local word ids (returned by workers)."""

    words: list[str]  # local id -> word, in first-seen order
    token_ids: np.ndarray  # (N,) int32 local ids, documents back to back
    lengths: np.ndarray  # (D,) int64 tokens per document
    n_words: int  # whitespace-separated words before any processing


def _split_batch(splitter: Splitter, texts: list[str]) -> _Batch:
    words, token_ids, lengths = provisional_ids(map(splitter.split, texts))
    return _Batch(words, token_ids, lengths, n_words=sum(len(text.split()) for text in texts))


def preprocess(
    dataset: TextDataset,
    config: PreprocessConfig,
    progress: ProgressCallback | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    workers: int = 1,
) -> PreprocessResult:
    """Clean, tokenise and encode `dataset`'s text column.

    Parameters
    ----------
    dataset : TextDataset
        The documents (see `w2v_core.sources`).
    config : PreprocessConfig
        Every choice; `OPTION_HELP` explains them.
    progress : callable, optional
        Called as `progress(fraction_done, message)` between steps.
    cache_dir : path, optional
        The cache folder (results go to its `preprocess/` subfolder, the 20 most recent kept);
        default `$W2V_CACHE_DIR` or `~/.cache/w2v_studio`. The same data and config load from
        there in well under a second.
    use_cache : bool
        False recomputes (and does not write the cache).
    workers : int
        Processes that tokenise batches of documents. 1 (the default) works in this process: on the
        2-core benchmark machine extra processes were not faster (shipping text to them costs about
        what they save; docs/benchmarks/preprocessing.md). More may help on a machine with idle
        cores; a script that asks for them needs the `if __name__ == "__main__":` guard, and when
        workers cannot start the work is done here instead.

    Raises
    ------
    CorpusError
        Nothing usable is left (no rows, every word filtered out, no word reaching `min_count`, no
        document with two tokens), with what to change.
    ConfigError
        A language without stopword list or stemmer, or a custom pattern that runs too long.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    if dataset.n_rows == 0:
        raise CorpusError("The data set has no rows, so there is nothing to preprocess.")
    splitter, rules = compile_pipeline(config)  # fails early on unknown languages
    cache_path = None
    if use_cache:
        cache_path = cache.cache_root(cache_dir) / cache.cache_key(dataset, config, rules)
        cached = cache.load_cached(cache_path, dataset, config)
        if cached is not None:
            cached.seconds = time.perf_counter() - started
            report(1.0, "Loaded the result of an identical earlier run.")
            return cached

    report(0.0, "Reading and tokenising documents...")
    batches, examples_text = _tokenise(dataset, splitter, report, workers)
    result = _assemble(batches, examples_text, dataset, config, rules, report)
    if cache_path is not None:
        report(0.97, "Saving the result for next time...")
        cache.save_cached(cache_path, result)
        result.cache_path = cache_path
    result.seconds = time.perf_counter() - started
    report(1.0, "Done.")
    return result


def prepare_corpus(
    spec: DataSpec,
    preprocess_config: PreprocessConfig,
    progress: ProgressCallback | None = None,
    expected_fingerprint: str | None = None,
) -> PreprocessResult:
    """Load `spec`'s data and preprocess it (through the cache): what the app and the CLI share.

    With `expected_fingerprint` (run.json's data["fingerprint"]) the data must still hold the same
    text, else `DataChangedError`. Missing data raises `SourceError` naming the file or data set.
    """
    from w2v_core.sources.spec import load_spec

    report = progress or (lambda fraction, message: None)
    report(0.0, f"Loading {spec.label or spec.key}...")
    dataset = load_spec(spec)
    if expected_fingerprint is not None and dataset.fingerprint() != expected_fingerprint:
        raise DataChangedError(
            f"The data has changed since the run was made: the text of '{spec.label or spec.key}' "
            f"({spec.key}) is no longer the same (fingerprint {dataset.fingerprint()[:12]}, the run "
            f"was made from {expected_fingerprint[:12]}). Restore the original data to rebuild it."
        )
    return preprocess(dataset, preprocess_config, progress=progress)


def _tokenise(
    dataset: TextDataset, splitter: Splitter, report: ProgressCallback, workers: int
) -> tuple[list[_Batch], list[str]]:
    total_bytes = _text_bytes(dataset)
    rows_per_batch = int(np.clip(BATCH_BYTES * dataset.n_rows / max(total_bytes, 1), 1, 50_000))
    n_batches = -(-dataset.n_rows // rows_per_batch)
    workers = max(1, min(workers, n_batches))
    examples_text: list[str] = []

    def text_batches() -> Iterator[list[str]]:
        for batch in dataset.iter_text_batches(rows_per_batch):
            if len(examples_text) < 5:
                examples_text.extend(batch[: 5 - len(examples_text)])
            yield batch

    def done(batches: list[_Batch], how: str) -> None:
        rows = sum(len(b.lengths) for b in batches)
        report(
            0.8 * rows / dataset.n_rows, f"Tokenised {rows:,} of {dataset.n_rows:,} documents{how}"
        )

    batches: list[_Batch] = []
    try:
        if workers > 1:
            try:
                for batch in _split_in_workers(splitter, text_batches(), workers):
                    batches.append(batch)
                    done(batches, f" ({workers} processes)")
                return batches, examples_text
            except BrokenProcessPool:
                # workers could not start (e.g. a main script that cannot be re-imported): go on here
                batches.clear()
                examples_text.clear()
        for texts in text_batches():
            batches.append(_split_batch(splitter, texts))
            done(batches, "")
    except TimeoutError:
        raise ConfigError(
            "The custom pattern took too long on a document (catastrophic backtracking). Simplify "
            "the pattern, e.g. avoid nested repeats like (a+)+."
        ) from None
    return batches, examples_text


def _split_in_workers(
    splitter: Splitter, batches: Iterator[list[str]], workers: int
) -> Iterator[_Batch]:
    """`_split_batch` over `batches` in worker processes, in order, at most 2 batches per worker
    in flight (so the text is never all in memory as Python strings)."""
    import multiprocessing

    # forkserver/spawn, never fork: the app's process runs threads (Streamlit, torch)
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["w2v_core.preprocess.pipeline"])
    pending: deque[Future[_Batch]] = deque()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for texts in batches:
            pending.append(pool.submit(_split_batch, splitter, texts))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _text_bytes(dataset: TextDataset) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow_rows = dataset.dataset.select_columns([dataset.text_column]).with_format("arrow")
    total = 0
    for table in arrow_rows.iter(batch_size=200_000):
        column = table.column(dataset.text_column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            total += int(pc.sum(pc.binary_length(column)).as_py() or 0)
        else:
            total += column.nbytes
    return total


def _assemble(
    batches: list[_Batch],
    examples_text: list[str],
    dataset: TextDataset,
    config: PreprocessConfig,
    rules: WordRules,
    report: ProgressCallback,
) -> PreprocessResult:
    report(0.8, "Applying stopwords and length limits...")
    # merge batch-local ids into one id space of canonical words
    index: defaultdict[str, int] = defaultdict()
    index.default_factory = index.__len__
    lookup = index.__getitem__
    canonical = rules.canonical
    parts, lengths, n_words = [], [], 0
    for batch in batches:
        local_to_global = np.fromiter(
            (lookup(canonical(w)) for w in batch.words), dtype=np.int64, count=len(batch.words)
        )
        parts.append(
            local_to_global[batch.token_ids]
            if len(batch.words)
            else batch.token_ids.astype(np.int64)
        )
        lengths.append(batch.lengths)
        n_words += batch.n_words
    words = list(index)
    token_ids = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    doc_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    n_split = len(token_ids)
    if n_split == 0:
        raise CorpusError(
            f"No words were found in the column '{dataset.text_column}'. Check that it is the column "
            f"holding the text, and the character filter ('{config.char_filter}'): the blog's filter "
            "keeps only a-z, so text in other alphabets disappears."
        )

    # per-word decisions, applied to every token at once
    reasons = [rules.reason_dropped(w) for w in words]
    keep_word = np.array([r is None for r in reasons], dtype=bool)
    token_counts = np.bincount(token_ids, minlength=len(words))
    removed: dict[str, int] = {}
    for reason in ("too short", "too long", "stopwords"):
        mask = np.array([r == reason for r in reasons], dtype=bool)
        removed[reason] = int(token_counts[mask].sum())
    token_keep = keep_word[token_ids]
    doc_lengths = segment_sums(token_keep, doc_lengths)
    token_ids = token_ids[token_keep]
    n_filtered = len(token_ids)
    stages = [
        ("words in the text (split at spaces)", n_words),
        ("tokens after lowercasing, placeholders and the character filter", n_split),
        ("after the length limits and stopwords", n_filtered),
    ]
    if n_filtered == 0:
        raise CorpusError(
            "Every word was removed by the length limits and stopwords. Lower the minimum word "
            "length, or remove words from the stopword list."
        )

    pairs = np.zeros((0, 2), dtype=np.int64)
    if config.phrases:
        report(0.85, "Finding phrases...")
        token_ids, doc_lengths, pairs = find_phrases(
            token_ids, doc_lengths, len(words), config.phrase_min_count, config.phrase_threshold
        )
        stages.append((f"after joining {len(pairs):,} phrases", len(token_ids)))

    report(0.88, "Stemming and counting words..." if config.stem_language else "Counting words...")
    stem = rules.stem
    final_index: defaultdict[str, int] = defaultdict()
    final_index.default_factory = final_index.__len__
    # dropped words are never looked up again: stem only the kept ones (-1 marks the others)
    to_final = [final_index[stem(w)] if keep else -1 for w, keep in zip(words, keep_word.tolist())]
    to_final += [final_index[f"{stem(words[a])}_{stem(words[b])}"] for a, b in pairs.tolist()]
    final_words = list(final_index)
    token_ids = np.asarray(to_final, dtype=np.int64)[token_ids]
    final_counts = np.bincount(token_ids, minlength=len(final_words))
    vocab = vocabulary_from_tokens(
        final_words, final_counts, config.min_count, config.max_vocab_size
    )

    report(0.92, "Encoding the corpus...")
    corpus = encode_tokens(final_words, token_ids, doc_lengths, vocab)
    n_in_vocab = int(vocab.counts.sum())  # the vocabulary's counts are its words' corpus counts
    n_reaching_min_count = int(np.count_nonzero(final_counts >= config.min_count))
    removed["rare (below min_count)"] = int(final_counts[final_counts < config.min_count].sum())
    removed["beyond max_vocab_size"] = (
        len(token_ids) - n_in_vocab - removed["rare (below min_count)"]
    )
    stages.append((f"after the rare-word cut-off (min_count={config.min_count})", n_in_vocab))
    removed["in documents with fewer than two tokens"] = n_in_vocab - corpus.n_tokens
    stages.append(
        ("in documents with at least two tokens (what the model trains on)", corpus.n_tokens)
    )
    if corpus.n_documents == 0:
        raise CorpusError(
            "No document has two or more words left after the filters and the rare-word cut-off, "
            "so there is nothing to train on. Lower min_count or loosen the filters."
        )

    stats = _statistics(
        corpus, vocab, final_counts, dataset, config, rules, n_words, len(words), stages, removed,
        n_reaching_min_count,
    )  # fmt: skip
    examples = _examples(examples_text, corpus, vocab)
    return PreprocessResult(vocab, corpus, stats, examples, config, dataset)


def _statistics(
    corpus: EncodedCorpus,
    vocab: Vocabulary,
    final_counts: np.ndarray,
    dataset: TextDataset,
    config: PreprocessConfig,
    rules: WordRules,
    n_words: int,
    n_types_split: int,
    stages: list[tuple[str, int]],
    removed: dict[str, int],
    n_reaching_min_count: int,
) -> PreprocessStats:
    counts = np.sort(final_counts[final_counts > 0])[::-1]
    if len(counts) <= 120:
        ranks = np.arange(1, len(counts) + 1)
    else:  # log-spaced ranks: a Zipf plot is read on log axes
        ranks = np.unique(np.round(np.geomspace(1, len(counts), num=120)).astype(np.int64))
    share = corpus.n_tokens / n_words if n_words else 0.0
    warnings = []
    if corpus.n_tokens < NOISY_CORPUS_TOKENS:
        warnings.append(
            f"Only {corpus.n_tokens:,} tokens are left to train on. Word2vec learns from repetition: "
            "with this little text expect noisy neighbours that change from run to run. Use more "
            "text, or lower the minimum count (min_count) so rarer words are kept."
        )
    if len(vocab) < 100:
        warnings.append(
            f"The vocabulary has only {len(vocab):,} words: maps and neighbour lists will be thin."
        )
    if share < 0.25:
        warnings.append(
            f"Only {share:.0%} of the words in the text were kept. Check the character filter "
            "('a-z, @ and #' drops every accented or non-Latin letter), the stopword list and the "
            "minimum count (min_count)."
        )
    dropped_documents = dataset.n_rows - corpus.n_documents
    if dropped_documents > 0.2 * dataset.n_rows:
        warnings.append(
            f"{dropped_documents:,} of {dataset.n_rows:,} documents ({dropped_documents / dataset.n_rows:.0%}) "
            "had fewer than two words left and were dropped."
        )
    if removed.get("too long", 0) > 0.01 * max(n_words, 1):
        warnings.append(
            f"{removed['too long']:,} 'words' longer than {config.max_token_length} characters were "
            "dropped. Text in Chinese, Japanese or Thai has no spaces between words and needs a word "
            "segmenter first; otherwise raise the maximum word length."
        )
    if config.max_vocab_size is not None and n_reaching_min_count > config.max_vocab_size:
        warnings.append(
            f"{n_reaching_min_count - config.max_vocab_size:,} words reached the minimum count but were cut "
            f"by the maximum vocabulary size ({config.max_vocab_size:,})."
        )
    if dataset.encoding_report.invalid_bytes_replaced:
        warnings.append(dataset.encoding_report.describe())
    top = vocab.words[:30]
    return PreprocessStats(
        n_documents_in=dataset.n_rows,
        n_documents_kept=corpus.n_documents,
        n_tokens_before=n_words,
        n_tokens_after=corpus.n_tokens,
        n_types_before=n_types_split,
        n_types_after=len(vocab),
        share_tokens_kept=round(share, 6),
        top_words=[
            (w, int(c)) for w, c in zip(top, vocab.counts[: len(top)].tolist(), strict=True)
        ],
        zipf_ranks=ranks.tolist(),
        zipf_counts=counts[ranks - 1].astype(np.int64).tolist(),
        stages=stages,
        removed=removed,
        warnings=warnings,
        stopword_source=rules.stopword_source,
    )


def _examples(
    texts: list[str], corpus: EncodedCorpus, vocab: Vocabulary
) -> list[tuple[str, list[str]]]:
    examples = []
    for row, text in enumerate(texts):
        position = int(np.searchsorted(corpus.source_rows, row))
        kept = position < corpus.n_documents and corpus.source_rows[position] == row
        tokens = corpus.decode(vocab, position)[:300] if kept else []
        examples.append((text[:2000], tokens))
    return examples
