"""Stability studies: K runs of the same data and settings with different seeds (optionally each on a
bootstrap sample of the documents), and how much their answers agree.

Why: on a small corpus the nearest neighbours of a word change from seed to seed and from one sample
of the documents to another (Antoniak & Mimno 2018, "Evaluating the stability of embedding-based
word similarities"). A neighbour found by every run can be reported; one found by a single run is
noise. This module makes that check a routine.

Owns: the study folder and `study.json` (what the study is; written once, atomically), bootstrap
samples of a corpus (which documents each run got, saved as plain arrays), running the study (its
member runs are ordinary run folders trained through `w2v_core.jobs`, at most `parallel` at a time),
progress for the whole study, and the analyses: a word's neighbours across runs with "in k of K
runs", mean and spread of their cosine; a word's stability (mean Jaccard@k over run pairs); stability
against frequency; the agreement count behind "runs that agree" on the Neighbours page.
Leaves out: training (`w2v_core.trainer`), the run's own files (`w2v_core.run_folder`), spawning
processes (`w2v_core.jobs`) and any drawing.

Layout::

    STUDY_DIR/
      study.json          what the study is: settings, data, K, seeds, bootstrap, member runs
      runs/run-01-seed-1/ ... ordinary run folders (the app keeps its members in the runs root
                          instead, so the explore pages list them; study.json names them by path)
      samples/run-01.npy  bootstrap only: the documents run 1 got, as indices into the full corpus
                          (drawn with replacement; `np.bincount` gives each document's count)
      vocab.tsv, corpus.npz   bootstrap only: the full corpus the samples index
      STOP                a stop request for the whole study
      coordinator.lock    held by the process that starts the member runs one after another
      coordinator.pid, coordinator.log
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from w2v_core.compare import jaccard_at_k
from w2v_core.config import TrainConfig, VectorKind
from w2v_core.corpus import EncodedCorpus, encode_tokens
from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError, RunFolderError, UnknownWordError, W2VError
from w2v_core.io_utils import (
    Folder,
    InFolder,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    holding_lock,
    lock_is_held,
    publish_json_once,
    read_json,
)
from w2v_core.run_folder import RunFolder, RunStatus, now_iso, process_alive, slug
from w2v_core.vocab import Vocabulary

FORMAT_VERSION = 1
KIND = "stability-study"
MIN_RUNS, MAX_RUNS, DEFAULT_RUNS = 2, 20, 5
# Mixed into a run's seed for its bootstrap draw, so the draw is independent of training's randomness.
BOOTSTRAP_STREAM = 0xB007
# Readings of a word's stability (mean Jaccard@k of two runs' top-k lists). Two lists of k words
# with Jaccard J share 2kJ / (1 + J) words: 0.3 ~ 4.6 of 10, 0.6 ~ 7.5 of 10.
LOW_STABILITY = 0.3
HIGH_STABILITY = 0.6
FREQUENCY_SAMPLE = 2000  # words scored for the stability-vs-frequency chart (spread over all ranks)
StudyStatus = Literal["created", "running", "stopping", "stopped", "finished", "failed"]


def check_run_count(n_runs: int) -> int:
    if not isinstance(n_runs, int) or not MIN_RUNS <= n_runs <= MAX_RUNS:
        raise ConfigError(
            f"A stability study needs from {MIN_RUNS} to {MAX_RUNS} runs (seeds); got {n_runs}. "
            f"{DEFAULT_RUNS} is a good start."
        )
    return n_runs


def plan_parallel(config: TrainConfig, cpu_count: int | None = None) -> tuple[int, int | None]:
    """(runs at a time, threads per run). Measured on a 2-core machine (docs/BENCHMARKS.md): two
    one-thread runs side by side finish a study sooner than one two-thread run after another, since
    each run's start-up (imports, loading) overlaps the other's training; one thread also makes each
    run bit-for-bit reproducible. A GPU, or threads chosen by the person, run one at a time."""
    cores = cpu_count or os.cpu_count() or 1
    if config.device not in ("auto", "cpu") or config.threads is not None or cores < 2:
        return 1, config.threads
    from w2v_core.device import resolve_device

    if config.device == "auto" and resolve_device("auto").type != "cpu":
        return 1, None
    return min(2, cores), 1


# ---- bootstrap samples -------------------------------------------------------------------------------
def bootstrap_documents(n_documents: int, seed: int) -> np.ndarray:
    """`n_documents` document indices drawn with replacement (Antoniak & Mimno 2018), sorted, so the
    sample keeps the corpus's order. (D,) int64; `np.bincount(result, minlength=D)` is how many
    times each document was drawn (it sums to D; about 63% of documents appear at least once)."""
    if n_documents < 1:
        raise ConfigError("A bootstrap sample needs at least one document.")
    rng = np.random.default_rng([seed, BOOTSTRAP_STREAM])
    return np.sort(rng.integers(0, n_documents, size=n_documents)).astype(np.int64)


def bootstrap_corpus(
    vocab: Vocabulary,
    corpus: EncodedCorpus,
    documents: np.ndarray,
    min_count: int,
    max_vocab_size: int | None = None,
) -> tuple[Vocabulary, EncodedCorpus]:
    """The corpus made of `documents` (indices, repeats allowed), with its own vocabulary: the words
    of `vocab` that occur at least `min_count` times in the sample. Encoded by the one encoder
    (`corpus.encode_tokens`), so documents left with fewer than two tokens are dropped, and
    `source_rows` still point at the original data set's rows.

    (Words cut from the full corpus by min_count stay out even if the sample repeats them enough:
    the sample is drawn from the corpus as preprocessed.)
    """
    documents = np.asarray(documents, dtype=np.int64)
    starts = corpus.doc_offsets[documents]  # (S,)
    lengths = corpus.doc_offsets[documents + 1] - starts  # (S,)
    # token positions of the sampled documents, back to back: start of its document + offset in it
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    token_ids = corpus.token_ids[np.repeat(starts, lengths) + within]  # (N_sample,) old ids
    counts = np.bincount(token_ids, minlength=len(vocab))
    sample_vocab = Vocabulary.from_counts(
        dict(zip(vocab.words, counts.tolist(), strict=True)),
        min_count=min_count,
        max_size=max_vocab_size,
    )
    if len(sample_vocab) == 0:
        raise ConfigError(
            f"A bootstrap sample has no word reaching min_count={min_count}; the corpus is too small "
            "for a bootstrap study. Use more text, or a study of seeds only."
        )
    encoded = encode_tokens(vocab.words, token_ids, lengths, sample_vocab)
    kept = documents[encoded.source_rows]  # sample position -> full-corpus document
    return sample_vocab, dataclasses.replace(encoded, source_rows=corpus.source_rows[kept])


# ---- the study folder ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """One run of a study, as study.json lists it."""

    index: int  # 1-based
    seed: int
    path: Path  # absolute
    sample: Path | None  # bootstrap: samples/run-NN.npy

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class MemberProgress:
    member: Member
    status: RunStatus
    fraction_done: float  # of this run
    error: str | None


@dataclass(frozen=True)
class StudyProgress:
    """The whole study in one read: what the app's progress bar and the CLI's bar show."""

    status: StudyStatus
    n_runs: int
    finished: int
    members: list[MemberProgress]
    fraction_done: float  # of the whole study, 0..1
    eta_seconds: float | None
    coordinator_alive: bool

    @property
    def active(self) -> bool:
        return self.status in ("running", "stopping")

    @property
    def current(self) -> list[MemberProgress]:
        return [m for m in self.members if m.status.active]

    @property
    def failed(self) -> list[MemberProgress]:
        return [m for m in self.members if m.status in (RunStatus.FAILED, RunStatus.LOST)]

    def summary(self) -> str:
        """'2 of 5 runs done · run 3 at 40% · about 1 min 10 s left'."""
        parts = [f"{self.finished} of {self.n_runs} runs done"]
        parts += [f"run {m.member.index} at {m.fraction_done:.0%}" for m in self.current]
        if self.active and self.eta_seconds is not None:
            parts.append(f"about {_seconds(self.eta_seconds)} left")
        return " · ".join(parts)


class Study(Folder):
    """Read and write one study folder."""

    study_json = InFolder("study.json")
    samples_dir = InFolder("samples")
    stop_file = InFolder("STOP")
    lock_file = InFolder("coordinator.lock")
    pid_file = InFolder("coordinator.pid")
    worker_log = InFolder("coordinator.log")  # what jobs' spawn writes to

    # ---- creation / opening ----------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        config: TrainConfig,
        vocab: Vocabulary,
        corpus: EncodedCorpus,
        data: dict[str, Any],
        n_runs: int = DEFAULT_RUNS,
        bootstrap: bool = False,
        title: str | None = None,
        runs_root: str | Path | None = None,
        parallel: int | None = None,
        owner: str | None = None,
    ) -> Study:
        """Write a study folder and its `n_runs` member run folders (seeds `config.seed`,
        `config.seed + 1`, ...), ready to train. Members go to `STUDY/runs/` unless `runs_root` says
        otherwise (the app puts them in its runs root). Exclusive: a folder that already holds a study
        is refused. `parallel` (runs at a time) defaults to `plan_parallel`. `owner`: the owner id
        of the browser that made it (`w2v_core.ownership`), recorded in study.json and every member."""
        from w2v_core.trainer import check_trainable

        check_run_count(n_runs)
        check_trainable(config, vocab, corpus)
        study = cls(path)
        if study.study_json.exists():
            raise RunFolderError(f"'{study.path}' already holds a study; choose a new folder.")
        runs_at_once, threads = (parallel, config.threads) if parallel else plan_parallel(config)
        min_count = int(
            (data.get("preprocess") or {}).get("min_count") or data.get("min_count") or 1
        )
        max_vocab = (data.get("preprocess") or {}).get("max_vocab_size") or data.get(
            "max_vocab_size"
        )
        title = title or study.name
        study.path.mkdir(parents=True, exist_ok=True)
        members_root = Path(runs_root) if runs_root is not None else study.path / "runs"
        members: list[dict[str, Any]] = []
        prepared = []
        for index in range(1, n_runs + 1):
            seed = config.seed + index - 1
            entry: dict[str, Any] = {"index": index, "seed": seed}
            run_vocab, run_corpus = vocab, corpus
            if bootstrap:
                documents = bootstrap_documents(corpus.n_documents, seed)
                run_vocab, run_corpus = bootstrap_corpus(
                    vocab, corpus, documents, min_count, max_vocab
                )
                check_trainable(config, run_vocab, run_corpus)
                entry.update(
                    sample=f"samples/run-{index:02d}.npy",
                    documents_drawn=int(len(documents)),
                    distinct_documents=int(len(np.unique(documents))),
                    vocab_size=len(run_vocab),
                )
                prepared.append((documents, run_vocab, run_corpus))
            else:
                prepared.append((None, run_vocab, run_corpus))
            members.append(entry)
        info = {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "title": title,
            "created_at": now_iso(),
            "n_runs": n_runs,
            "seeds": [m["seed"] for m in members],
            "bootstrap": bootstrap,
            "parallel": runs_at_once,
            "config": config.replace(threads=threads).to_dict(),
            "data": data,
            "min_count": min_count,
            "vocab_size": len(vocab),
            "n_tokens": corpus.n_tokens,
            "n_documents": corpus.n_documents,
            "members": members,
            "owner": owner,
        }
        study._claim(info)  # from here on the folder is this study's
        if bootstrap:
            study.samples_dir.mkdir(exist_ok=True)
            vocab.save_tsv(study.path / "vocab.tsv")
            corpus.save(study.path / "corpus.npz")
        for entry, (documents, run_vocab, run_corpus) in zip(members, prepared, strict=True):
            index, seed = entry["index"], entry["seed"]
            if documents is not None:
                _save_array(study.path / entry["sample"], documents)
            run_data = {**data, "study": {"folder": str(study.path.resolve()), "member": index,
                                          "of": n_runs, "seed": seed, "bootstrap": bootstrap}}  # fmt: skip
            run_config = config.replace(seed=seed, threads=threads)
            run_title = f"{title} · run {index} of {n_runs} (seed {seed})"
            if runs_root is None:
                run = RunFolder.create(
                    members_root / f"run-{index:02d}-seed-{seed}",
                    run_config, run_vocab, run_corpus, data=run_data, name=run_title, owner=owner,
                )  # fmt: skip
            else:
                run = RunFolder.create_unique(
                    members_root, f"{slug(title, 24)}-run-{index}", run_config, run_vocab,
                    run_corpus, data=run_data, name=run_title, owner=owner,
                )  # fmt: skip
            entry["path"] = os.path.relpath(run.path.resolve(), study.path.resolve())
        atomic_write_json(study.study_json, {**info, "members": members})
        return study

    def _claim(self, info: dict[str, Any]) -> None:
        """Publish study.json only if there is none (a hard link fails when the name exists)."""
        if not publish_json_once(self.study_json, info):
            raise RunFolderError(f"'{self.path}' already holds a study; choose a new folder.")

    @classmethod
    def open(cls, path: str | Path) -> Study:
        study = cls(path)
        if not study.study_json.is_file():
            raise RunFolderError(
                f"'{study.path}' is not a stability study folder (it has no study.json)."
            )
        info = study.info()
        if info.get("kind") != KIND:
            raise RunFolderError(f"'{study.path}' is not a stability study folder.")
        return study

    def info(self) -> dict[str, Any]:
        try:
            info = read_json(self.study_json)
        except (OSError, ValueError) as error:
            raise RunFolderError(
                f"study.json of study '{self.name}' is damaged ({error})."
            ) from None
        if not isinstance(info, dict):
            raise RunFolderError(f"study.json of study '{self.name}' is damaged (not an object).")
        return info

    @property
    def title(self) -> str:
        return str(self.info().get("title") or self.name)

    def members(self) -> list[Member]:
        """The member runs; a member whose folder was not written yet (the study is being created)
        is left out."""
        result = []
        for entry in self.info().get("members") or []:
            if not entry.get("path"):
                continue
            sample = entry.get("sample")
            result.append(
                Member(
                    index=int(entry["index"]),
                    seed=int(entry["seed"]),
                    path=(self.path / entry["path"]).resolve(),
                    sample=self.path / sample if sample else None,
                )
            )
        return result

    def sample_documents(self, member: Member) -> np.ndarray | None:
        """The documents a bootstrap run got (indices into the study's corpus.npz), or None."""
        if member.sample is None:
            return None
        return np.load(member.sample, allow_pickle=False)

    def member_of(self, run_dir: str | Path) -> Member | None:
        resolved = Path(run_dir).resolve()
        return next((m for m in self.members() if m.path == resolved), None)

    # ---- stop requests and the coordinator ----------------------------------------------------------
    def request_stop(self) -> None:
        atomic_write_text(self.stop_file, str(time.time()))
        from w2v_core.training_queue import TrainingQueue

        for member in self.members():
            run = RunFolder(member.path)
            if not run.run_json.is_file() or TrainingQueue.of_run(run).withdraw(run):
                continue  # gone, or it was waiting in the training queue: out of it now
            if run.worker_alive():
                run.request_stop()

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    @contextlib.contextmanager
    def coordinator_lock(self) -> Iterator[None]:
        """Held by the one process that starts the member runs; a second one refuses."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(holding_lock(self.lock_file))
            except BlockingIOError:
                raise RunFolderError(f"Study '{self.name}' is already being trained.") from None
            yield

    def coordinator_alive(self) -> bool:
        if lock_is_held(self.lock_file):
            return True
        try:  # launched a moment ago and not holding the lock yet
            pid, launched = self.pid_file.read_text().split()
        except (OSError, ValueError):
            return False
        return time.time() - float(launched) < 30 and process_alive(int(pid))

    def launch(self, spawn: Callable[[], int]) -> int:
        """Clear an old stop request and call `spawn()` (starts a coordinator, returns its pid),
        unless one is alive: then a `RunFolderError`."""
        if self.coordinator_alive():
            raise RunFolderError(f"Study '{self.name}' is already training.")
        self.stop_file.unlink(missing_ok=True)
        pid = spawn()
        atomic_write_text(self.pid_file, f"{pid} {time.time()}\n")
        return pid

    # ---- progress ---------------------------------------------------------------------------------
    def progress(self) -> StudyProgress:
        info = self.info()
        members = self.members()
        n_runs = int(info.get("n_runs") or len(members))
        rows: list[MemberProgress] = []
        durations: list[float] = []
        rates: list[float] = []
        for member in members:
            run = RunFolder(member.path)
            try:
                state = run.state()
            except RunFolderError as error:
                rows.append(MemberProgress(member, RunStatus.FAILED, 0.0, str(error)))
                continue
            fraction = state.epochs_done / max(state.epochs_total, 1)
            if state.status == RunStatus.FINISHED:
                fraction = 1.0
                run_info = run.info()
                started = run_info.get("launched_at")
                ended = _unix(run_info.get("finished_at"))
                if isinstance(started, (int, float)) and ended is not None:
                    durations.append(max(ended - started, 0.0))
            elif state.status.active:
                metrics = run.metrics()
                launched = state.launched_at or 0.0
                latest = metrics.progress[-1] if metrics.progress else None
                if latest is not None and latest.time >= launched:
                    fraction = latest.fraction_done
                    if fraction > 0 and launched:
                        rates.append((time.time() - launched) / fraction)
            rows.append(MemberProgress(member, state.status, min(fraction, 1.0), state.error))
        finished = sum(1 for r in rows if r.status == RunStatus.FINISHED)
        alive = self.coordinator_alive()
        any_active = any(r.status.active for r in rows)
        if finished == n_runs:
            status: StudyStatus = "finished"
        elif alive or any_active:
            status = "stopping" if self.stop_requested() else "running"
        elif any(r.status in (RunStatus.FAILED, RunStatus.LOST) for r in rows):
            status = "failed"
        elif any(r.status != RunStatus.CREATED for r in rows):
            status = "stopped"
        else:
            status = "created"
        work_done = sum(r.fraction_done for r in rows)
        per_run = (
            float(np.mean(durations)) if durations else (float(np.mean(rates)) if rates else None)
        )
        eta = None
        if per_run is not None and status in ("running", "stopping"):
            eta = max(n_runs - work_done, 0.0) * per_run / max(int(info.get("parallel") or 1), 1)
        return StudyProgress(
            status=status,
            n_runs=n_runs,
            finished=finished,
            members=rows,
            fraction_done=min(work_done / max(n_runs, 1), 1.0),
            eta_seconds=eta,
            coordinator_alive=alive,
        )


def run_study(
    study: Study,
    start: Callable[[Path], Any],
    on_progress: Callable[[StudyProgress], None] | None = None,
    stop_event: Any = None,
    poll_seconds: float = 0.5,
) -> StudyProgress:
    """Train the study's runs that are not finished, at most `parallel` at a time: each is started
    with `start(run_dir)` (`w2v_core.jobs.start`: an ordinary background worker) and watched through
    its folder. A stop request (`stop_event` set, or the study's STOP file) stops the live runs,
    which save their vectors; running the study again continues them. A run that fails is not
    restarted in the same call. Returns the last progress."""
    with study.coordinator_lock():
        parallel = max(int(study.info().get("parallel") or 1), 1)
        tried: set[Path] = set()
        stopping = False
        while True:
            if not stopping and (study.stop_requested() or (stop_event and stop_event.is_set())):
                study.request_stop()
                stopping = True
            progress = study.progress()
            active = [m for m in progress.members if m.status.active]
            if not stopping:
                waiting = [
                    m for m in progress.members
                    if m.member.path not in tried and m.status != RunStatus.FINISHED
                    and not m.status.active
                ]  # fmt: skip
                for row in waiting[: max(parallel - len(active), 0)]:
                    tried.add(row.member.path)
                    start(row.member.path)
                if waiting:
                    progress = study.progress()
                    active = [m for m in progress.members if m.status.active]
            if on_progress is not None:
                on_progress(progress)
            if not active and (stopping or not any(
                m.member.path not in tried and m.status != RunStatus.FINISHED
                for m in progress.members
            )):  # fmt: skip
                return study.progress()
            time.sleep(poll_seconds)


def study_of(run_dir: str | Path) -> tuple[Study, Member] | None:
    """The study a run belongs to (from its run.json), with its member entry; None for other runs
    or when the study folder is gone."""
    try:
        folder = (RunFolder.open(run_dir).info().get("data") or {}).get("study", {}).get("folder")
    except (RunFolderError, AttributeError):
        return None
    if not folder:
        return None
    try:
        study = Study.open(folder)
    except RunFolderError:
        return None
    member = study.member_of(run_dir)
    return (study, member) if member is not None else None


def list_studies(root: str | Path) -> list[Study]:
    """Study folders directly under `root`, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [Study(p) for p in root.iterdir() if (p / "study.json").is_file()]
    return sorted(found, key=lambda s: s.study_json.stat().st_mtime, reverse=True)


# ---- analyses -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyVectors:
    """The finished runs' vectors, each cut to the words every run knows (same rows, same order)."""

    runs: list[str]  # member run names
    embeddings: list[Embeddings]  # restricted to the shared vocabulary
    full: list[Embeddings]  # as trained (their own vocabularies)
    vocab_sizes: list[int]

    @property
    def n_runs(self) -> int:
        return len(self.embeddings)

    @property
    def shared_size(self) -> int:
        return len(self.embeddings[0]) if self.embeddings else 0

    @property
    def same_vocabulary(self) -> bool:
        return all(size == self.shared_size for size in self.vocab_sizes)

    def vocabulary_note(self) -> str:
        """Plain words about the vocabulary the comparison uses."""
        if self.same_vocabulary:
            return f"All {self.n_runs} runs share one vocabulary of {self.shared_size:,} words."
        return (
            f"The runs' vocabularies differ (bootstrap samples: {min(self.vocab_sizes):,} to "
            f"{max(self.vocab_sizes):,} words), so they are compared on the {self.shared_size:,} "
            "words every run knows; neighbours are searched among those only."
        )

    def counts(self) -> np.ndarray:
        """Mean corpus count of each shared word over the runs, (V_shared,)."""
        counts = [e.counts for e in self.embeddings if e.counts is not None]
        return np.mean(counts, axis=0) if counts else np.zeros(self.shared_size)


def study_vectors(named: Sequence[tuple[str, Embeddings]]) -> StudyVectors:
    """Cut the runs' vectors to their shared vocabulary (in the first run's order)."""
    if len(named) < MIN_RUNS:
        raise ConfigError(
            f"Stability needs at least {MIN_RUNS} finished runs; this study has {len(named)} so far."
        )
    full = [emb for _, emb in named]
    shared = [w for w in full[0].words if all(w in e for e in full[1:])]
    if not shared:
        raise ConfigError(
            "The runs of this study have no word in common, so they cannot be compared."
        )
    same = all(len(e) == len(shared) and e.words == shared for e in full)
    restricted = full if same else [e.restrict(shared) for e in full]
    return StudyVectors([n for n, _ in named], restricted, full, [len(e) for e in full])


def load_study_vectors(
    study: Study,
    kind: VectorKind = "input",
    load: Callable[[Path], Embeddings] | None = None,
) -> StudyVectors:
    """The latest vectors of every finished member run. `load(run_dir)` lets the app use its cache."""
    load = load or (lambda path: Embeddings.from_run(path, None, kind))
    named = []
    for member in study.members():
        run = RunFolder(member.path)
        if run.run_json.is_file() and run.state().status == RunStatus.FINISHED:
            named.append((member.name, load(member.path)))
    return study_vectors(named)


@dataclass(frozen=True)
class AgreedNeighbour:
    word: str
    runs: int  # in how many runs' top-k lists it is
    mean_cosine: float  # over all runs (its cosine with the word in every run)
    std_cosine: float  # spread (population standard deviation) over the runs


@dataclass(frozen=True)
class WordStability:
    word: str
    k: int
    n_runs: int
    neighbours: list[AgreedNeighbour]  # every word in some run's top k; most agreed first
    stability: float  # mean Jaccard@k over the run pairs
    pair_jaccard: list[tuple[str, str, float]]
    count: float  # mean corpus count over the runs
    shared_vocab_size: int

    @property
    def level(self) -> Literal["low", "moderate", "high"]:
        return stability_level(self.stability)

    @property
    def reading(self) -> str:
        return stability_reading(self.stability, self.k, self.n_runs)

    @property
    def warning(self) -> str | None:
        if self.level != "low":
            return None
        return (
            f"'{self.word}' is unstable: its neighbours change from run to run (stability "
            f"{self.stability:.2f}, below {LOW_STABILITY}). Report only neighbours found in all "
            f"{self.n_runs} runs, if any; more text, more epochs or a higher min_count may help."
        )


def stability_level(value: float) -> Literal["low", "moderate", "high"]:
    if value < LOW_STABILITY:
        return "low"
    return "high" if value >= HIGH_STABILITY else "moderate"


def shared_of(jaccard: float, k: int) -> float:
    """How many of k neighbours two lists with this Jaccard share: |A n B| = 2kJ / (1 + J)."""
    return 2 * k * jaccard / (1 + jaccard)


def stability_reading(value: float, k: int, n_runs: int) -> str:
    """'Two runs share about 7 of the 10 nearest neighbours: stable.'"""
    level = {
        "high": "stable: its neighbours can be reported",
        "moderate": "moderately stable: report the neighbours most runs agree on",
        "low": "unstable: its neighbours are mostly chance",
    }[stability_level(value)]
    shared = shared_of(value, k)
    return (
        f"Stability {value:.2f} (mean Jaccard@{k} over the {n_runs * (n_runs - 1) // 2} pairs of "
        f"{n_runs} runs): two runs share about {shared:.0f} of the {k} nearest neighbours — {level}."
    )


def word_stability(vectors: StudyVectors, word: str, k: int = 10) -> WordStability:
    """A word's neighbours across the runs: for each word in any run's top k, in how many runs it is
    there, and the mean and spread of its cosine with `word` over all runs; and the word's stability,
    the mean Jaccard@k of the runs' top-k lists over all pairs of runs."""
    first = vectors.embeddings[0]
    if word not in first:
        known_in = sum(1 for e in vectors.full if word in e)
        if known_in:
            raise W2VError(
                f"'{word}' is in only {known_in} of the {vectors.n_runs} runs' vocabularies "
                f"(their bootstrap samples differ), so it cannot be compared across runs. "
                f"{vectors.vocabulary_note()}"
            )
        raise UnknownWordError(word, first.suggest(word))
    lists = [emb.most_similar(word, k=k) for emb in vectors.embeddings]
    candidates = list(dict.fromkeys(w for found in lists for w, _ in found))
    sets = [{w for w, _ in found} for found in lists]
    index = first.index_of(word)
    ids = [first.index_of(w) for w in candidates]
    cosines = np.array(
        [emb.unit_vectors[ids] @ emb.unit_vectors[index] for emb in vectors.embeddings]
    )
    rows = [
        AgreedNeighbour(w, sum(w in s for s in sets), float(cosines[:, j].mean()),
                        float(cosines[:, j].std()))
        for j, w in enumerate(candidates)
    ]  # fmt: skip
    rows.sort(key=lambda r: (-r.runs, -r.mean_cosine))
    pairs = [
        (vectors.runs[a], vectors.runs[b], jaccard_at_k(sets[a], sets[b]))
        for a, b in itertools.combinations(range(vectors.n_runs), 2)
    ]
    return WordStability(
        word=word,
        k=k,
        n_runs=vectors.n_runs,
        neighbours=rows,
        stability=float(np.mean([j for _, _, j in pairs])),
        pair_jaccard=pairs,
        count=float(vectors.counts()[index]),
        shared_vocab_size=vectors.shared_size,
    )


@dataclass(frozen=True)
class StudyReport:
    """Stability of many words at once: the data of the stability-vs-frequency chart and the most
    and least stable words."""

    k: int
    words: list[str]
    counts: np.ndarray  # (W,) mean corpus count
    stability: np.ndarray  # (W,) mean Jaccard@k over run pairs
    min_count: int  # the corpus's rare-word cut: no word below it has a vector
    shared_vocab_size: int
    sampled: bool  # True when `words` is a sample spread over all frequencies, not every word

    def most_stable(self, n: int = 10) -> list[tuple[str, float, float]]:
        """(word, stability, count), most stable first; ties: the more frequent word."""
        order = np.lexsort((-self.counts, -self.stability))[:n]
        return [(self.words[i], float(self.stability[i]), float(self.counts[i])) for i in order]

    def least_stable(self, n: int = 10) -> list[tuple[str, float, float]]:
        order = np.lexsort((-self.counts, self.stability))[:n]
        return [(self.words[i], float(self.stability[i]), float(self.counts[i])) for i in order]

    def share_low(self) -> float:
        return float(np.mean(self.stability < LOW_STABILITY)) if len(self.words) else 0.0


def study_report(
    vectors: StudyVectors, k: int = 10, min_count: int = 1, max_words: int = FREQUENCY_SAMPLE
) -> StudyReport:
    """Stability of every shared word (or of `max_words` spread evenly over the frequency ranks)."""
    n = vectors.shared_size
    sampled = n > max_words
    rows = (
        np.unique(np.linspace(0, n - 1, max_words).round().astype(int)) if sampled else np.arange(n)
    )
    words = [vectors.embeddings[0].words[i] for i in rows]
    found = [emb.most_similar_many(words, k) for emb in vectors.embeddings]
    sets = [[{w for w, _ in run[word]} for word in words] for run in found]  # [run][word]
    pairs = list(itertools.combinations(range(vectors.n_runs), 2))
    stability = np.array(
        [
            np.mean([jaccard_at_k(sets[a][i], sets[b][i]) for a, b in pairs])
            for i in range(len(words))
        ]
    )
    return StudyReport(
        k=k,
        words=words,
        counts=vectors.counts()[rows],
        stability=stability,
        min_count=min_count,
        shared_vocab_size=n,
        sampled=sampled,
    )


def agreement_counts(
    members: Sequence[Embeddings], word: str, neighbours: Sequence[str], k: int
) -> list[int]:
    """For each of `neighbours` (of `word`, in one run), in how many of the `members`' own top-k
    lists of `word` it appears. A run that does not know `word` agrees with none."""
    sets = [
        {w for w, _ in emb.most_similar(word, k=k)} if word in emb else set() for emb in members
    ]
    return [sum(n in s for s in sets) for n in neighbours]


# ---- small helpers -------------------------------------------------------------------------------------
def _save_array(path: Path, values: np.ndarray) -> None:
    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            np.save(handle, values, allow_pickle=False)

    atomic_write(path, write)


def _unix(iso: str | None) -> float | None:
    if not iso:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def _seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"
