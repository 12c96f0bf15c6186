"""The training loop: epochs, learning-rate schedule, progress reports, stop requests, checkpoints.

Owns: choosing an engine for the settings and device, driving it epoch by epoch, turning its chunk
results into `ProgressReport`s (at most one per `report_interval`, at least one per second while work
happens), detecting a NaN/inf loss, honouring a stop request within a second, writing checkpoints
after every epoch (and where a stop left the vectors), and resuming from the last complete epoch.
Leaves out: how updates are computed (`w2v_core.backends`, whose registry picks the engine) and
the run itself: its layout, status machine, records and lock (`w2v_core.run_folder`). Progress and stop
requests reach the trainer only through the callback and the event (or the run folder's STOP file),
never through globals. Training a run folder holds its worker lock throughout, so a second process
trying to train the same run refuses with a message.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from w2v_core.backends import select_engine
from w2v_core.backends.base import ChunkResult, EpochContext, TrainingEngine, initial_vectors
from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.device import describe_device, resolve_device
from w2v_core.errors import ConfigError, CorpusError, TrainingDivergedError, W2VError
from w2v_core.run_folder import STOPPED, EpochRecord, ProgressRecord, RunFolder, RunStatus
from w2v_core.sampling import keep_probabilities, linear_learning_rate
from w2v_core.vocab import Vocabulary

STOP_FILE_POLL_SECONDS = 0.2
PYTORCH_ENGINES = ("batched-torch", "softmax-torch")  # one intra-op thread unless asked (below)
# The evaluation after each epoch may take at most this share of the training time (the last epoch
# is always evaluated): on a small corpus one evaluation takes longer than an epoch.
EVALUATION_SHARE = 0.25
ProgressReport = ProgressRecord  # what `on_progress` receives is exactly what metrics.jsonl holds


@dataclass(frozen=True)
class TrainResult:
    status: Literal["finished", "stopped"]
    epochs_completed: int
    input_vectors: np.ndarray  # (V, D) float32
    output_vectors: np.ndarray  # (V, D) float32
    device: str
    engine: str
    final_loss: float | None


def _make_engine(
    engine_cls: type[TrainingEngine],
    config: TrainConfig,
    counts: np.ndarray,
    corpus: EncodedCorpus,
    device: torch.device,
) -> TrainingEngine:
    input_vectors, output_vectors = initial_vectors(
        len(counts), config.dim, config.seed, random_output=config.loss == "softmax"
    )
    return engine_cls(config, counts, corpus, input_vectors, output_vectors, device=device)


# Full softmax scores every word for every centre: an epoch costs centres x V x D x 6 flops (three
# matrix products), so its time grows with the vocabulary. Past this many seconds per epoch on the
# device that would train it, a run is refused before anything is written (issue 11).
MAX_SOFTMAX_EPOCH_SECONDS = 3600.0
# The softmax engine's epoch time against the time of its bare matrix products (the floor): 1.5-2.0
# measured with benchmarks/bench_softmax.py (docs/BENCHMARKS.md); rounded up so the estimate errs long.
SOFTMAX_TIME_OVER_FLOOR = 2.0
PROBE_VOCAB = 4096  # the matrix products are timed on at most this many words, then scaled


@functools.lru_cache(maxsize=16)
def _softmax_seconds_per_word_centre(device: str, batch: int, dim: int, threads: int) -> float:
    """Measured seconds of the three (batch, V, dim) matrix products of one softmax step, per centre
    and per vocabulary word, on `device` with the CPU threads training would use (about 0.1 s of
    timing; cached per process)."""
    dev = torch.device(device)
    previous_threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(threads)
    try:
        return _time_products(dev, batch, dim)
    finally:
        torch.set_num_threads(previous_threads)


def _time_products(dev: torch.device, batch: int, dim: int) -> float:
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(batch, dim, generator=generator).to(dev)  # (B, D)
    output = torch.randn(PROBE_VOCAB, dim, generator=generator).to(dev)  # (V', D)

    def products() -> None:
        logits = hidden @ output.T  # (B, V')
        _ = logits @ output  # (B, D)
        _ = logits.T @ hidden  # (V', D)

    def synchronize() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    products()  # warm-up: first calls allocate and pick kernels
    synchronize()
    repeats, start = 0, time.perf_counter()
    while repeats < 3 or (time.perf_counter() - start < 0.1 and repeats < 1000):
        products()
        synchronize()
        repeats += 1
    return (time.perf_counter() - start) / repeats / (batch * PROBE_VOCAB)


def estimated_epoch_seconds(
    config: TrainConfig, vocab_size: int, n_centres: float, device: torch.device
) -> float:
    """Seconds one full-softmax epoch of `n_centres` centres over `vocab_size` words would take on
    `device`: its matrix products timed here, times the engine's measured overhead over them."""
    from w2v_core.backends.softmax_torch import softmax_batch_size

    batch = softmax_batch_size(config, vocab_size)
    padded_centres = math.ceil(max(n_centres, 1) / batch) * batch
    threads = config.threads or 1  # the trainer's intra-op threads for a PyTorch engine
    per_word_centre = _softmax_seconds_per_word_centre(str(device), batch, config.dim, threads)
    return padded_centres * vocab_size * per_word_centre * SOFTMAX_TIME_OVER_FLOOR


def _duration(seconds: float) -> str:
    """'40 minutes', '3.5 hours', '12 days': a length of time a person reads at a glance."""
    if seconds < 3600:
        return f"{max(seconds / 60, 1):.0f} minutes"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:,.0f} days"


def _check_softmax_epoch_time(
    config: TrainConfig, vocab: Vocabulary, corpus: EncodedCorpus
) -> None:
    """Refuse full softmax when one epoch would take over an hour on the device it would use."""
    device = resolve_device(config.device)
    keep = keep_probabilities(vocab.counts, config.sample)  # (V,) subsampling's keep probability
    n_centres = float(np.bincount(corpus.token_ids, minlength=len(vocab)) @ keep)
    seconds = estimated_epoch_seconds(config, len(vocab), n_centres, device)
    if seconds > MAX_SOFTMAX_EPOCH_SECONDS:
        raise ConfigError(
            f"Full softmax over {len(vocab):,} words would take about {_duration(seconds)} per "
            f"epoch on this machine ({describe_device(device, config.cpu_threads)}); use negative "
            "sampling, which gives similar vectors far faster, or raise min_count to shrink the "
            "vocabulary."
        )


def check_trainable(config: TrainConfig, vocab: Vocabulary, corpus: EncodedCorpus) -> None:
    """Raise a plain-language error when these settings cannot train on this corpus, or (full
    softmax) would take over an hour per epoch on the device that would train them."""
    config.validate(len(vocab))
    if corpus.n_tokens == 0:
        raise CorpusError(
            "The corpus holds no words from the vocabulary; there is nothing to train on."
        )
    if corpus.n_documents == 0 or int(np.max(np.diff(corpus.doc_offsets))) < 2:
        raise CorpusError(
            "Every document has fewer than two vocabulary words, so no word has a neighbour to learn "
            "from. Lower min_count or use longer documents."
        )
    if corpus.token_ids.max(initial=0) >= len(vocab):
        raise CorpusError(
            "The corpus refers to words missing from the vocabulary (mismatched files)."
        )
    if config.loss == "softmax":
        _check_softmax_epoch_time(config, vocab, corpus)


class Trainer:
    """Runs one training session (a fresh run, or the rest of a resumed one)."""

    def __init__(
        self,
        config: TrainConfig,
        vocab: Vocabulary,
        corpus: EncodedCorpus,
        run: RunFolder | None = None,
        on_progress: Callable[[ProgressReport], None] | None = None,
        stop_event: threading.Event | None = None,
        report_interval: float = 1.0,
    ) -> None:
        check_trainable(config, vocab, corpus)
        self.config = config
        self.vocab = vocab
        self.corpus = corpus
        self.run = run
        self.on_progress = on_progress
        self.stop_event = stop_event or threading.Event()
        self.report_interval = report_interval
        self.device = resolve_device(config.device)
        engine_cls = select_engine(config, self.device)
        self.engine_name = engine_cls.name
        self.threads_used = config.cpu_threads if self.device.type == "cpu" else None
        if self.device.type == "cpu":
            torch.set_num_threads(self._torch_threads())
        self.device_label = describe_device(self.device, config.cpu_threads)
        self.engine = _make_engine(engine_cls, config, vocab.counts, corpus, self.device)
        self._diverged = False
        self._training_seconds = 0.0  # epochs so far in this process, for the evaluation's budget
        self._evaluation_seconds = 0.0

    def _torch_threads(self) -> int:
        """PyTorch's intra-op threads. The batched engine's per-batch ops are small: on the 2-core
        machine they ran ~10x slower with 2 threads than with 1 once anything else used the CPU
        (threads wait for each other at every op), so 'all cores' means 1 there unless asked. The
        softmax engine's matrix products too: 177 against 32 ms per step under load (2 vs 1)."""
        if self.config.threads is not None or self.engine_name not in PYTORCH_ENGINES:
            return self.config.cpu_threads
        return 1

    # ---- schedule ---------------------------------------------------------------------------------
    def learning_rate_at(self, progress: float) -> float:
        """lr at a fraction of the whole run: linear decay for SGD, constant for Adam/AdamW."""
        start = self.config.learning_rate
        if self.config.optimizer != "sgd":
            return start
        return linear_learning_rate(start, start * self.config.min_lr_fraction, progress)

    # ---- the loop -----------------------------------------------------------------------------
    def fit(
        self,
        start_epoch: int = 0,
        initial_state: dict[str, torch.Tensor] | None = None,
        start_step: int = 0,
    ) -> TrainResult:
        if initial_state is not None:
            self.engine.load_state_tensors(initial_state)
        epochs = self.config.epochs
        words_per_epoch = self.corpus.n_tokens
        self._step = start_step
        self._session_start = time.perf_counter()
        self._session_words = 0
        self._words_left = (epochs - start_epoch) * words_per_epoch
        self._last_report = time.perf_counter()
        self._last_stop_poll = 0.0
        last_epoch_loss: float | None = None
        if self.run is not None:
            # A STOP file is not cleared here: a stop pressed while the worker was starting must
            # still be honoured (whoever starts a run clears an old request before launching it).
            if self.run.stop_requested():
                return self._stopped_before_start(start_epoch)
            self.run.set_status(
                RunStatus.RUNNING,
                device=self.device_label,
                engine=self.engine_name,
                threads_used=self.threads_used,
                pid=os.getpid(),
            )
        try:
            for epoch in range(start_epoch, epochs):
                self._begin_epoch(epoch)
                context = EpochContext(
                    epoch=epoch,
                    lr_at=lambda fraction, e=epoch: self.learning_rate_at((e + fraction) / epochs),
                    on_chunk=self._on_chunk,
                )
                finished = self.engine.run_epoch(context)
                self._check_finite(epoch)
                if not finished:
                    return self._stopped(epoch)
                last_epoch_loss = self._end_epoch(epoch)
        except W2VError as error:
            if self.run is not None:
                self.run.set_status(RunStatus.FAILED, error=str(error))
            raise
        except Exception as error:
            if self.run is not None:
                self.run.set_status(RunStatus.FAILED, error=f"Training failed: {error}")
            raise
        if self.run is not None:
            self.run.set_status(RunStatus.FINISHED, epochs_completed=epochs)
        return self._result("finished", epochs, last_epoch_loss)

    def _begin_epoch(self, epoch: int) -> None:
        self._epoch = epoch
        self._epoch_words = 0
        self._epoch_loss_sum = 0.0
        self._epoch_loss_count = 0
        self._interval_loss_sum = 0.0
        self._interval_loss_count = 0
        self._epoch_d2l = [0.0, 0]  # the d2l book's loss: sum over centres, centres
        self._interval_d2l = [0.0, 0]
        self._epoch_start = time.perf_counter()
        self._emit_report()  # the chart shows the epoch start even before the first chunk

    def _on_chunk(self, result: ChunkResult) -> bool:
        """Called by the engine after each chunk; True tells it to stop now."""
        self._step += 1
        self._epoch_words += result.words_done
        self._session_words += result.words_done
        if result.loss_count:
            if not math.isfinite(result.loss_sum):
                self._diverged = True
                return True
            self._epoch_loss_sum += result.loss_sum
            self._epoch_loss_count += result.loss_count
            self._interval_loss_sum += result.loss_sum
            self._interval_loss_count += result.loss_count
        if result.d2l_loss_count:
            for totals in (self._epoch_d2l, self._interval_d2l):
                totals[0] += result.d2l_loss_sum
                totals[1] += result.d2l_loss_count
        now = time.perf_counter()
        if now - self._last_report >= self.report_interval:
            self._emit_report()
        return self._stop_requested(now)

    def _stop_requested(self, now: float) -> bool:
        if self.stop_event.is_set():
            return True
        if self.run is not None and now - self._last_stop_poll >= STOP_FILE_POLL_SECONDS:
            self._last_stop_poll = now
            if self.run.stop_requested():
                self.stop_event.set()
                return True
        return False

    def _emit_report(self) -> None:
        now = time.perf_counter()
        elapsed = now - self._session_start
        words_per_epoch = self.corpus.n_tokens
        done = self._epoch * words_per_epoch + min(self._epoch_words, words_per_epoch)
        fraction = done / (self.config.epochs * words_per_epoch)
        rate = self._session_words / elapsed if elapsed > 0 else 0.0
        remaining = self.config.epochs * words_per_epoch - done
        report = ProgressReport(
            step=self._step,
            epoch=self._epoch + 1,
            epochs=self.config.epochs,
            fraction_done=fraction,
            loss=(self._interval_loss_sum / self._interval_loss_count)
            if self._interval_loss_count
            else None,
            epoch_loss=(self._epoch_loss_sum / self._epoch_loss_count)
            if self._epoch_loss_count
            else None,
            words_per_second=rate,
            eta_seconds=remaining / rate if rate > 0 else None,
            elapsed_seconds=elapsed,
            learning_rate=self.learning_rate_at(fraction),
            device=self.device_label,
            time=time.time(),
            d2l_loss=_mean(self._interval_d2l),
        )
        self._interval_loss_sum = 0.0
        self._interval_loss_count = 0
        self._interval_d2l = [0.0, 0]
        self._last_report = now
        if self.run is not None:
            self.run.append_metrics(report)
        if self.on_progress is not None:
            self.on_progress(report)

    def _check_finite(self, epoch: int) -> None:
        if not self._diverged:
            state = self.engine.state_tensors()
            self._diverged = not all(
                bool(torch.isfinite(state[name]).all()) for name in ("input", "output")
            )
        if self._diverged:
            raise TrainingDivergedError(
                f"The loss became NaN or infinite in epoch {epoch + 1}: the learning rate "
                f"({self.config.learning_rate:g}) is probably too high. Lower it (0.025 is word2vec's "
                "default for SGD, 0.001-0.01 for Adam) and start again."
            )

    def _end_epoch(self, epoch: int) -> float | None:
        self._emit_report()
        seconds = time.perf_counter() - self._epoch_start
        epoch_loss = (
            self._epoch_loss_sum / self._epoch_loss_count if self._epoch_loss_count else None
        )
        if self.run is not None:
            meta = {"epoch": epoch + 1, "complete": True, "step": self._step, "loss": epoch_loss}
            self.run.save_checkpoint(epoch + 1, self.engine.state_tensors(), meta)
            self.run.remove_checkpoint(STOPPED)
            self.run.keep_training_state_only_in(epoch + 1)
            self.run.prune_checkpoints(self.config.keep_every, last_epoch=epoch + 1)
            self.run.append_metrics(
                EpochRecord(
                    epoch=epoch + 1,
                    epochs=self.config.epochs,
                    step=self._step,
                    fraction_done=(epoch + 1) / self.config.epochs,
                    loss=epoch_loss,
                    seconds=seconds,
                    words_per_second=self.corpus.n_tokens / seconds if seconds > 0 else None,
                    time=time.time(),
                    d2l_loss=_mean(self._epoch_d2l),
                )
            )
            self.run.update(epochs_completed=epoch + 1)
            self._evaluate_checkpoint(epoch + 1)
        return epoch_loss

    def _evaluate_checkpoint(self, epoch: int) -> None:
        """Benchmark scores of the checkpoint just saved, kept in the run (`w2v_core.evaluation`).

        Within a budget: an epoch is evaluated while the evaluations so far took at most
        `EVALUATION_SHARE` of the training time, and the last epoch always is. Epochs of a second
        (a small corpus, where one evaluation can take longer than the epoch) are otherwise left
        for the Evaluate page's "compute the missing epochs"; epochs of minutes are all evaluated.

        Read-only on the vectors (a copy), so training and resume stay bit for bit the same. Skipped
        when a stop was requested (the scores can be computed later, on demand); a failure is recorded
        by the evaluation, and anything else only printed: an evaluation never fails training.
        """
        assert self.run is not None
        self._training_seconds += time.perf_counter() - self._epoch_start
        if self.stop_event.is_set() or self.run.stop_requested():
            return
        if (
            epoch < self.config.epochs
            and self._evaluation_seconds > EVALUATION_SHARE * self._training_seconds
        ):
            return  # short epochs: this one's scores are left to the Evaluate page's button
        started = time.perf_counter()
        try:
            from w2v_core import evaluation
            from w2v_core.embeddings import Embeddings

            vectors = self.engine.state_tensors()["input"].detach().cpu().numpy()  # (V, D)
            emb = Embeddings(
                self.vocab.words, vectors, self.vocab.counts, epoch=epoch, kind="input"
            )
            evaluation.evaluate_checkpoint(self.run, epoch, "input", embeddings=emb)
        except Exception as error:  # noqa: BLE001 - a lost score must not cost the training
            print(f"Evaluation of epoch {epoch} skipped: {error}", file=sys.stderr, flush=True)
        finally:
            self._evaluation_seconds += time.perf_counter() - started

    def _stopped(self, epoch: int) -> TrainResult:
        self._emit_report()
        if self.run is not None:
            meta = {
                "epoch": epoch + 1,
                "complete": False,
                "epoch_fraction": self._epoch_words / max(self.corpus.n_tokens, 1),
                "step": self._step,
            }
            self.run.save_checkpoint(STOPPED, self.engine.state_tensors(), meta)
            self.run.clear_stop_request()
            self.run.set_status(RunStatus.STOPPED, epochs_completed=epoch)
        loss = self._epoch_loss_sum / self._epoch_loss_count if self._epoch_loss_count else None
        return self._result("stopped", epoch, loss)

    def _stopped_before_start(self, start_epoch: int) -> TrainResult:
        """A stop requested before any update: nothing changed, so no checkpoint is written."""
        assert self.run is not None
        self.run.clear_stop_request()
        self.run.set_status(RunStatus.STOPPED, epochs_completed=start_epoch)
        return self._result("stopped", start_epoch, None)

    def _result(
        self, status: Literal["finished", "stopped"], epochs_completed: int, loss: float | None
    ) -> TrainResult:
        state = self.engine.state_tensors()
        return TrainResult(
            status=status,
            epochs_completed=epochs_completed,
            input_vectors=state["input"].detach().cpu().numpy().copy(),
            output_vectors=state["output"].detach().cpu().numpy().copy(),
            device=self.device_label,
            engine=self.engine_name,
            final_loss=loss,
        )


def _mean(totals: list) -> float | None:
    """sum / count of a [sum, count] pair; None when nothing was counted."""
    return totals[0] / totals[1] if totals[1] else None


def _new_trainer(
    run: RunFolder | None, config: TrainConfig, vocab: Vocabulary, corpus: EncodedCorpus, **options
) -> Trainer:
    """A `Trainer`; when settings fail on this machine (no GPU, say), the run says why."""
    try:
        return Trainer(config, vocab, corpus, run, **options)
    except W2VError as error:
        if run is not None:
            run.set_status(RunStatus.FAILED, error=str(error))
        raise


def train(
    config: TrainConfig,
    vocab: Vocabulary,
    corpus: EncodedCorpus,
    run: RunFolder | None = None,
    on_progress: Callable[[ProgressReport], None] | None = None,
    stop_event: threading.Event | None = None,
    report_interval: float = 1.0,
) -> TrainResult:
    """Train from scratch. With `run`, reports and checkpoints go to that run folder, whose worker
    lock is held throughout."""
    options = {
        "on_progress": on_progress,
        "stop_event": stop_event,
        "report_interval": report_interval,
    }
    if run is None:
        return Trainer(config, vocab, corpus, None, **options).fit()
    with run.worker_lock():
        return _new_trainer(run, config, vocab, corpus, **options).fit()


RESUMABLE_CHANGES = frozenset({"epochs", "device", "threads"})


def resume(
    run: RunFolder,
    on_progress: Callable[[ProgressReport], None] | None = None,
    stop_event: threading.Event | None = None,
    report_interval: float = 1.0,
    config_changes: dict | None = None,
) -> TrainResult:
    """Continue a run folder from its last complete epoch (or start a prepared, untrained one).

    On CPU with one thread and a fixed seed the result equals an uninterrupted run: each epoch's
    random draws depend only on (seed, epoch), and optimizer state is part of every checkpoint.
    `config_changes` may change only the device and threads, and may add epochs (never fewer than
    are done: what was trained is never rewritten).
    """
    with run.worker_lock():
        config = run.config()
        completed = run.checkpoint_epochs()
        last = completed[-1] if completed else 0
        if config_changes:
            if set(config_changes) - RESUMABLE_CHANGES:
                raise ConfigError("Only epochs, device and threads can change when resuming a run.")
            new_epochs = int(config_changes.get("epochs", config.epochs))
            if new_epochs < max(last, 1):
                raise ConfigError(
                    f"Run '{run.name}' has already trained {last} epoch(s); resuming can add epochs "
                    f"but not remove them (asked for {new_epochs} in all)."
                )
            config = config.replace(**config_changes)
            config.validate()
        options = {
            "on_progress": on_progress,
            "stop_event": stop_event,
            "report_interval": report_interval,
        }
        trainer = _new_trainer(run, config, run.vocab(), run.corpus(), **options)
        if config_changes:
            run.update(config=config.to_dict())
        if last >= config.epochs:
            run.set_status(RunStatus.FINISHED, epochs_completed=last)
            state = run.load_checkpoint(last)
            return TrainResult(
                "finished",
                last,
                state["input"].numpy(),
                state["output"].numpy(),
                trainer.device_label,
                trainer.engine_name,
                None,
            )
        state = run.load_checkpoint(last) if last else None
        step = int(run.checkpoint_meta(last).get("step", 0)) if last else 0
        run.truncate_metrics_after_epoch(last)
        return trainer.fit(start_epoch=last, initial_state=state, start_step=step)
