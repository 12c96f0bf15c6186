"""Cached loaders: everything expensive a page needs, computed once per set of inputs.

Keys are small and explicit (run folder name, epoch, vector kind, parameters), so a cached result is
shared by every session that asks the same question, and one user's work never becomes another's
session state. Checkpoints never change once written, except the "stopped" one, which a later stop
rewrites: keys include the checkpoint's modification time, so nothing stale is ever served.
"""

from __future__ import annotations

import os
import threading

import streamlit as st

from w2v_core.projection import TSNE_PERPLEXITY, UMAP_MIN_DIST, UMAP_NEIGHBOURS


@st.cache_resource(show_spinner=False)
def device_description() -> str:
    """'CPU, 2 cores' or the GPU's name: what a new run with device 'auto' trains on."""
    from w2v_core.device import describe_device

    return describe_device()


# ---- vectors ---------------------------------------------------------------------------------------
def _checkpoint_stamp(run_name: str, epoch: int | str | None) -> float:
    """Changes when the checkpoint is rewritten (a later stop rewrites 'stopped')."""
    from w2v_ui import runs

    return runs.run_folder(run_name).checkpoint_stamp(epoch)


@st.cache_resource(max_entries=16, show_spinner=False)
def _vocabulary(run_name: str, stamp: float):
    """A run's vocabulary, read once per run (it never changes after the run is created)."""
    from w2v_ui import runs

    del stamp
    return runs.run_folder(run_name).vocab()


@st.cache_resource(max_entries=24, show_spinner=False)
def _embeddings(run_name: str, epoch: int | str | None, kind: str, stamp: float):
    from w2v_core.embeddings import Embeddings
    from w2v_ui import runs

    del stamp  # part of the cache key only
    run = runs.run_folder(run_name)
    try:
        vocab_stamp = run.vocab_tsv.stat().st_mtime
    except OSError:
        vocab_stamp = 0.0
    vocab = _vocabulary(run_name, vocab_stamp)
    return Embeddings.from_run(run, epoch=epoch, kind=kind, vocab=vocab)


def embeddings(run_name: str, epoch: int | str | None = None, kind: str = "input"):
    """The `Embeddings` of one checkpoint, shared by every session asking for the same one."""
    return _embeddings(run_name, epoch, kind, _checkpoint_stamp(run_name, epoch))


def epoch_embeddings(run_name: str, kind: str, epochs=None):
    """(epoch, Embeddings) of every saved checkpoint, each through the cached loader above."""
    from w2v_core import compare
    from w2v_ui import runs

    return compare.epoch_embeddings(
        runs.run_folder(run_name), kind, epochs, load=lambda e: embeddings(run_name, e, kind)
    )


# ---- maps ------------------------------------------------------------------------------------------
@st.cache_data(max_entries=48, show_spinner=False)
def _word_map(
    run_name: str,
    epoch,
    kind: str,
    stamp: float,
    scope: str,
    top_n: int,
    centre: str | None,
    size: int,
    method: str,
    n_neighbors: int,
    min_dist: float,
    perplexity: float,
):
    from w2v_ui import maps

    del stamp  # part of the cache key only
    emb = embeddings(run_name, epoch, kind)
    words = maps.map_words(emb, scope, top_n, centre, size)
    return maps.build_map(
        emb,
        words,
        method,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        perplexity=perplexity,
        centre=centre if scope == "around" else None,
    )


def word_map(
    run_name: str,
    epoch,
    kind: str,
    scope: str,
    top_n: int,
    centre: str | None,
    size: int,
    method: str,
    n_neighbors: int = UMAP_NEIGHBOURS,
    min_dist: float = UMAP_MIN_DIST,
    perplexity: float = TSNE_PERPLEXITY,
):
    """A `maps.WordMap`, cached by run, epoch, vectors and every map setting.

    Settings a method ignores are normalised first, so moving the UMAP sliders does not recompute a
    PCA map, and a 'top' map does not depend on the centre word.
    """
    if scope == "top":
        centre, size = None, 0
    else:
        top_n = 0
    if method != "umap":
        n_neighbors, min_dist = 0, 0.0
    if method != "tsne":
        perplexity = 0.0
    return _word_map(
        run_name,
        epoch,
        kind,
        _checkpoint_stamp(run_name, epoch),
        scope,
        top_n,
        centre,
        size,
        method,
        n_neighbors,
        min_dist,
        perplexity,
    )


@st.cache_data(max_entries=48, show_spinner=False)
def _clusters(run_name: str, epoch, kind: str, stamp: float, words: tuple[str, ...], k: int):
    from w2v_ui import maps

    del stamp
    return maps.clusters(embeddings(run_name, epoch, kind), list(words), k)


def clusters(run_name: str, epoch, kind: str, words: list[str], k: int):
    return _clusters(run_name, epoch, kind, _checkpoint_stamp(run_name, epoch), tuple(words), k)


# ---- comparing epochs and runs ----------------------------------------------------------------------
def run_stamp(run_name: str) -> tuple:
    """Changes whenever the run saves or removes a checkpoint."""
    from w2v_ui import runs

    return runs.run_folder(run_name).checkpoints_stamp()


@st.cache_data(max_entries=32, show_spinner=False)
def _neighbours_by_epoch(
    run_name: str, stamp: tuple, words: tuple[str, ...], k: int, kind: str, epochs
):
    from w2v_core import compare

    del stamp
    checkpoints = epoch_embeddings(run_name, kind, epochs)
    return compare.neighbours_by_epoch(checkpoints, list(words), k)


def neighbours_by_epoch(run_name: str, words: list[str], k: int, kind: str, epochs=None):
    """Neighbours of `words` at each of `epochs` (all saved epochs when None), in that order."""
    epochs = tuple(epochs) if epochs is not None else None
    return _neighbours_by_epoch(run_name, run_stamp(run_name), tuple(words), k, kind, epochs)


@st.cache_data(max_entries=32, show_spinner=False)
def _consecutive_overlap(run_name: str, stamp: tuple, k: int, kind: str, top_n: int, epochs):
    from w2v_core import compare

    del stamp
    return compare.consecutive_overlap(epoch_embeddings(run_name, kind, epochs), None, k, top_n)


def consecutive_overlap(run_name: str, k: int, kind: str, top_n: int = 500, epochs=None):
    """Mean Jaccard@k of the `top_n` most frequent words between consecutive epochs of `epochs`
    (all saved epochs when None)."""
    epochs = tuple(epochs) if epochs is not None else None
    return _consecutive_overlap(run_name, run_stamp(run_name), k, kind, top_n, epochs)


@st.cache_data(max_entries=16, show_spinner=False)
def _trajectories(
    run_name: str, stamp: tuple, words: tuple[str, ...], method: str, kind: str, epochs
):
    from w2v_core import compare

    del stamp
    checkpoints = epoch_embeddings(run_name, kind, epochs)
    return compare.epoch_trajectories(checkpoints, list(words), method)


def trajectories(run_name: str, words: list[str], method: str, kind: str, epochs=None):
    """`EpochMaps` of `words`: one aligned 2D map per epoch of `epochs` (all saved when None)."""
    epochs = tuple(epochs) if epochs is not None else None
    return _trajectories(run_name, run_stamp(run_name), tuple(words), method, kind, epochs)


@st.cache_data(max_entries=16, show_spinner=False)
def _compare_runs(
    run_a: str,
    epoch_a,
    stamp_a: float,
    run_b: str,
    epoch_b,
    stamp_b: float,
    kind: str,
    words: tuple[str, ...] | None,
    k: int,
):
    from w2v_core import compare

    del stamp_a, stamp_b
    return compare.compare_runs(
        embeddings(run_a, epoch_a, kind),
        embeddings(run_b, epoch_b, kind),
        list(words) if words is not None else None,
        k,
    )


def compare_runs(
    run_a: str, epoch_a, run_b: str, epoch_b, kind: str, words: list[str] | None, k: int
):
    return _compare_runs(
        run_a,
        epoch_a,
        _checkpoint_stamp(run_a, epoch_a),
        run_b,
        epoch_b,
        _checkpoint_stamp(run_b, epoch_b),
        kind,
        tuple(words) if words is not None else None,
        k,
    )


def loss_records(run_name: str):
    """The run's `Metrics` (progress and epoch records), read fresh: cheap, and it grows while
    training."""
    from w2v_ui import runs

    return runs.run_folder(run_name).metrics()


# ---- preprocessing ---------------------------------------------------------------------------------
class Preparation:
    """One preprocessing request running (or done) in a background thread: its progress, then its
    result or its error. Pages poll it; nothing here draws."""

    def __init__(self) -> None:
        import threading

        self.fraction = 0.0
        self.message = "Starting…"
        self.result = None
        self.error: BaseException | None = None
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def report(self, fraction: float, message: str) -> None:
        self.fraction, self.message = min(max(float(fraction), 0.0), 1.0), message

    def finish(self, result=None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


class _Preparations:
    """The preprocessing results of this process by (data spec, config), newest kept; lock-guarded.

    The work runs once per key, in a background thread, whoever asks first: a second session asking
    for the same corpus meanwhile gets the same `Preparation` to watch, the script thread never waits
    for it, and the progress bar shows the very run whose result is kept. A failed request stays
    (with its error) until `forget` is called, so a page does not restart it on every rerun.
    """

    def __init__(self, max_entries: int) -> None:
        import threading
        from collections import OrderedDict

        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()

    def get(self, key, compute) -> Preparation:
        import threading

        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            preparation = Preparation()
            self._entries[key] = preparation
            self._evict()

        def work() -> None:
            try:
                preparation.finish(result=compute(preparation.report))
            except BaseException as error:  # noqa: BLE001 - handed to the page that shows it
                preparation.finish(error=error)

        threading.Thread(target=work, daemon=True, name="w2v-preprocess").start()
        return preparation

    def forget_failed(self, key) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.done and entry.error is not None:
                del self._entries[key]

    def forget(self, key) -> None:
        """Drop a finished request (succeeded or failed), so the next one does the work again."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.done:
                del self._entries[key]

    def _evict(self) -> None:
        finished = [k for k, p in self._entries.items() if p.done]
        while len(self._entries) > self._max_entries and finished:
            self._entries.pop(finished.pop(0))


@st.cache_resource(show_spinner=False)
def _preparations() -> _Preparations:
    return _Preparations(max_entries=8)


def preparation(choice, config) -> Preparation:
    """The preprocessing of a `DataSpec` with a config, started in the background if it is not
    running or done yet: in memory per process, on disk (by the core) across restarts."""
    from w2v_core.preprocess import preprocess
    from w2v_ui import datasets

    return _preparations().get(
        (choice, config), lambda report: preprocess(datasets.load(choice), config, progress=report)
    )


def forget_failed_preparation(choice, config) -> None:
    """Drop a failed preparation, so the next request tries again (one running or done stays)."""
    _preparations().forget_failed((choice, config))


def preprocessed(choice, config):
    """The `PreprocessResult`, waiting for it: for code that is not a page (tests, exports)."""
    job = preparation(choice, config)
    job.wait()
    if job.error is not None:
        raise job.error
    return job.result


@st.cache_data(max_entries=64, show_spinner=False)
def sample_texts(choice, n: int = 6) -> list[str]:
    """The first `n` non-empty texts of a data set, for the live preview."""
    from w2v_ui import datasets

    texts = []
    for batch in datasets.load(choice).iter_text_batches(batch_size=200):
        texts += [t for t in batch if t.strip()]
        if len(texts) >= n:
            break
    return texts[:n]


@st.cache_data(show_spinner=False)
def stopword_languages() -> list[str]:
    from w2v_core.preprocess import available_stopword_languages

    return available_stopword_languages()


@st.cache_data(show_spinner=False)
def stem_languages() -> list[str]:
    from w2v_core.preprocess import available_stem_languages

    return available_stem_languages()


# ---- warm-up ---------------------------------------------------------------------------------------
WARMUP_DELAY_SECONDS = 2.0  # let the first page render before compiling
WARMUP_ENV = "W2V_WARM_UP"  # "0" turns the warm-up off
# UMAP's compilation holds Python's GIL for 10-20 s, and a Start clicked meanwhile waits for it (5 s
# to write the run folder instead of 0.2-1.7 s, benchmarks/bench_app.py): it begins once a training
# was started (its first epochs then run beside it, in the worker's own process) or after this long.
UMAP_WARMUP_LATEST_SECONDS = 30.0
_TRAINING_STARTED = threading.Event()


def training_started() -> None:
    """A Start was handled: UMAP's compilation may begin now (see UMAP_WARMUP_LATEST_SECONDS)."""
    _TRAINING_STARTED.set()


def _warm_up_umap(delay: float) -> None:
    import time

    # No lower CPU priority for this thread: it holds the GIL while it compiles, and a thread starved
    # by the training worker while holding it would freeze every page of the server.
    time.sleep(delay)
    from w2v_core import jobs
    from w2v_ui import runs

    jobs.ensure_spare_worker(runs.runs_root())  # the first Start trains within a second
    # The trainer's imports (torch: 2-3 s on 2 cores) next: Start needs them to check the settings
    # and write the run folder, and would otherwise pay for them while the person waits.
    import w2v_core.trainer  # noqa: F401
    from w2v_core.projection import warm_up_umap

    _TRAINING_STARTED.wait(UMAP_WARMUP_LATEST_SECONDS)
    warm_up_umap()


@st.cache_resource(show_spinner=False)
def start_warm_up() -> object:
    """Import the trainer (torch) and compile UMAP's numba code once per server process, in a
    background thread.

    The first UMAP fit in a process spends most of its time compiling (tens of seconds on a
    2-core machine); doing it while the person is still choosing data and training means their
    first map appears in seconds. numba's compiler lock makes a map requested meanwhile wait for
    this compilation instead of doing it twice.
    """
    import threading

    if os.environ.get(WARMUP_ENV, "1") == "0":  # tests switch it off
        return None
    thread = threading.Thread(
        target=_warm_up_umap, args=(WARMUP_DELAY_SECONDS,), daemon=True, name="w2v-umap-warm-up"
    )
    thread.start()
    return thread
