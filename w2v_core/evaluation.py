"""Evaluation: how well vectors agree with human judgements, via gensim's own evaluators.

Owns: word-pair similarity (WordSim-353, SimLex-999: Spearman's rho between the model's cosines and
human ratings) and the Google analogy set ("Athens Greece Baghdad ?", 3CosAdd accuracy), both run by
gensim's `KeyedVectors.evaluate_word_pairs` / `evaluate_word_analogies` on `Embeddings.to_gensim()`
with the files bundled inside the gensim package, so our numbers are gensim's numbers.
Also owns: the scores of every saved checkpoint (`CheckpointEvaluation`: computed by the trainer
after each epoch and on demand for older runs, kept in the run folder's `evaluation.json`, whose file
and locking `w2v_core.run_folder` owns), and the user's own test files (word pairs with scores, or
analogies), read with every unusable line reported by number.
Leaves out: the queries themselves (`w2v_core.embeddings`).

Case: the benchmark files are mixed case ("Arafat", "FBI", "Athens") and our vocabulary is usually
lowercased. gensim's evaluators (`case_insensitive=True`, kept here) upper-case both the test words
and the model's words, so "Athens" matches "athens"; when a vocabulary keeps several case variants,
the first (most frequent) one is used. Questions with an unknown word are skipped and reported as the
out-of-vocabulary (OOV) share, never counted as wrong.

These benchmarks are English general-language sets: on a small or specialised corpus most pairs are
OOV and the scores say little; report them with the number of pairs used (`coverage`), and a
score that cannot be computed is None with a sentence (`message`), never NaN.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from w2v_core.config import VectorKind
from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError, W2VError
from w2v_core.run_folder import STOPPED, Epoch, RunFolder, now_iso

PairDataset = Literal["wordsim353", "simlex999"]
PAIR_FILES: dict[str, str] = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_FILE = "questions-words.txt"
# gensim's default: search (and accept questions within) the 300k most frequent words.
DEFAULT_RESTRICT_VOCAB = 300_000
# The stored per-checkpoint analogy scores ask only questions among the 10,000 most frequent words
# (gensim's `restrict_vocab`): each question is a scan of that many vectors, so on the 24,523-word
# benchmark corpus the whole vocabulary took ~5 s an epoch, 10,000 words ~1 s (docs/BENCHMARKS.md).
EPOCH_ANALOGY_VOCAB = 10_000
BENCHMARK_NAMES = {
    "wordsim353": "WordSim-353",
    "simlex999": "SimLex-999",
    "analogies": "Google analogies",
}
MIN_PAIRS = 3  # a rank correlation of fewer pairs means nothing


class EvaluationFileError(W2VError, ValueError):
    """A user's test file that cannot be used at all (too large, or no readable line)."""


def _coverage(
    used: int, total: int, unit: str, vocab_size: int | None, restrict_vocab: int | None
) -> str:
    """'212 of 353 pairs; 141 skipped: a word is not in the vocabulary'."""
    text = f"{used:,} of {total:,} {unit}"
    if total > used:
        text += f"; {total - used:,} skipped: {_skipped_reason(vocab_size, restrict_vocab)}"
    return text


def _skipped_reason(vocab_size: int | None, restrict_vocab: int | None) -> str:
    if vocab_size is not None and restrict_vocab is not None and vocab_size > restrict_vocab:
        return f"a word is not among the {restrict_vocab:,} most frequent words of the vocabulary"
    return "a word is not in the vocabulary"


@dataclass(frozen=True)
class WordPairsResult:
    dataset: str
    spearman: float | None  # rank correlation with the human ratings; None when < 3 pairs known
    pearson: float | None
    pairs_used: int  # pairs with both words in the (restricted) vocabulary
    pairs_total: int  # valid pairs in the file
    oov_share: float  # pairs skipped for an unknown word, 0..1
    vocab_size: int | None = None  # words in the vectors evaluated
    restrict_vocab: int | None = None  # only this many most frequent words counted as known

    @property
    def coverage(self) -> str:
        """'212 of 353 pairs; 141 skipped: a word is not in the vocabulary'."""
        return _coverage(
            self.pairs_used, self.pairs_total, "pairs", self.vocab_size, self.restrict_vocab
        )

    @property
    def message(self) -> str | None:
        """Why there is no score (None when there is one)."""
        if self.spearman is not None:
            return None
        name = BENCHMARK_NAMES.get(self.dataset, self.dataset)
        if self.pairs_used == 0:
            return f"No pair of {name} has both words in this vocabulary, so there is no score."
        if self.pairs_used < MIN_PAIRS:
            return (
                f"Only {self.pairs_used} pair(s) of {name} have both words in this vocabulary: too "
                f"few for a rank correlation ({MIN_PAIRS} needed)."
            )
        return (
            f"The {self.pairs_used} known pairs of {name} give no rank correlation (all their "
            "human scores, or all the model's similarities, are equal)."
        )

    @property
    def score_text(self) -> str:
        return "no score" if self.spearman is None else f"Spearman {self.spearman:.3f}"

    def summary(self) -> str:
        rho = "n/a" if self.spearman is None else f"{self.spearman:.3f}"
        return (
            f"{self.dataset}: Spearman {rho} on {self.pairs_used} of {self.pairs_total} pairs "
            f"({self.oov_share:.0%} with unknown words)"
        )


@dataclass(frozen=True)
class AnalogySection:
    name: str  # e.g. "capital-common-countries", "gram3-comparative"
    correct: int
    incorrect: int

    @property
    def attempted(self) -> int:
        return self.correct + self.incorrect

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.attempted if self.attempted else None


@dataclass(frozen=True)
class AnalogyResult:
    accuracy: float | None  # correct / attempted; None when no question had all four words known
    correct: int
    attempted: int  # questions with all four words known
    questions_total: int
    oov_share: float  # questions skipped for an unknown word, 0..1
    sections: list[AnalogySection]  # per section of the file, without gensim's "Total accuracy"
    vocab_size: int | None = None  # words in the vectors evaluated
    restrict_vocab: int | None = None  # questions asked, answers searched, among this many

    @property
    def coverage(self) -> str:
        """'1,204 of 19,544 questions; 18,340 skipped: a word is not in the vocabulary'."""
        return _coverage(
            self.attempted, self.questions_total, "questions", self.vocab_size, self.restrict_vocab
        )

    @property
    def message(self) -> str | None:
        """Why there is no score (None when there is one)."""
        if self.accuracy is not None:
            return None
        restricted = (self.vocab_size or 0) > (self.restrict_vocab or self.vocab_size or 0)
        among = f" (among its {self.restrict_vocab:,} most frequent words)" if restricted else ""
        return f"No analogy question has all four words in this vocabulary{among}, so there is no score."

    @property
    def score_text(self) -> str:
        return "no score" if self.accuracy is None else f"{self.accuracy:.1%} correct"

    def summary(self) -> str:
        accuracy = "n/a" if self.accuracy is None else f"{self.accuracy:.1%}"
        return (
            f"Google analogies: {accuracy} correct on {self.attempted} of {self.questions_total} "
            f"questions ({self.oov_share:.0%} with unknown words)"
        )


def benchmark_path(name: str) -> Path:
    """Path of a benchmark file bundled with gensim (`gensim.test.utils.datapath`)."""
    from gensim.test.utils import datapath

    return Path(datapath(name))


def evaluate_word_pairs(
    emb: Embeddings,
    which: PairDataset = "wordsim353",
    *,
    restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
    path: str | Path | None = None,
) -> WordPairsResult:
    """Spearman's rho between cosine similarities and human ratings of word pairs.

    Parameters
    ----------
    emb : Embeddings
    which : {"wordsim353", "simlex999"}
        WordSim-353 rates relatedness (cup-coffee is high); SimLex-999 rates similarity only
        (cup-coffee is low), which word2vec finds harder.
    restrict_vocab : int
        Only the first (most frequent) words count as known.
    path : optional
        A pairs file of the same format (word1<TAB>word2<TAB>score, `#` comments) to use instead.
    """
    if which not in get_args(PairDataset):
        raise ConfigError(f"Unknown word-pair benchmark '{which}': choose wordsim353 or simlex999.")
    pairs_path = Path(path) if path is not None else benchmark_path(PAIR_FILES[which])
    pairs = _read_pairs(pairs_path)
    total = len(pairs)
    known = {word.upper() for word in emb.words[:restrict_vocab]}  # gensim's case-insensitive rule
    used = sum(a in known and b in known for a, b in pairs)
    sizes = {"vocab_size": len(emb), "restrict_vocab": restrict_vocab}
    if used < MIN_PAIRS:
        share = (total - used) / total if total else 0.0
        return WordPairsResult(which, None, None, used, total, share, **sizes)
    with _quiet_gensim():
        pearson, spearman, oov_percent = emb.to_gensim().evaluate_word_pairs(
            str(pairs_path), restrict_vocab=restrict_vocab, case_insensitive=True
        )
    oov_share = oov_percent / 100  # gensim's figure; equals (total - used) / total
    return WordPairsResult(
        which,
        _finite(spearman.statistic),  # NaN when all ratings (or all cosines) are equal
        _finite(pearson.statistic),
        used,
        total,
        oov_share,
        **sizes,
    )


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def evaluate_analogies(
    emb: Embeddings,
    restrict_vocab: int = 30_000,
    *,
    path: str | Path | None = None,
) -> AnalogyResult:
    """Accuracy on the Google analogy questions (a : b :: c : ?, answered by 3CosAdd).

    Only questions whose four words are all among the `restrict_vocab` most frequent words are
    asked, and the answer is searched among those words too (word2vec's `compute-accuracy` uses
    30,000). Each question is one matrix-vector product over that many words, so a large vocabulary
    takes tens of seconds.
    """
    analogy_path = Path(path) if path is not None else benchmark_path(ANALOGY_FILE)
    with _quiet_gensim():
        _, sections = emb.to_gensim().evaluate_word_analogies(
            str(analogy_path), restrict_vocab=restrict_vocab, case_insensitive=True
        )
    parts = [
        AnalogySection(s["section"], len(s["correct"]), len(s["incorrect"]))
        for s in sections
        if s["section"] != "Total accuracy"
    ]
    correct = sum(part.correct for part in parts)
    attempted = sum(part.attempted for part in parts)
    total = _count_analogy_questions(analogy_path)
    return AnalogyResult(
        accuracy=correct / attempted if attempted else None,
        correct=correct,
        attempted=attempted,
        questions_total=total,
        oov_share=(total - attempted) / total if total else 0.0,
        sections=parts,
        vocab_size=len(emb),
        restrict_vocab=restrict_vocab,
    )


# ---- scores of every checkpoint, kept in the run folder ---------------------------------------------
@dataclass(frozen=True)
class CheckpointEvaluation:
    """The benchmark scores of one checkpoint's vectors, as stored in the run's evaluation.json.

    A benchmark that could not be run is None; an evaluation that failed altogether keeps its
    `error` (the trainer records it instead of failing) and counts as missing, so it is retried.
    """

    epoch: Epoch  # 1-based, or "stopped"
    kind: VectorKind
    position: float  # epochs of training behind these vectors (2.4 = stopped 40% into epoch 3)
    checkpoint_saved_at: str | None  # the checkpoint's sidecar `saved_at`: a rewrite makes it stale
    seconds: float  # how long the evaluation took
    evaluated_at: str
    wordsim353: WordPairsResult | None = None
    simlex999: WordPairsResult | None = None
    analogies: AnalogyResult | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return RunFolder.checkpoint_label(self.epoch)

    def benchmarks(self) -> list[tuple[str, WordPairsResult | AnalogyResult | None]]:
        """(display name, result) of each benchmark, in a fixed order."""
        return [
            (BENCHMARK_NAMES["wordsim353"], self.wordsim353),
            (BENCHMARK_NAMES["simlex999"], self.simlex999),
            (BENCHMARK_NAMES["analogies"], self.analogies),
        ]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CheckpointEvaluation:
        """The record of one stored entry; raises ValueError/TypeError/KeyError on a damaged one."""
        pairs = {
            key: WordPairsResult(**values[key]) if values.get(key) else None
            for key in ("wordsim353", "simlex999")
        }
        analogies = None
        if values.get("analogies"):
            raw = dict(values["analogies"])
            raw["sections"] = [AnalogySection(**part) for part in raw.get("sections") or []]
            analogies = AnalogyResult(**raw)
        epoch = values["epoch"]
        return cls(
            epoch=STOPPED if epoch == STOPPED else int(epoch),
            kind=values["kind"],
            position=float(values["position"]),
            checkpoint_saved_at=values.get("checkpoint_saved_at"),
            seconds=float(values["seconds"]),
            evaluated_at=str(values.get("evaluated_at") or ""),
            analogies=analogies,
            error=values.get("error"),
            **pairs,
        )


def evaluate_embeddings(
    emb: Embeddings, analogy_vocab: int = EPOCH_ANALOGY_VOCAB
) -> tuple[WordPairsResult, WordPairsResult, AnalogyResult]:
    """WordSim-353, SimLex-999 and the Google analogies (among the `analogy_vocab` most frequent
    words) on one set of vectors."""
    return (
        evaluate_word_pairs(emb, "wordsim353"),
        evaluate_word_pairs(emb, "simlex999"),
        evaluate_analogies(emb, restrict_vocab=analogy_vocab),
    )


def _checkpoint_facts(run: RunFolder, epoch: Epoch) -> tuple[float, str | None]:
    """(position in epochs of training, saved_at) of a checkpoint, from its sidecar."""
    meta = run.checkpoint_meta(epoch)
    if epoch == STOPPED:
        started = int(meta.get("epoch") or 1) - 1  # the epoch in progress, 1-based
        return started + float(meta.get("epoch_fraction") or 0.0), meta.get("saved_at")
    return float(epoch), meta.get("saved_at")


def evaluate_checkpoint(
    run: RunFolder | str | Path,
    epoch: Epoch,
    kind: VectorKind = "input",
    embeddings: Embeddings | None = None,
) -> CheckpointEvaluation:
    """Evaluate one saved checkpoint and store the result in the run folder.

    `embeddings` may hand over the checkpoint's vectors already in memory (the trainer does). An
    error while evaluating is recorded (and returned) rather than raised; an unreadable checkpoint
    or run folder still raises its `RunFolderError`.
    """
    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    position, saved_at = _checkpoint_facts(run, epoch)
    emb = embeddings if embeddings is not None else Embeddings.from_run(run, epoch, kind)
    import gensim.models  # noqa: F401 - its first import (~1 s) is not part of the evaluation's time

    start = time.perf_counter()
    results: dict[str, Any] = {}
    error = None
    try:
        results = dict(zip(("wordsim353", "simlex999", "analogies"), evaluate_embeddings(emb)))
    except Exception as failure:  # noqa: BLE001 - recorded: an evaluation never fails training
        error = f"The evaluation failed: {type(failure).__name__}: {failure}"
    record = CheckpointEvaluation(
        epoch=epoch,
        kind=kind,
        position=position,
        checkpoint_saved_at=saved_at,
        seconds=time.perf_counter() - start,
        evaluated_at=now_iso(),
        error=error,
        **results,
    )
    run.save_evaluation_record(record.label, kind, record.to_dict())
    return record


def stored_evaluations(
    run: RunFolder | str | Path, kind: VectorKind = "input"
) -> list[CheckpointEvaluation]:
    """The stored scores of `kind` vectors that still describe the run, in training order.

    Kept: an epoch whose checkpoint is unchanged, or was pruned (`keep_every`: its scores outlive its
    vectors); "stopped" only while that very checkpoint exists. Dropped: a damaged entry, one whose
    checkpoint was rewritten since, or one past the epochs done. A damaged file reads as empty.
    """
    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    saved = set(run.saved_epochs())
    done = run.epochs_done()
    records = []
    for by_kind in run.evaluation_records().values():
        values = by_kind.get(kind) if isinstance(by_kind, dict) else None
        if not isinstance(values, dict):
            continue
        try:
            record = CheckpointEvaluation.from_dict(values)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # damaged: counts as missing, and is recomputed on demand
        if record.epoch in saved:
            try:
                if run.checkpoint_meta(record.epoch).get("saved_at") != record.checkpoint_saved_at:
                    continue  # the checkpoint was rewritten (a later stop, a re-trained epoch)
            except W2VError:
                continue
        elif record.epoch == STOPPED or int(record.epoch) > done:
            continue
        records.append(record)
    return sorted(records, key=lambda r: r.position)


def missing_evaluations(run: RunFolder | str | Path, kind: VectorKind = "input") -> list[Epoch]:
    """Saved checkpoints without a current, successful evaluation of `kind` vectors."""
    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    done = {r.epoch for r in stored_evaluations(run, kind) if r.error is None}
    return [epoch for epoch in run.saved_epochs() if epoch not in done]


def evaluate_missing(
    run: RunFolder | str | Path,
    kind: VectorKind = "input",
    progress: Callable[[float, str], None] | None = None,
) -> list[CheckpointEvaluation]:
    """Evaluate (and store) every saved checkpoint that has no current evaluation: for runs made
    before the trainer evaluated, other vector kinds, or a failed evaluation. Returns the new ones."""
    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    epochs = missing_evaluations(run, kind)
    records = []
    for i, epoch in enumerate(epochs):
        if progress is not None:
            progress(
                i / len(epochs), f"Evaluating {_epoch_words(epoch)} ({i + 1} of {len(epochs)})…"
            )
        records.append(evaluate_checkpoint(run, epoch, kind))
    if progress is not None:
        progress(1.0, "Done")
    return records


def _epoch_words(epoch: Epoch) -> str:
    return "where it stopped" if epoch == STOPPED else f"epoch {epoch}"


# ---- the user's own test: word pairs with scores, or analogies ---------------------------------------
MAX_TEST_FILE_BYTES = 5 * 1024 * 1024
TestKind = Literal["pairs", "analogies"]
_PAIR_SEPARATORS = ("\t", ",")  # else any whitespace


@dataclass(frozen=True)
class BadLine:
    number: int  # 1-based, as an editor shows it
    reason: str


@dataclass(frozen=True)
class UserTest:
    """A user's test file, read: its usable lines in gensim's format, and the lines left out."""

    name: str
    kind: TestKind
    lines: list[str]  # gensim's format: "a\tb\tscore" / ": section" and "a b c d"
    items: int  # pairs or questions read
    bad_lines: list[BadLine]

    def bad_lines_summary(self, limit: int = 20) -> list[str]:
        """'line 3: ...' for the first `limit` bad lines, then how many more."""
        shown = [f"line {b.number}: {b.reason}" for b in self.bad_lines[:limit]]
        if len(self.bad_lines) > limit:
            shown.append(f"… and {len(self.bad_lines) - limit:,} more")
        return shown


def read_test_file(data: bytes | str, kind: TestKind, name: str = "your test") -> UserTest:
    """Read a word-pair file (two words and a number a line, separated by a tab, a comma or spaces)
    or an analogy file (gensim's `: section` lines and four words a line, or just four words a line).

    Empty lines and lines starting with `#` are skipped silently; every other line that cannot be
    read is reported by number and the rest is used. A file with no usable line is an
    `EvaluationFileError`, as is one over `MAX_TEST_FILE_BYTES`.
    """
    if kind not in get_args(TestKind):
        raise ConfigError(f"Unknown test kind '{kind}': choose pairs or analogies.")
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_TEST_FILE_BYTES:
        raise EvaluationFileError(
            f"'{name}' is {len(raw) / 1e6:.1f} MB; a test file may be at most "
            f"{MAX_TEST_FILE_BYTES / 1e6:.0f} MB."
        )
    read_line = _pair_line if kind == "pairs" else _analogy_line
    lines: list[str] = []
    bad: list[BadLine] = []
    items = 0
    has_section = False
    for number, raw_line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").splitlines(), start=1):
        try:
            text = raw_line.decode("utf-8").strip()
        except UnicodeDecodeError:
            bad.append(BadLine(number, "not UTF-8 text"))
            continue
        if not text or text.startswith("#"):
            continue
        try:
            line = read_line(text, number)
        except ValueError as reason:
            bad.append(BadLine(number, str(reason)))
            continue
        if line.startswith(": "):
            has_section = True
        else:
            if kind == "analogies" and not has_section:
                lines.append(": your questions")  # gensim wants a section before the questions
                has_section = True
            items += 1
        lines.append(line)
    if not items:
        what = "two words and a number" if kind == "pairs" else "four words"
        first = f" (line {bad[0].number}: {bad[0].reason})" if bad else ""
        raise EvaluationFileError(
            f"'{name}' has no usable line: each line should hold {what}{first}."
        )
    return UserTest(name, kind, lines, items, bad)


def read_test_path(path: str | Path, kind: TestKind) -> UserTest:
    """`read_test_file` of a file on disk (checked for size before it is read)."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationFileError(f"'{path}' is not a file.")
    if path.stat().st_size > MAX_TEST_FILE_BYTES:
        raise EvaluationFileError(
            f"'{path.name}' is {path.stat().st_size / 1e6:.1f} MB; a test file may be at most "
            f"{MAX_TEST_FILE_BYTES / 1e6:.0f} MB."
        )
    return read_test_file(path.read_bytes(), kind, name=path.name)


def _pair_line(text: str, number: int) -> str:
    separator = next((sep for sep in _PAIR_SEPARATORS if sep in text), None)
    fields = [f.strip() for f in (text.split(separator) if separator else text.split())]
    if len(fields) != 3:
        raise ValueError(f"expected two words and a number, found {len(fields)} field(s)")
    first, second, score = fields
    if not first or not second:
        raise ValueError("a word is empty")
    if any(ch.isspace() for ch in first + second):
        raise ValueError("a word contains a space")
    try:
        value = float(score)
    except ValueError:
        raise ValueError(f"'{score}' is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"'{score}' is not a finite number")
    return f"{first}\t{second}\t{value!r}"


def _analogy_line(text: str, number: int) -> str:
    if text.startswith(":"):
        section = text[1:].strip() or f"section at line {number}"
        return f": {section}"
    words = [w for w in re.split(r"[\s,]+", text) if w]
    if len(words) != 4:
        raise ValueError(f"expected four words (a b c d), found {len(words)}")
    return " ".join(words)


def evaluate_user_test(
    emb: Embeddings, test: UserTest, analogy_vocab: int = 30_000
) -> WordPairsResult | AnalogyResult:
    """A user's test on these vectors, through the same gensim evaluators as the benchmarks."""
    with tempfile.TemporaryDirectory(prefix="w2v-test-") as folder:
        path = Path(folder) / ("pairs.tsv" if test.kind == "pairs" else "questions.txt")
        path.write_text("\n".join(test.lines) + "\n", encoding="utf-8")
        if test.kind == "pairs":
            result = evaluate_word_pairs(emb, path=path)
            return dataclasses.replace(result, dataset=test.name)
        return evaluate_analogies(emb, restrict_vocab=analogy_vocab, path=path)


# ---- reading the files with gensim's rules ---------------------------------------------------------
def _read_pairs(path: Path) -> list[tuple[str, str]]:
    """Upper-cased word pairs of the valid lines (gensim: skip `#` lines and lines not word, word,
    number)."""
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 3:
                continue
            try:
                float(fields[2])
            except ValueError:
                continue
            pairs.append((fields[0].upper(), fields[1].upper()))
    return pairs


def _count_analogy_questions(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if not line.startswith(": ") and len(line.split()) == 4)


class _quiet_gensim:
    """While gensim evaluates: silence its per-line INFO logging ("Skipping line #12 with OOV
    words") and scipy's warning on constant input (the score is then None, with its `message`), and
    give BLAS one thread. Each analogy question is one matrix-vector product, too small to share:
    on the loaded 2-core machine 4,601 questions took 8.6-15.5 s with OpenBLAS's two threads and
    1.1 s with one (docs/BENCHMARKS.md)."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("gensim.models.keyedvectors")
        self._level = self._logger.level
        self._logger.setLevel(logging.WARNING)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.filterwarnings("ignore", message="An input array is constant")
        try:  # a dependency of scikit-learn, so normally present
            from threadpoolctl import threadpool_limits

            self._blas = threadpool_limits(1, user_api="blas")
        except ImportError:  # pragma: no cover
            self._blas = None

    def __exit__(self, *exc: object) -> None:
        if self._blas is not None:
            self._blas.restore_original_limits()
        self._warnings.__exit__(*exc)
        self._logger.setLevel(self._level)
