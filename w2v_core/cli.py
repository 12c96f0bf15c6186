"""Command line: `python -m w2v_core train | resume | stop | export | neighbors`.

The app's training workers run exactly this (`train --from-run`), so what a script gets and what a
person in the browser gets is the same code. Progress goes to stderr (tqdm); a bad input ends with a
one-line reason and a non-zero exit code, never a traceback. Ctrl-C (or SIGTERM) stops training
gracefully: the vectors reached so far are saved and the run can be resumed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from w2v_core.errors import W2VError

EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m w2v_core",
        description="Train word2vec (skip-gram / CBOW) on a text corpus and query the result.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="train a new run",
        description="Train word2vec. The corpus is plain text: one document per line, tokens "
        "separated by whitespace (already lowercased/cleaned as you want them).",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", type=Path, help="plain-text corpus file")
    source.add_argument(
        "--from-run", type=Path, help="train a run folder prepared by the app (settings inside)"
    )
    train.add_argument("--out", type=Path, help="new run folder to create (with --corpus)")
    train.add_argument("--name", help="a name for the run (default: the folder name)")
    train.add_argument("--model", choices=["skipgram", "cbow"], default="skipgram")
    train.add_argument("--loss", choices=["negative", "softmax"], default="negative")
    train.add_argument("--dim", type=_positive_int, default=100, help="vector size (100)")
    train.add_argument("--window", type=_positive_int, default=5, help="max context distance (5)")
    train.add_argument("--negative", type=_positive_int, default=5, help="noise words per pair (5)")
    train.add_argument("--min-count", type=_positive_int, default=5, help="drop rarer words (5)")
    train.add_argument("--max-vocab", type=_positive_int, default=None, help="keep at most N words")
    train.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (1e-3)")
    train.add_argument("--epochs", type=_positive_int, default=5)
    train.add_argument(
        "--lr", type=float, default=None, help="learning rate (default by optimizer)"
    )
    train.add_argument("--batch-size", type=_positive_int, default=None)
    train.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="sgd")
    train.add_argument("--seed", type=int, default=1)
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    train.add_argument("--threads", type=_positive_int, default=None, help="CPU threads (all)")
    train.add_argument("--engine", choices=["auto", "fused", "batched"], default="auto")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    resume = commands.add_parser("resume", help="continue a stopped run from its last epoch")
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--epochs", type=_positive_int, default=None, help="new total epochs")
    resume.add_argument("--quiet", action="store_true")

    stop = commands.add_parser("stop", help="ask a running training to stop (it saves first)")
    stop.add_argument("run_dir", type=Path)

    export = commands.add_parser("export", help="write vectors in a standard format")
    export.add_argument("run_dir", type=Path)
    export.add_argument(
        "--format", choices=["word2vec", "word2vec-binary", "projector"], default="word2vec"
    )
    export.add_argument("--out", type=Path, required=True, help="file (or folder for projector)")
    export.add_argument("--epoch", type=_positive_int, default=None, help="default: latest")
    export.add_argument("--vectors", choices=["input", "output", "average"], default="input")

    neighbors = commands.add_parser("neighbors", help="print a word's nearest neighbours")
    neighbors.add_argument("run_dir", type=Path)
    neighbors.add_argument("word")
    neighbors.add_argument("--k", type=_positive_int, default=10)
    neighbors.add_argument("--epoch", type=_positive_int, default=None, help="default: latest")
    neighbors.add_argument("--vectors", choices=["input", "output", "average"], default="input")
    return parser


class _ProgressBar:
    """tqdm on stderr, fed by the trainer's reports."""

    def __init__(self, quiet: bool) -> None:
        self.bar = None
        self.quiet = quiet

    def __call__(self, report) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=1000, file=sys.stderr, unit="‰", dynamic_ncols=True)
        self.bar.n = int(report.fraction_done * 1000)
        loss = f"{report.loss:.4f}" if report.loss is not None else "-"
        self.bar.set_description(f"epoch {report.epoch}/{report.epochs}")
        self.bar.set_postfix_str(f"loss {loss}, {report.words_per_second:,.0f} words/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _stop_on_signals(stop_event: threading.Event) -> None:
    def handler(signum, frame):  # noqa: ARG001
        stop_event.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _cmd_train(args: argparse.Namespace) -> int:
    from w2v_core.config import TrainConfig
    from w2v_core.corpus import build_from_text_file
    from w2v_core.run_folder import RunFolder
    from w2v_core.trainer import check_trainable, resume

    stop_event = threading.Event()
    _stop_on_signals(stop_event)
    if args.from_run is not None:
        run = RunFolder.open(args.from_run)
    else:
        if args.out is None:
            raise W2VError("--out RUN_DIR is required with --corpus.")
        config = TrainConfig(
            model=args.model,
            loss=args.loss,
            dim=args.dim,
            window=args.window,
            negative=args.negative,
            sample=args.sample,
            epochs=args.epochs,
            lr=args.lr,
            optimizer=args.optimizer,
            batch_size=args.batch_size,
            seed=args.seed,
            device=args.device,
            threads=args.threads,
            engine=args.engine,
        )
        config.validate()
        vocab, corpus = build_from_text_file(args.corpus, args.min_count, args.max_vocab)
        check_trainable(config, vocab, corpus)
        data = {
            "source": "file",
            "path": str(args.corpus.resolve()),
            "min_count": args.min_count,
            "max_vocab_size": args.max_vocab,
        }
        run = RunFolder.create(args.out, config, vocab, corpus, data=data, name=args.name)
    return _run_training(run, stop_event, args.quiet, resume)


def _run_training(run, stop_event, quiet: bool, resume, **changes) -> int:
    bar = _ProgressBar(quiet)
    try:
        result = resume(run, on_progress=bar, stop_event=stop_event, config_changes=changes or None)
    finally:
        bar.close()
    if result.status == "stopped":
        print(
            f"Stopped after {result.epochs_completed} complete epoch(s); the vectors reached so far "
            f"are saved. Continue with: python -m w2v_core resume {run.path}",
            file=sys.stderr,
        )
    else:
        loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
        print(
            f"Finished {result.epochs_completed} epoch(s) on {result.device} ({result.engine}); "
            f"last epoch loss {loss}. Run folder: {run.path}",
            file=sys.stderr,
        )
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from w2v_core.run_folder import RunFolder
    from w2v_core.trainer import resume

    stop_event = threading.Event()
    _stop_on_signals(stop_event)
    run = RunFolder.open(args.run_dir)
    changes = {"epochs": args.epochs} if args.epochs else {}
    return _run_training(run, stop_event, args.quiet, resume, **changes)


def _cmd_stop(args: argparse.Namespace) -> int:
    from w2v_core.run_folder import RunFolder

    run = RunFolder.open(args.run_dir)
    if run.info().get("status") != "running":
        print(f"Run '{run.path.name}' is not running.", file=sys.stderr)
        return 0
    run.request_stop()
    print(
        "Stop requested; the trainer saves its vectors and stops within a second.", file=sys.stderr
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from w2v_core.embeddings import Embeddings
    from w2v_core.export import export_projector, export_word2vec

    embeddings = Embeddings.from_run(args.run_dir, epoch=args.epoch, kind=args.vectors)
    if args.format == "projector":
        vectors_tsv, metadata_tsv = export_projector(embeddings, args.out)
        print(f"Wrote {vectors_tsv} and {metadata_tsv}", file=sys.stderr)
    else:
        export_word2vec(embeddings, args.out, binary=args.format == "word2vec-binary")
        print(f"Wrote {len(embeddings)} vectors to {args.out}", file=sys.stderr)
    return 0


def _cmd_neighbors(args: argparse.Namespace) -> int:
    from w2v_core.embeddings import Embeddings

    embeddings = Embeddings.from_run(args.run_dir, epoch=args.epoch, kind=args.vectors)
    for word, similarity in embeddings.most_similar(args.word, k=args.k):
        print(f"{word}\t{similarity:.4f}")
    return 0


COMMANDS = {
    "train": _cmd_train,
    "resume": _cmd_resume,
    "stop": _cmd_stop,
    "export": _cmd_export,
    "neighbors": _cmd_neighbors,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except W2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            "error: not enough memory for this corpus and these settings; use a smaller corpus, "
            "a higher min_count or a smaller vector size.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    except OSError as error:
        print(
            f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
