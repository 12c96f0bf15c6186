"""Benchmark: a word's KWIC (and a word pair's evidence) in a ~4M-token run. Not a test: prints timings.

    NLTK_DATA=../shared/data/nltk_data python benchmarks/bench_evidence.py [--tokens 4000000]

The corpus: the four NLTK corpora the shared folder holds (inaugural, state_union, brown,
movie_reviews; one document per speech / file / review), repeated until the run has `--tokens`
tokens, written as a .txt file (one document per line) and preprocessed as the app does with the
default settings but no stopwords (so tokens ~ words). The run folder is made without training:
evidence needs only the vocabulary, the encoded corpus and the data reference.

Timed, in one process: opening the run (`RunEvidence`: vocab.tsv and corpus.npz), the first query
(builds the word -> positions index, loads the text and checks its fingerprint), then later queries
of words from the most frequent to rare ones (first time for each word), and pair queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def _corpus_file(path: Path, tokens: int) -> None:
    from w2v_core.sources import load_builtin

    texts = []
    for key in ("inaugural", "state_union", "brown", "movie_reviews"):
        texts += [" ".join(t.split()) for t in load_builtin(key).texts()]
    words = sum(len(t.split()) for t in texts)
    target = int(tokens * 1.14)  # punctuation tokens vanish in the letters filter
    lines, total = [], 0
    while total < target:
        for text in texts:
            lines.append(text)
            total += len(text.split())
            if total >= target:
                break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"corpus file: {len(lines):,} documents, {total:,} words ({words:,} before repeating)")


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=4_000_000)
    args = parser.parse_args()
    os.environ.setdefault("NLTK_DATA", str(SHARED / "nltk_data"))
    with tempfile.TemporaryDirectory() as temp:
        os.environ["W2V_CACHE_DIR"] = str(Path(temp) / "cache")
        from w2v_core.config import TrainConfig
        from w2v_core.evidence import RunEvidence
        from w2v_core.preprocess import PreprocessConfig, prepare_corpus
        from w2v_core.run_folder import RunFolder
        from w2v_core.sources import DataSpec

        data_file = Path(temp) / "nltk4m.txt"
        _corpus_file(data_file, args.tokens)
        config = PreprocessConfig(stopwords_language=None)
        result, seconds = _timed(lambda: prepare_corpus(DataSpec.from_path(data_file), config))
        print(
            f"preprocessed in {seconds:.1f} s: {result.corpus.n_tokens:,} tokens, "
            f"{len(result.vocab):,} words, {result.corpus.n_documents:,} documents"
        )
        run = RunFolder.create(
            Path(temp) / "run", TrainConfig(), result.vocab, result.corpus,
            data=result.data_description(),
        )  # fmt: skip
        del result

        evidence, seconds = _timed(lambda: RunEvidence(run.path))
        print(f"open the run (vocab.tsv, corpus.npz):              {seconds * 1000:8.1f} ms")
        words = evidence.vocab.words
        first_word = words[50]
        found, seconds = _timed(lambda: evidence.kwic(first_word))
        print(
            f"first query, kwic('{first_word}') (index + text):  {seconds * 1000:8.1f} ms "
            f"({found.occurrences:,} occurrences, {len(found.passages)} passages, "
            f"original text: {all(p.original for p in found.passages)})"
        )
        later, uncached = [], []
        for rank in (0, 1, 5, 10, 30, 100, 300, 1000, 3000, 10000, 20000):
            if rank >= len(words):
                continue
            found, seconds = _timed(lambda w=words[rank]: evidence.kwic(w))
            later.append(seconds)
            evidence._documents.clear()  # again with no document matched to the text yet
            _, cold = _timed(lambda w=words[rank]: evidence.kwic(w))
            uncached.append(cold)
            print(
                f"  later kwic, rank {rank:>5} '{words[rank]}': {seconds * 1000:8.1f} ms, "
                f"{cold * 1000:8.1f} ms with no document cached "
                f"({found.occurrences:,} occurrences in {found.documents:,} documents)"
            )
        for label, times in (("later queries", later), ("  no document cached", uncached)):
            print(
                f"{label}: median {statistics.median(times) * 1000:.1f} ms, "
                f"max {max(times) * 1000:.1f} ms (target: 500 ms)"
            )
        from w2v_core.errors import UnknownWordError

        for missing in ("qwertyuiop", "xylophones"):  # never in the text / rarer than min_count
            started = time.perf_counter()
            try:
                evidence.kwic(missing)
                message = "found"
            except UnknownWordError as error:
                message = str(error)
            seconds = time.perf_counter() - started
            print(f"  missing word, {seconds * 1000:8.1f} ms: {message}")
        for a, b in ((words[0], words[1]), (words[100], words[101]), (words[1000], words[1001])):
            pair, seconds = _timed(lambda a=a, b=b: evidence.pair(a, b))
            print(
                f"  pair('{a}', '{b}'): {seconds * 1000:8.1f} ms ({pair.co_occurrences:,} "
                f"co-occurrences, {len(pair.shared)} shared contexts)"
            )


if __name__ == "__main__":
    main()
