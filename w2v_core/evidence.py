"""Evidence from the texts: the passages behind a word, and behind a word and one of its neighbours.

Owns: keyword-in-context lines (KWIC) of a run's word with its occurrence and document counts, the
original document on request, the passages where two words occur within the run's training window
of each other and the context words they share most (the counts behind their similarity), the
word -> positions index these are read from, mapping the run's tokens back to the original text,
and saying why a word is missing (`RemovedWordError`: which preprocessing step removed it).
Leaves out: escaping and drawing (the app and the CLI do that with the plain dataclasses returned
here), and the vectors themselves (`embeddings`).

Where the text comes from: a run keeps its encoded corpus (`corpus.npz`: what the model trained on)
and, in run.json's `data`, a reference to its data (the `DataSpec`, the fingerprint of its text and
the preprocessing settings) or, for `--corpus` runs, the corpus file's path and SHA-256. The original
text is loaded through that reference and checked against the fingerprint; each document is
tokenised again with offsets (`Splitter.split_with_spans`) and its tokens matched against the
encoded document, so stemmed words and placeholders point at the text they came from. When the text
is gone or changed, or a document no longer matches, the passages show the run's own tokens and say
so (`text_note`, `Passage.original`).

Counts are over the encoded corpus: a word's occurrences as the model saw them before subsampling
(which drops frequent words at random, anew each epoch), and context counts within the full window
on both sides (word2vec's dynamic window samples a smaller one each time, so nearer words
weigh more in training than these plain counts).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from w2v_core.errors import ConfigError, DataChangedError, SourceError, UnknownWordError, W2VError
from w2v_core.run_folder import RunFolder

Mark = Literal["", "word", "other"]
DEFAULT_LIMIT = 20  # passages shown
DEFAULT_CONTEXT = 6  # words either side of the keyword
_SPACES = re.compile(r"\s+")


# ---- what the queries return -------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """A stretch of a passage's text; `mark` says whether it is the word (or the other word)."""

    text: str
    mark: Mark = ""


@dataclass(frozen=True)
class Passage:
    """One place in the corpus: its pieces in reading order, whitespace collapsed to single spaces."""

    document: int  # index of the document in the run's corpus
    row: int  # row of the original data set (line of a corpus file) it came from
    pieces: tuple[Piece, ...]
    original: bool  # True: the original text; False: the run's preprocessed tokens

    def plain(self, before: str = "[[", after: str = "]]") -> str:
        """The passage as one line of text with the marked words between `before` and `after`."""
        return "".join(f"{before}{p.text}{after}" if p.mark else p.text for p in self.pieces)


@dataclass(frozen=True)
class WordEvidence:
    word: str
    occurrences: int  # in the encoded corpus (what the model trained on)
    documents: int  # documents holding it at least once
    passages: list[Passage]  # the first `limit` occurrences, in corpus order
    text_note: str | None = None  # why some or all passages show tokens instead of the text


@dataclass(frozen=True)
class SharedContext:
    """A context word of both words: how often it is within the window of each."""

    word: str
    with_word: int
    with_other: int


@dataclass(frozen=True)
class PairEvidence:
    word: str
    other: str
    window: int  # the run's training window: at most this many tokens apart
    co_occurrences: int  # (word, other) position pairs at most `window` apart in one document
    documents: int  # documents holding such a pair
    passages: list[Passage]  # one per occurrence of `word` with `other` nearby, the first `limit`
    shared: list[SharedContext]  # context words of both, most shared first (neither word itself)
    text_note: str | None = None


class RemovedWordError(UnknownWordError):
    """A word of the text that preprocessing removed; `step` names the step, the message says why."""

    def __init__(
        self, word: str, step: str, message: str, suggestions: list[str] | None = None
    ) -> None:
        super().__init__(word, suggestions)
        self.step = step
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        self.args = (message + hint,)


# ---- the text a run was made from --------------------------------------------------------------------
@dataclass
class _Document:
    """One document's text with its raw tokens' spans, and for each encoded token the raw tokens it
    came from (first, last: a phrase spans two); `matched` is False when they could not be matched."""

    text: str
    raw_spans: list[tuple[int, int]]
    token_raw: list[tuple[int, int]]
    matched: bool


class _DatasetText:
    """A data set named by a `DataSpec`, read through the run's preprocessing settings."""

    def __init__(self, data: dict[str, Any]) -> None:
        from w2v_core.preprocess import PreprocessConfig
        from w2v_core.preprocess.tokens import compile_pipeline
        from w2v_core.sources import DataSpec, load_spec

        spec = DataSpec.from_dict(data["spec"])
        self.config = PreprocessConfig.from_dict(data.get("preprocess") or {})
        self.dataset = load_spec(spec)  # SourceError naming the missing file or data set
        expected = data.get("fingerprint")
        if expected and self.dataset.fingerprint() != expected:
            raise DataChangedError(
                f"The text of '{spec.label or spec.key}' has changed since this run was made (its "
                "fingerprint differs), so its passages cannot be taken from it. Restore the "
                "original data to see them."
            )
        self.splitter, self.rules = compile_pipeline(self.config)
        self.phrases = self.config.phrases

    def text(self, row: int) -> str:
        return self.dataset.text_at(row)

    def tokens(self, text: str) -> tuple[list[tuple[int, int]], list[tuple[str, int]]]:
        """(spans of the raw tokens, (final word before the vocabulary, raw index) of kept ones)."""
        raw = self.splitter.split_with_spans(text)
        kept = []
        for i, (token, _, _) in enumerate(raw):
            token = self.rules.canonical(token)
            if self.rules.reason_dropped(token) is None:
                kept.append((self.rules.stem(token), i))
        return [(s, e) for _, s, e in raw], kept

    def candidate_rows(self, needle: str) -> list[int]:
        """Rows that may hold `needle` (a superset: each is tokenised to count exactly)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self.dataset.dataset.select_columns([self.dataset.text_column]).with_format("arrow")
        column = table[:][self.dataset.text_column]
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            return list(range(self.dataset.n_rows))
        if self.config.char_filter == "blog":  # deleted characters may sit inside the word
            pattern = "(?i)" + "[^a-z@#\\s]*".join(re.escape(ch) for ch in needle)
            found = pc.match_substring_regex(column, pattern)
        elif self.config.char_filter == "custom":
            return list(range(self.dataset.n_rows))
        else:
            found = pc.match_substring(column, needle, ignore_case=True)
        return np.flatnonzero(np.asarray(found.fill_null(False))).tolist()


class _CorpusFileText:
    """A pre-tokenised corpus file (`train --corpus`): one document per line, tokens at whitespace."""

    phrases = False

    def __init__(self, data: dict[str, Any]) -> None:
        import hashlib

        path = Path(data["path"])
        if not path.is_file():
            raise SourceError(f"The corpus file of this run is no longer there: {path}.")
        raw = path.read_bytes()
        if data.get("fingerprint") and hashlib.sha256(raw).hexdigest() != data["fingerprint"]:
            raise DataChangedError(
                f"The corpus file {path} has changed since this run was made (its fingerprint "
                "differs), so its passages cannot be taken from it."
            )
        # as `corpus.read_text_documents` reads it: every line is a document, even an empty one
        self.lines = raw.decode("utf-8", errors="replace").splitlines()
        self.min_count = int(data.get("min_count") or 5)
        self.max_vocab_size = data.get("max_vocab_size")

    def text(self, row: int) -> str:
        return self.lines[row]

    def tokens(self, text: str) -> tuple[list[tuple[int, int]], list[tuple[str, int]]]:
        raw = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        return [(s, e) for _, s, e in raw], [(token, i) for i, (token, _, _) in enumerate(raw)]

    def candidate_rows(self, needle: str) -> list[int]:
        return [i for i, line in enumerate(self.lines) if needle in line]


def _open_text(data: dict[str, Any]) -> _DatasetText | _CorpusFileText:
    if data.get("spec"):
        return _DatasetText(data)
    if data.get("source") == "file" and data.get("path"):
        return _CorpusFileText(data)
    raise SourceError(
        "This run does not say where its text came from (it was made by an older version or from "
        "texts in memory)."
    )


# ---- the evidence of one run -------------------------------------------------------------------------
class RunEvidence:
    """Passages and counts of one run. Build once per run and keep it (the app caches it): the
    word -> positions index (argsort of the token ids) and the text are made on first use.
    Thread-safe: every session of the app may share one."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run = RunFolder.open(run_dir)
        info = self.run.info()
        self.data: dict[str, Any] = info.get("data") or {}
        self.window = int((info.get("config") or {}).get("window") or 5)
        self.vocab = self.run.vocab()
        self.corpus = self.run.corpus()
        self._lock = threading.Lock()
        self._order: np.ndarray | None = None
        self._bounds: np.ndarray | None = None
        self._text: Any = None
        self._text_error: str | None = None
        self._documents: OrderedDict[int, _Document] = OrderedDict()

    # ---- the index ---------------------------------------------------------------------------------
    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._order is None:
                ids = self.corpus.token_ids
                self._order = np.argsort(ids, kind="stable")  # (N,) positions grouped by word
                bounds = np.zeros(len(self.vocab) + 1, dtype=np.int64)
                np.cumsum(np.bincount(ids, minlength=len(self.vocab)), out=bounds[1:])
                self._bounds = bounds  # (V + 1,) word w's positions: order[bounds[w]:bounds[w+1]]
            return self._order, self._bounds

    def positions(self, word: str) -> np.ndarray:
        """Where `word` is in the corpus (token positions, ascending); unknown words raise
        `UnknownWordError`, or `RemovedWordError` naming the step that removed them."""
        word_id = self.vocab.get_id(word)
        if word_id < 0:
            raise self.explain_missing(word)
        order, bounds = self._index()
        return order[bounds[word_id] : bounds[word_id + 1]]

    def _documents_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.corpus.doc_offsets, positions, side="right") - 1

    # ---- the text ----------------------------------------------------------------------------------
    def text_source(self) -> Any:
        """The run's text (loaded and checked once), or None with `text_problem()` saying why."""
        with self._lock:
            if self._text is None and self._text_error is None:
                try:
                    self._text = _open_text(self.data)
                except W2VError as error:
                    self._text_error = str(error)
            return self._text

    def text_problem(self) -> str | None:
        self.text_source()
        return self._text_error

    def document_text(self, document: int) -> str:
        """The original text of corpus document `document`; `SourceError` when it is not available."""
        if not 0 <= document < self.corpus.n_documents:
            raise ConfigError(
                f"There is no document {document}: the corpus has {self.corpus.n_documents:,}."
            )
        source = self.text_source()
        if source is None:
            raise SourceError(self._text_error or "The text of this run is not available.")
        return source.text(int(self.corpus.source_rows[document]))

    def _document(self, document: int) -> _Document | None:
        source = self.text_source()
        if source is None:
            return None
        with self._lock:
            cached = self._documents.get(document)
            if cached is not None:
                self._documents.move_to_end(document)
                return cached
        text = source.text(int(self.corpus.source_rows[document]))
        raw_spans, kept = source.tokens(text)
        token_raw, matched = _match_tokens(kept, self.corpus.document(document), self.vocab, source)
        aligned = _Document(text, raw_spans, token_raw, matched)
        with self._lock:
            self._documents[document] = aligned
            while len(self._documents) > 256:
                self._documents.popitem(last=False)
        return aligned

    # ---- a word ------------------------------------------------------------------------------------
    def kwic(
        self, word: str, limit: int = DEFAULT_LIMIT, context: int = DEFAULT_CONTEXT
    ) -> WordEvidence:
        """Keyword-in-context lines of `word` (the first `limit` occurrences), with its counts."""
        if limit < 1:
            raise ConfigError("The number of passages must be at least 1.")
        positions = self.positions(word)
        documents = self._documents_of(positions)
        passages = [
            self._passage(int(d), [(int(p), "word")], context)
            for p, d in zip(positions[:limit], documents[:limit])
        ]
        note = self._note(passages)
        if len(positions) == 0:
            note = (
                f"'{word}' is in the vocabulary, but every occurrence is in a document left with "
                "fewer than two words, which the model does not train on."
            )
        return WordEvidence(word, len(positions), int(len(np.unique(documents))), passages, note)

    # ---- a word and a neighbour --------------------------------------------------------------------
    def pair(
        self,
        word: str,
        other: str,
        limit: int = DEFAULT_LIMIT,
        context: int = DEFAULT_CONTEXT,
        top: int = 15,
    ) -> PairEvidence:
        """Where `word` and `other` are at most the run's window apart, and their shared contexts."""
        if word == other:
            raise ConfigError("Choose two different words.")
        if limit < 1:
            raise ConfigError("The number of passages must be at least 1.")
        mine, theirs = self.positions(word), self.positions(other)
        offsets = self.corpus.doc_offsets
        documents = self._documents_of(mine)
        low = np.maximum(mine - self.window, offsets[documents])  # (n,) same document only
        high = np.minimum(mine + self.window, offsets[documents + 1] - 1)
        first = np.searchsorted(theirs, low, side="left")  # (n,) their positions in [low, high]
        last = np.searchsorted(theirs, high, side="right")
        counts = last - first
        near = np.flatnonzero(counts > 0)
        passages = []
        for i in near[:limit]:
            candidates = theirs[first[i] : last[i]]
            closest = int(candidates[np.argmin(np.abs(candidates - mine[i]))])
            marks = sorted([(int(mine[i]), "word"), (closest, "other")])
            passages.append(self._passage(int(documents[i]), marks, context))
        word_counts = self._context_counts(mine)
        other_counts = self._context_counts(theirs)
        both = np.minimum(word_counts, other_counts)
        for excluded in (self.vocab.get_id(word), self.vocab.get_id(other)):
            both[excluded] = 0
        ranked = np.lexsort((-(word_counts + other_counts), -both))  # most shared, then most seen
        shared = [
            SharedContext(self.vocab.words[c], int(word_counts[c]), int(other_counts[c]))
            for c in ranked[:top]
            if both[c] > 0
        ]
        return PairEvidence(
            word, other, self.window, int(counts.sum()), int(len(np.unique(documents[near]))),
            passages, shared, self._note(passages),
        )  # fmt: skip

    def _context_counts(self, positions: np.ndarray) -> np.ndarray:
        """(V,) how often each word is at most `window` tokens from one of `positions` (same doc)."""
        offsets = self.corpus.doc_offsets
        documents = self._documents_of(positions)
        steps = np.r_[-self.window : 0, 1 : self.window + 1]  # (2W,)
        around = positions[:, None] + steps[None, :]  # (n, 2W)
        inside = (around >= offsets[documents][:, None]) & (
            around < offsets[documents + 1][:, None]
        )
        ids = self.corpus.token_ids[around[inside]]
        return np.bincount(ids, minlength=len(self.vocab)).astype(np.int64)

    # ---- passages ----------------------------------------------------------------------------------
    def _passage(self, document: int, marks: list[tuple[int, Mark]], context: int) -> Passage:
        row = int(self.corpus.source_rows[document])
        start = int(self.corpus.doc_offsets[document])
        local = [(p - start, mark) for p, mark in marks]  # token indices within the document
        aligned = self._document(document)
        if aligned is not None and aligned.matched:
            return Passage(document, row, _text_pieces(aligned, local, context), True)
        words = [self.vocab.words[t] for t in self.corpus.document(document)]
        return Passage(document, row, _token_pieces(words, local, context), False)

    def _note(self, passages: list[Passage]) -> str | None:
        if self.text_problem() is not None:
            return (
                f"{self._text_error} The passages show the run's preprocessed tokens (what the "
                "model trained on) instead of the original text."
            )
        unmatched = sum(not p.original for p in passages)
        if unmatched:
            return (
                f"{unmatched} of {len(passages)} passages show the preprocessed tokens: their "
                "document's text no longer matches the run's tokens."
            )
        return None

    # ---- why a word is missing ---------------------------------------------------------------------
    def explain_missing(self, word: str) -> UnknownWordError:
        """The error for a word outside the vocabulary: `RemovedWordError` naming the step that
        removed it (character filter, length limits, stopwords, stemming, min_count, max vocabulary
        size, phrases) when the run's settings and text tell, else `UnknownWordError`."""
        suggestions = self.vocab.suggest(word)
        if self.data.get("spec"):
            return self._explain_preprocessed(word, suggestions)
        if self.data.get("source") == "file":
            return self._explain_counted(word, word, suggestions)
        return UnknownWordError(word, suggestions)

    def _explain_preprocessed(self, word: str, suggestions: list[str]) -> UnknownWordError:
        from w2v_core.preprocess import PreprocessConfig
        from w2v_core.preprocess.tokens import compile_pipeline

        try:
            config = PreprocessConfig.from_dict(self.data.get("preprocess") or {})
            splitter, rules = compile_pipeline(config)
        except (W2VError, TypeError):
            return UnknownWordError(word, suggestions)
        pieces = splitter.split(word)
        if not pieces:
            return RemovedWordError(
                word, "character filter",
                f"'{word}' cannot be a word of this run: the character filter "
                f"('{config.char_filter}') keeps no part of it.", suggestions,
            )  # fmt: skip
        if len(pieces) > 1:
            known = [p for p in pieces if p in self.vocab]
            return RemovedWordError(
                word, "character filter",
                f"The character filter ('{config.char_filter}') splits '{word}' into "
                f"{', '.join(repr(p) for p in pieces)}, so it is not one word in this run.",
                known or suggestions,
            )  # fmt: skip
        token = rules.canonical(pieces[0])
        reason = rules.reason_dropped(token)
        if reason == "stopwords":
            listed = (
                "your own stopwords"
                if token in config.extra_stopwords
                else f"the {config.stopwords_language} stopword list"
            )
            return RemovedWordError(
                word, "stopwords", f"'{word}' was removed by the stopwords step: it is on {listed}."
            )
        if reason == "too short":
            return RemovedWordError(
                word, "length limits",
                f"'{word}' was removed by the length limits: words shorter than "
                f"{config.min_token_length} characters are dropped.",
            )  # fmt: skip
        if reason == "too long":
            return RemovedWordError(
                word, "length limits",
                f"'{word}' was removed by the length limits: words longer than "
                f"{config.max_token_length} characters are dropped.",
            )  # fmt: skip
        stemmed = rules.stem(token)
        if stemmed != token and stemmed in self.vocab:
            return RemovedWordError(
                word, "stemming",
                f"Stemming ({config.stem_language}) turns '{word}' into '{stemmed}': look that up.",
                [stemmed],
            )  # fmt: skip
        if token != word and stemmed in self.vocab:
            return UnknownWordError(word, [stemmed])  # e.g. "The" in a lowercased run
        return self._explain_counted(word, stemmed, suggestions, token)

    def _explain_counted(
        self, word: str, final: str, suggestions: list[str], written: str | None = None
    ) -> UnknownWordError:
        """Count `final` (the word as the pipeline makes it) in the text to tell min_count, the
        vocabulary size limit and phrases apart from a word the text never had."""
        if self.data.get("spec"):
            settings = self.data.get("preprocess") or {}
            min_count = int(settings.get("min_count") or 5)
            max_size = settings.get("max_vocab_size")
        else:
            min_count = int(self.data.get("min_count") or 5)
            max_size = self.data.get("max_vocab_size")
        count = self._count_in_text(final, written or final)
        if count is None:
            return UnknownWordError(word, suggestions)  # the text cannot tell which step
        shown = f"'{word}'" if final == word else f"'{word}' (as '{final}')"
        if count == 0:
            never = UnknownWordError(word, suggestions)
            hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
            never.args = (f"'{word}' is not in the vocabulary: the text never has it.{hint}",)
            return never
        if min_count is not None and count < min_count:
            return RemovedWordError(
                word, "min_count",
                f"{shown} occurs {_times(count)} in the text, fewer than "
                f"min_count={min_count}: words that rare are left out of the vocabulary.",
                suggestions,
            )  # fmt: skip
        if max_size is not None and len(self.vocab) >= int(max_size):
            return RemovedWordError(
                word, "max vocabulary size",
                f"{shown} occurs {_times(count)} in the text, but only the {int(max_size):,} most "
                f"frequent words are kept (max_vocab_size); the rarest kept word occurs "
                f"{int(self.vocab.counts[-1]):,} times.", suggestions,
            )  # fmt: skip
        source = self.text_source()
        if source is not None and source.phrases:
            joined = [w for w in self.vocab.words if final in w.split("_") and "_" in w][:5]
            return RemovedWordError(
                word, "phrases",
                f"{shown} occurs {_times(count)} in the text, but the phrases step joined it with "
                "its neighbours" + (f" (e.g. {', '.join(joined)})." if joined else "."),
                joined or suggestions,
            )  # fmt: skip
        return UnknownWordError(word, suggestions)

    def _count_in_text(self, final: str, written: str) -> int | None:
        """How often the pipeline makes `final` from the text (None when the text is unavailable).
        Only rows holding a prefix shared by `written` and `final` are tokenised (stems such as
        happi from happy share one)."""
        source = self.text_source()
        if source is None:
            return None
        prefix = next(
            (written[:n] for n in range(len(written), 0, -1) if final.startswith(written[:n])),
            written,
        )
        count = 0
        for row in source.candidate_rows(prefix):
            _, kept = source.tokens(source.text(row))
            count += sum(token == final for token, _ in kept)
        return count


def _times(count: int) -> str:
    return f"{count:,} time{'s' if count != 1 else ''}"


# ---- matching tokens to the text, and cutting passages -------------------------------------------------
def _match_tokens(
    kept: list[tuple[str, int]], encoded: np.ndarray, vocab: Any, source: Any
) -> tuple[list[tuple[int, int]], bool]:
    """For each encoded token, the raw tokens it came from; (…, False) when they do not match.

    Words outside the vocabulary were dropped from the encoded document; with phrases, two kept
    words make one token (`a_b`), and both words of a phrase too rare for the vocabulary vanish.
    """
    token_raw: list[tuple[int, int]] = []
    targets = encoded.tolist()
    j = 0
    for target in targets:
        while j < len(kept):
            word, raw = kept[j]
            phrase = f"{word}_{kept[j + 1][0]}" if source.phrases and j + 1 < len(kept) else None
            if phrase is not None and vocab.get_id(phrase) == target:
                token_raw.append((raw, kept[j + 1][1]))
                j += 2
                break
            own = vocab.get_id(word)
            j += 1
            if own == target:
                token_raw.append((raw, raw))
                break
            if own >= 0 and not source.phrases:
                return [], False  # a vocabulary word the run does not have here: not this text
        else:
            return [], False
    return token_raw, True


def _text_pieces(aligned: _Document, marks: list[tuple[int, Mark]], context: int) -> tuple:
    """Pieces of the original text from `context` raw tokens before the first mark to `context`
    after the last one; marks are (token index in the document, mark), in reading order."""
    spans = aligned.raw_spans
    first_raw = aligned.token_raw[marks[0][0]][0]
    last_raw = aligned.token_raw[marks[-1][0]][1]
    position = spans[max(first_raw - context, 0)][0]
    end = spans[min(last_raw + context, len(spans) - 1)][1]
    pieces = []
    for index, mark in marks:
        first, last = aligned.token_raw[index]
        start, stop = spans[first][0], spans[last][1]
        pieces += [Piece(aligned.text[position:start]), Piece(aligned.text[start:stop], mark)]
        position = stop
    pieces.append(Piece(aligned.text[position:end]))
    return _tidy(pieces)


def _token_pieces(words: list[str], marks: list[tuple[int, Mark]], context: int) -> tuple:
    position = max(marks[0][0] - context, 0)
    pieces = []
    for index, mark in marks:
        pieces += [Piece(" ".join(words[position:index]) + " "), Piece(words[index], mark)]
        position = index + 1
    pieces.append(Piece(" " + " ".join(words[position : marks[-1][0] + 1 + context])))
    return _tidy(pieces)


def _tidy(pieces: list[Piece]) -> tuple[Piece, ...]:
    """Whitespace (newlines too) as single spaces, nothing before the first or after the last
    word, empty unmarked pieces dropped."""
    tidy = [Piece(_SPACES.sub(" ", p.text), p.mark) for p in pieces]
    tidy[0] = Piece(tidy[0].text.lstrip(), tidy[0].mark)
    tidy[-1] = Piece(tidy[-1].text.rstrip(), tidy[-1].mark)
    return tuple(p for p in tidy if p.text or p.mark)


__all__ = [
    "DEFAULT_CONTEXT",
    "DEFAULT_LIMIT",
    "PairEvidence",
    "Passage",
    "Piece",
    "RemovedWordError",
    "RunEvidence",
    "SharedContext",
    "WordEvidence",
]
