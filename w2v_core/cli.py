"""Command line: `python -m w2v_core train | resume | rerun | card | stop | delete | rename | list |
status | export | ...`. The command line is the operator: it may stop, rename or delete any run.

The app's training workers run exactly this (`resume RUN_DIR --worker`), and `train --data FILE` goes
through the same data path as the app (every upload format, the same preprocessing presets and JSON),
so what a script gets and what a person in the browser gets is the same code. The training options,
their defaults, choices and help come from `TrainConfig`'s fields, not from a second list here.
Progress goes to stderr (tqdm); a bad input ends with a one-line reason and a non-zero exit code,
never a traceback. Ctrl-C (or SIGTERM) stops training gracefully: the vectors reached so far are
saved and the run can be resumed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from w2v_core.config import TrainConfig
from w2v_core.errors import W2VError

EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 1
DEBUG_ENV = "W2V_DEBUG"  # "1": print the traceback of an unexpected error


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (what is wrong and where to look), like every other
    error of the CLI, instead of the whole usage text."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see: {self.prog} --help)\n")


def whole_number(minimum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number, at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (got {value})")
        return value

    return parse


def _epoch_or_all(text: str) -> int | str:
    """An argparse type: 'all' or an epoch number (1 or more)."""
    return "all" if text.strip().lower() == "all" else whole_number(1)(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None


def _field_type(hint: Any) -> Any:
    """int / float / str of a field's annotation (`int | None` -> int)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is typing.Literal:
        return str
    return hint


def add_train_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per `TrainConfig` field: `--<name>` with the field's type, choices and help.
    Unset options stay out of the namespace, so the dataclass's own defaults apply."""
    hints = typing.get_type_hints(TrainConfig)
    group = parser.add_argument_group("training settings (TrainConfig)")
    for spec in dataclasses.fields(TrainConfig):
        kind = _field_type(hints[spec.name])
        choices = TrainConfig.field_choices(spec.name)
        if kind is int:  # ranges are checked by TrainConfig.validate, whose messages say why
            parse: Callable[[str], Any] = whole_number()
        elif kind is float:
            parse = _number
        else:
            parse = str
        default = "chosen automatically" if spec.default is None else spec.default
        group.add_argument(
            f"--{spec.name.replace('_', '-')}",
            dest=f"config_{spec.name}",
            type=parse,
            choices=choices,
            default=argparse.SUPPRESS,
            metavar=None if choices else spec.name.upper(),
            help=f"{spec.metadata['help']} (default: {default})".replace("%", "%%"),
        )


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    given = {k.removeprefix("config_"): v for k, v in vars(args).items() if k.startswith("config_")}
    config = (base or TrainConfig()).replace(**given)
    config.validate()
    return config


def _add_data_options(parser: argparse.ArgumentParser, required: bool):
    """--data / --corpus (one of them; returns their group), --text-column, --preprocessing,
    --min-count, --max-vocab: where a new run's text comes from (`_data_from_args` reads them)."""
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument(
        "--data",
        type=Path,
        help="a data file as the app's upload takes it (.txt, .csv/.tsv, .jsonl, .parquet, .zip of "
        ".txt) or a local Hugging Face dataset folder",
    )
    source.add_argument("--corpus", type=Path, help="pre-tokenised plain-text corpus file")
    parser.add_argument("--text-column", help="with --data: the column holding the text")
    parser.add_argument(
        "--preprocessing",
        default="default",
        help="with --data: a preset name (default, blog, ...) or the JSON the app saves in "
        "run.json under data.preprocess (default: default)",
    )
    parser.add_argument(
        "--min-count", type=whole_number(1), default=None, help="drop rarer words (default: 5)"
    )
    parser.add_argument(
        "--max-vocab", type=whole_number(1), default=None, help="keep at most N words"
    )
    return source


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m w2v_core",
        description="Train word2vec (skip-gram / CBOW) on a text corpus and query the result.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="train a new run",
        description="Train word2vec on a data file (--data: the formats and preprocessing of the "
        "app) or on pre-tokenised text (--corpus: one document per line, tokens separated by "
        "whitespace, already cleaned as you want them).",
    )
    source = _add_data_options(train, required=True)
    source.add_argument("--from-run", type=Path, help="train a run folder prepared by the app")
    train.add_argument("--out", type=Path, help="new run folder to create")
    train.add_argument("--name", help="a name for the run (default: the folder name)")
    add_train_config_options(train)
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    resume = commands.add_parser("resume", help="continue a stopped run from its last epoch")
    resume.add_argument("run_dir", type=Path)
    resume.add_argument("--epochs", type=whole_number(1), default=None, help="new total epochs")
    resume.add_argument("--threads", type=whole_number(1), default=None, help="CPU threads")
    resume.add_argument("--quiet", action="store_true")
    resume.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # the app's job

    rerun = commands.add_parser(
        "rerun",
        help="rebuild a run from its run.json alone",
        description="Rebuild a run from its run.json: the same data (checked by fingerprint), "
        "preprocessing and settings. With --threads 1 (and an original trained with one thread) "
        "the vectors are byte-identical.",
    )
    rerun.add_argument("run_dir", type=Path)
    rerun.add_argument("--out", type=Path, required=True, help="new run folder to create")
    rerun.add_argument("--threads", type=whole_number(1), default=None, help="CPU threads")
    rerun.add_argument("--quiet", action="store_true")

    card = commands.add_parser(
        "card",
        help="the methods card of a run or study",
        description="A methods paragraph to paste into a paper, with every setting, the software "
        "versions and the evaluation scores, as Markdown or JSON.",
    )
    card.add_argument("path", type=Path, metavar="RUN_OR_STUDY_DIR")
    card.add_argument("--format", choices=["md", "json"], default="md")

    stop = commands.add_parser("stop", help="ask a running training to stop (it saves first)")
    stop.add_argument("run_dir", type=Path)

    delete = commands.add_parser(
        "delete",
        help="delete a run folder (refused while it trains)",
        description="Delete one run folder and everything in it. Asks you to type the run's "
        "folder name unless --yes is given. Refused while a worker trains the run, and for a "
        "member of a stability study unless --study-member is given.",
    )
    delete.add_argument("run_dir", type=Path)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument(
        "--study-member", action="store_true", help="delete it even if a stability study uses it"
    )

    rename = commands.add_parser("rename", help="give a run a new name (its folder stays)")
    rename.add_argument("run_dir", type=Path)
    rename.add_argument("name", help="the new name, at most 120 characters")

    listing = commands.add_parser("list", help="list the runs in a folder")
    listing.add_argument(
        "runs_dir", type=Path, nargs="?", default=None, help="default: $W2V_RUNS_DIR, else ./runs"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per run")

    status = commands.add_parser("status", help="what a run is doing")
    status.add_argument("run_dir", type=Path)
    status.add_argument("--json", action="store_true")

    evaluate = commands.add_parser(
        "evaluate",
        help="benchmark scores of a run's vectors (WordSim-353, SimLex-999, Google analogies)",
        description="WordSim-353 and SimLex-999 Spearman and Google-analogy accuracy, each with how "
        "many of its pairs or questions the vocabulary covers. Scores stored in the run are shown; "
        "missing ones are computed and stored. --pairs / --analogies add your own test (not stored).",
    )
    evaluate.add_argument("run_dir", type=Path)
    evaluate.add_argument(
        "--epoch", type=_epoch_or_all, default=None, help="N or all (default: the latest)"
    )
    evaluate.add_argument(
        "--pairs",
        type=Path,
        help="your word pairs: two words and a number a line (tab, comma or spaces)",
    )
    evaluate.add_argument(
        "--analogies",
        type=Path,
        help="your analogies: four words a line (gensim's ': section' lines allowed)",
    )
    evaluate.add_argument("--vectors", **VECTORS_OPTION)
    evaluate.add_argument("--json", action="store_true", help="one JSON object")

    export = commands.add_parser(
        "export", help="write vectors in a standard format, or the whole run as a zip"
    )
    export.add_argument("run_dir", type=Path)
    export.add_argument(
        "--format",
        choices=["word2vec", "word2vec-binary", "projector", "zip"],
        default="word2vec",
        help="zip: the run folder (settings, vocabulary, corpus, metrics, checkpoints)",
    )
    export.add_argument("--out", type=Path, required=True, help="file (or folder for projector)")
    export.add_argument(
        "--checkpoints",
        choices=["all", "last"],
        default="all",
        help="with --format zip: every saved epoch, or only the newest (default: all)",
    )
    export.add_argument("--epoch", type=whole_number(1), default=None, help="default: latest")
    export.add_argument("--vectors", **VECTORS_OPTION)

    stability = commands.add_parser(
        "stability",
        help="train a stability study (K seeds), or show a word's neighbours across its runs",
        description="Make a study: python -m w2v_core stability --data FILE --seeds K [--bootstrap] "
        "--out STUDY_DIR (the data and training options of train). Query it: python -m w2v_core "
        "stability STUDY_DIR --word WORD [--k 10] [--json]; without --word: the study's progress "
        "and its most and least stable words.",
    )
    stability.add_argument("study_dir", type=Path, nargs="?", help="an existing study folder")
    _add_data_options(stability, required=False)
    stability.add_argument(
        "--seeds", type=whole_number(), default=None, metavar="K",
        help="how many runs, each with its own seed (2 to 20; default 5)",
    )  # fmt: skip
    stability.add_argument(
        "--bootstrap", action="store_true",
        help="train each run on a bootstrap sample of the documents (drawn with replacement)",
    )  # fmt: skip
    stability.add_argument("--out", type=Path, help="new study folder to create")
    stability.add_argument("--name", help="a title for the study (default: the folder name)")
    stability.add_argument("--word", help="with STUDY_DIR: the word to look up")
    stability.add_argument("--k", type=whole_number(1), default=10, help="neighbours per run")
    stability.add_argument("--json", action="store_true", help="with --word: print JSON")
    stability.add_argument(
        "--resume", action="store_true", help="with STUDY_DIR: train the runs not finished yet"
    )
    add_train_config_options(stability)
    stability.add_argument("--quiet", action="store_true", help="no progress bar")
    # the app's background study process: `stability STUDY_DIR --worker` (see jobs.start_study)
    stability.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)

    neighbors = commands.add_parser("neighbors", help="print a word's nearest neighbours")
    neighbors.add_argument("run_dir", type=Path)
    neighbors.add_argument("word")
    neighbors.add_argument("--k", type=whole_number(1), default=10)
    neighbors.add_argument("--epoch", type=whole_number(1), default=None, help="default: latest")
    neighbors.add_argument("--vectors", **VECTORS_OPTION)

    kwic = commands.add_parser(
        "kwic",
        help="print a word's passages in the text (keyword in context)",
        description="Print the passages of a word with the word marked [[like this]], from the "
        "run's original text where it is still there. With --with OTHER: the passages where both "
        "words are within the run's training window of each other, and the context words they "
        "share most.",
    )
    kwic.add_argument("run_dir", type=Path)
    kwic.add_argument("word")
    kwic.add_argument("--with", dest="other", metavar="OTHER", help="a second word (a neighbour)")
    kwic.add_argument("--limit", type=whole_number(1), default=20, help="passages (default: 20)")
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


# ---- train / resume / rerun ---------------------------------------------------------------------------
def _preprocessed_data(spec, preprocessing, expected_fingerprint: str | None = None):
    """Vocabulary, corpus and run.json `data` of a data set, through the app's data path."""
    from w2v_core.preprocess import prepare_corpus

    result = prepare_corpus(spec, preprocessing, expected_fingerprint=expected_fingerprint)
    return result.vocab, result.corpus, result.data_description()


def _new_run(args: argparse.Namespace, config: TrainConfig, vocab, corpus, data):
    from w2v_core.run_folder import RunFolder
    from w2v_core.trainer import check_trainable

    check_trainable(config, vocab, corpus)
    return RunFolder.create(args.out, config, vocab, corpus, data=data, name=args.name)


def _cmd_train(args: argparse.Namespace) -> int:
    from w2v_core.run_folder import RunFolder

    stop_event = threading.Event()
    _stop_on_signals(stop_event)
    if args.from_run is not None:
        run = RunFolder.open(args.from_run)
        _clear_stale_stop(run)
        return _run_training(run, stop_event, args.quiet)
    if args.out is None:
        raise W2VError("--out RUN_DIR is required with --data or --corpus.")
    config = config_from_args(args)  # before any reading: a bad setting leaves no folder behind
    from w2v_core.backends import select_engine
    from w2v_core.device import resolve_device

    # no GPU for --device cuda, or an engine that cannot train these settings here: say so before
    # writing anything
    select_engine(config, resolve_device(config.device))
    vocab, corpus, data = _data_from_args(args)
    run = _new_run(args, config, vocab, corpus, data)
    return _run_training(run, stop_event, args.quiet)


def _data_from_args(args: argparse.Namespace):
    """Vocabulary, corpus and run.json `data` from --data (with --text-column, --preprocessing) or
    --corpus, and --min-count / --max-vocab (the options `_add_data_options` declares)."""
    if args.corpus is not None:
        if args.text_column or args.preprocessing != "default":
            raise W2VError(
                "--text-column and --preprocessing apply to --data; --corpus is already tokenised."
            )
        from w2v_core.card import corpus_file_data

        min_count = args.min_count if args.min_count is not None else 5
        return corpus_file_data(args.corpus, min_count, args.max_vocab)
    from w2v_core.preprocess import PreprocessConfig
    from w2v_core.sources import DataSpec

    preprocessing = PreprocessConfig.from_name_or_json(args.preprocessing)
    if args.min_count is not None or args.max_vocab is not None:
        preprocessing = dataclasses.replace(
            preprocessing,
            min_count=args.min_count or preprocessing.min_count,
            max_vocab_size=args.max_vocab or preprocessing.max_vocab_size,
        )
    spec = DataSpec.from_path(args.data, text_column=args.text_column)
    return _preprocessed_data(spec, preprocessing)


def _clear_stale_stop(run) -> None:
    """A person starting training from the command line means it: a stop request left by an
    earlier, dead worker must not stop it. (The app's launcher clears it itself, before launching,
    so that a Stop pressed while its worker starts is still honoured: `--worker` skips this.)"""
    if not run.worker_alive():
        run.clear_stop_request()


def _run_training(run, stop_event, quiet: bool, **changes) -> int:
    from w2v_core.trainer import resume

    bar = _ProgressBar(quiet)
    try:
        try:
            result = resume(
                run, on_progress=bar, stop_event=stop_event, config_changes=changes or None
            )
        finally:
            bar.close()
        if result.status == "stopped":
            print(
                f"Stopped after {result.epochs_completed} complete epoch(s); the vectors reached so "
                f"far are saved. Continue with: python -m w2v_core resume {run.path}",
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
    finally:
        _start_next_queued(run)  # after its own last words, also when it failed


def _start_next_queued(run) -> None:
    """This training's slot is free now: start the next queued run of its runs root (a worker
    does this itself, so queued runs go on without a server). Never fails the finished run."""
    from w2v_core.jobs import start_queued

    with contextlib.suppress(W2VError, OSError):
        start_queued(run.path.parent)


def _cmd_resume(args: argparse.Namespace) -> int:
    from w2v_core.run_folder import RunFolder

    stop_event = threading.Event()
    _stop_on_signals(stop_event)
    run = RunFolder.open(args.run_dir)
    if not args.worker:
        _clear_stale_stop(run)
    changes: dict[str, Any] = {}
    if args.epochs:
        changes["epochs"] = args.epochs
    if args.threads:
        changes["threads"] = args.threads
    return _run_training(run, stop_event, args.quiet, **changes)


def _cmd_rerun(args: argparse.Namespace) -> int:
    from w2v_core.card import can_be_bit_identical, plan_rerun, rebuild_corpus, rerun_data
    from w2v_core.run_folder import RunFolder

    original = RunFolder.open(args.run_dir)
    plan = plan_rerun(original, threads=args.threads)
    vocab, corpus, data = rebuild_corpus(plan)
    args.name = f"Re-run of {original.info().get('name') or original.name}"
    run = _new_run(args, plan.config, vocab, corpus, rerun_data(plan, data, original))
    stop_event = threading.Event()
    _stop_on_signals(stop_event)
    if not can_be_bit_identical(plan, original.info().get("threads_used")):
        print(
            "Note: with more than one thread the updates race (Hogwild), so the re-run is "
            "statistically equal, not byte-identical. Use --threads 1 on a one-thread run for that.",
            file=sys.stderr,
        )
    return _run_training(run, stop_event, args.quiet)


def _cmd_card(args: argparse.Namespace) -> int:
    from w2v_core.card import methods_card

    card = methods_card(args.path)
    print(card.to_json() if args.format == "json" else card.to_markdown(), end="")
    return 0


# ---- stop / list / status -------------------------------------------------------------------------
def _cmd_stop(args: argparse.Namespace) -> int:
    from w2v_core.jobs import request_stop
    from w2v_core.run_folder import RunFolder, RunStatus

    run = RunFolder.open(args.run_dir)
    queued = run.state().status == RunStatus.QUEUED
    if not request_stop(run.path):
        print(
            f"Run '{run.name}' is not training ({run.state().status.label}); nothing to stop.",
            file=sys.stderr,
        )
        return 0
    if queued and run.state().status != RunStatus.STOPPING:
        print(
            f"Taken out of the training queue; the run is {run.state().status.label} again.",
            file=sys.stderr,
        )
        return 0
    print(
        "Stop requested; the trainer saves its vectors and stops within a second.", file=sys.stderr
    )
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from w2v_core.jobs import delete_run
    from w2v_core.run_folder import RunFolder

    run = RunFolder.open(args.run_dir)  # the command line is the operator: any run it can reach
    if not args.yes:
        if not sys.stdin.isatty():
            raise W2VError("Deleting needs a confirmation: add --yes (nothing was deleted).")
        answer = input(
            f"Delete run '{run.title()}' ({run.path})? Type its folder name '{run.name}': "
        )
        if answer.strip() != run.name:
            print("Not deleted (the name typed did not match).", file=sys.stderr)
            return EXIT_BAD_INPUT
    title = delete_run(run.path, run.path.resolve().parent, allow_study_member=args.study_member)
    print(f"Deleted run '{title}' ({run.path}).", file=sys.stderr)
    return 0


def _cmd_rename(args: argparse.Namespace) -> int:
    from w2v_core.jobs import rename_run

    title = rename_run(args.run_dir, args.name)
    print(f"Renamed: '{title}'.", file=sys.stderr)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from w2v_core.jobs import list_summaries
    from w2v_core.run_folder import default_runs_root

    root = args.runs_dir if args.runs_dir is not None else default_runs_root()
    if not root.is_dir():
        raise W2VError(f"'{root}' is not a folder.")
    summaries = list_summaries(root)
    if args.json:
        for s in summaries:
            row = {
                "name": s.name,
                "title": s.title,
                "status": s.status.value,
                "epochs_done": s.epochs_done,
                "epochs_total": s.epochs_total,
                "created": s.created,
                "owner": "command line" if s.ownership.from_command_line else "a browser",
                "private": s.private,
                **_queue_fields(s.queue_place),
            }
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not summaries:
        print(f"No runs in {root}.", file=sys.stderr)
        return 0
    rows = [("NAME", "TITLE", "STATUS", "EPOCHS", "CREATED")]
    rows += [(s.name, s.title, s.status_text, s.epochs, s.created) for s in summaries]
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    for row in rows:
        cells = [(c if len(c) <= w else c[: w - 1] + "…").ljust(w) for c, w in zip(row, widths)]
        print("  ".join(cells).rstrip())
    return 0


def _queue_fields(place) -> dict[str, Any]:
    """A queued run's place in `list --json` / `status --json` (None for other runs)."""
    return {
        "queue_place": place.place if place else None,
        "queue_length": place.of if place else None,
        "queue_wait_seconds": place.wait_seconds if place else None,
    }


def _cmd_status(args: argparse.Namespace) -> int:
    from w2v_core.jobs import describe_data, describe_settings, run_view
    from w2v_core.run_folder import RunFolder, RunStatus

    run = RunFolder.open(args.run_dir)
    info = run.info()
    view = run_view(run.path)
    state = view.state
    latest = view.latest
    loss = view.latest_loss
    d2l_loss = view.latest_d2l_loss
    report = {
        "name": run.name,
        "title": info.get("name") or run.name,
        "status": state.status.value,
        "epochs_done": state.epochs_done,
        "epochs_total": state.epochs_total,
        "saved_epochs": state.saved_epochs,
        "stop_requested": state.stop_requested,
        "worker_alive": state.worker_alive,
        "can_resume": state.can_resume,
        "device": info.get("device"),
        "engine": info.get("engine"),
        "threads_used": info.get("threads_used"),
        "data": describe_data(info.get("data") or {}),
        "settings": describe_settings(info.get("config") or {}),
        "loss": loss,
        "d2l_loss": d2l_loss,
        "fraction_done": latest.fraction_done if latest else None,
        "eta_seconds": latest.eta_seconds if latest and view.active else None,
        **_queue_fields(view.queue_place),
        "error": state.error,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    lines = [
        f"{report['title']} ({run.name})",
        f"  status:   {state.status.label}",
        f"  epochs:   {state.epochs_done} of {state.epochs_total} done; saved: "
        + (", ".join(str(e) for e in state.saved_epochs) or "none"),
        f"  data:     {report['data']}",
        f"  settings: {report['settings']}",
    ]
    if report["device"]:
        lines.append(f"  device:   {report['device']} ({report['engine']})")
    if loss is not None:
        lines.append(f"  loss:     {loss:.4f}")
    if d2l_loss is not None:
        lines.append(
            f"  d2l loss: {d2l_loss:.4f} (the d2l book's: mean per context/noise position)"
        )
    if latest is not None and view.active:
        lines.append(
            f"  progress: {latest.fraction_done:.0%}, {latest.words_per_second:,.0f} words/s"
        )
    if state.status == RunStatus.QUEUED:
        lines.append(f"  queue:    {view.queue_text}")
    if state.error:
        lines.append(f"  error:    {state.error}")
    if state.can_resume:
        lines.append(f"  continue with: python -m w2v_core resume {run.path}")
    print("\n".join(lines))
    return 0


VECTORS_OPTION: dict[str, Any] = {
    "choices": ["input", "output", "average"],
    "default": None,
    "help": "default: the run's own choice (its settings' explore_vectors, as the app opens it: "
    "output for the blog presets, input otherwise)",
}


def _vectors(args: argparse.Namespace) -> str:
    """--vectors, else the run's `explore_vectors` (input when the run's settings can't be read:
    the command then reports what is wrong with the folder)."""
    if args.vectors:
        return args.vectors
    from w2v_core.run_folder import RunFolder

    try:
        return RunFolder.open(args.run_dir).config().explore_vectors
    except (W2VError, OSError, ValueError, TypeError):
        return "input"


# ---- evaluate -------------------------------------------------------------------------------------
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from w2v_core import evaluation
    from w2v_core.embeddings import Embeddings
    from w2v_core.run_folder import RunFolder

    run = RunFolder.open(args.run_dir)
    kind = _vectors(args)
    tests = [evaluation.read_test_path(args.pairs, "pairs")] if args.pairs else []
    if args.analogies:
        tests.append(evaluation.read_test_path(args.analogies, "analogies"))
    saved = run.saved_epochs()
    stored = {r.epoch: r for r in evaluation.stored_evaluations(run, kind)}
    if not saved:
        raise W2VError(f"Run '{run.name}' has no saved epoch yet, so there is nothing to evaluate.")
    if args.epoch == "all":

        def in_training_order(epoch) -> float:  # a stopped checkpoint not evaluated yet is newest
            if epoch in stored:
                return stored[epoch].position
            return float("inf") if epoch == "stopped" else float(epoch)

        # every saved checkpoint, and the scores of epochs pruned since (keep_every)
        epochs = sorted(set(saved) | set(stored), key=in_training_order)
    elif args.epoch is None:
        epochs = [saved[-1]]
    elif args.epoch in saved or args.epoch in stored:
        epochs = [args.epoch]
    else:
        raise W2VError(
            f"Run '{run.name}' has no epoch {args.epoch} (saved: {', '.join(map(str, saved))})."
        )
    for test in tests:
        if test.bad_lines:
            print(
                f"{test.name}: {len(test.bad_lines)} line(s) could not be read and were left out: "
                + "; ".join(test.bad_lines_summary(limit=10)),
                file=sys.stderr,
            )
    reports = []
    for epoch in epochs:
        record = stored.get(epoch)
        if epoch in saved and (record is None or record.error is not None):
            record = evaluation.evaluate_checkpoint(run, epoch, kind)
        own = []
        if tests and epoch in saved:
            emb = Embeddings.from_run(run, epoch, kind)
            own = [evaluation.evaluate_user_test(emb, test) for test in tests]
        reports.append((record, own))
    if args.json:
        rows = [
            {
                **record.to_dict(),
                "label": record.label,
                "own_tests": [dataclasses.asdict(r) for r in own],
            }
            for record, own in reports
        ]
        bad = {t.name: [dataclasses.asdict(b) for b in t.bad_lines] for t in tests}
        print(json.dumps({"run": run.name, "vectors": kind, "epochs": rows, "bad_lines": bad}))
        return 0
    print(f"{run.info().get('name') or run.name} ({run.name}): {kind} vectors")
    for record, own in reports:
        label = "where it stopped" if record.epoch == "stopped" else f"epoch {record.epoch}"
        print(f"{label} (evaluated in {record.seconds:.2f} s)")
        if record.error:
            print(f"  {record.error}")
        rows = [(name, result) for name, result in record.benchmarks() if result is not None]
        rows += [(test.name, result) for test, result in zip(tests, own, strict=True)]
        for name, result in rows:
            detail = f"{result.coverage}. {result.message}" if result.message else result.coverage
            print(f"  {name:<18} {result.score_text:<16} {detail}")
        if tests and not own:
            print("  (your tests need this epoch's vectors, which keep_every did not keep)")
    return 0


# ---- queries --------------------------------------------------------------------------------------
def _cmd_export(args: argparse.Namespace) -> int:
    from w2v_core.embeddings import Embeddings
    from w2v_core.export import export_projector, export_word2vec

    if args.format == "zip":
        from w2v_core.export import export_run_zip

        path = export_run_zip(args.run_dir, args.out, epochs=args.checkpoints)
        print(f"Wrote {path} ({path.stat().st_size / 1e6:,.1f} MB)", file=sys.stderr)
        return 0
    embeddings = Embeddings.from_run(args.run_dir, epoch=args.epoch, kind=_vectors(args))
    if args.format == "projector":
        vectors_tsv, metadata_tsv = export_projector(embeddings, args.out)
        print(f"Wrote {vectors_tsv} and {metadata_tsv}", file=sys.stderr)
    else:
        export_word2vec(embeddings, args.out, binary=args.format == "word2vec-binary")
        print(f"Wrote {len(embeddings)} vectors to {args.out}", file=sys.stderr)
    return 0


def _cmd_neighbors(args: argparse.Namespace) -> int:
    from w2v_core.embeddings import Embeddings

    embeddings = Embeddings.from_run(args.run_dir, epoch=args.epoch, kind=_vectors(args))
    for word, similarity in embeddings.most_similar(args.word, k=args.k):
        print(f"{word}\t{similarity:.4f}")
    return 0


def _cmd_kwic(args: argparse.Namespace) -> int:
    from w2v_core.evidence import RunEvidence

    evidence = RunEvidence(args.run_dir)
    if args.other is None:
        found = evidence.kwic(args.word, limit=args.limit)
        print(
            f"{found.word}: {found.occurrences:,} occurrences in {found.documents:,} documents"
            f"{f'; the first {len(found.passages)}' if found.occurrences > len(found.passages) else ''}"
        )
    else:
        found = evidence.pair(args.word, args.other, limit=args.limit)
        print(
            f"{found.word} and {found.other}: {found.co_occurrences:,} times at most "
            f"{found.window} words apart, in {found.documents:,} documents"
        )
    if found.text_note:
        print(f"note: {found.text_note}", file=sys.stderr)
    for passage in found.passages:
        print(f"{passage.document}\t{passage.plain()}")
    if args.other is not None:
        print(f"context words of both ({found.word} / {found.other}):")
        for shared in found.shared:
            print(f"{shared.word}\t{shared.with_word}\t{shared.with_other}")
        if not found.shared:
            print("(none)")
    return 0


# ---- stability studies ------------------------------------------------------------------------------
def _cmd_stability(args: argparse.Namespace) -> int:
    from w2v_core.stability import DEFAULT_RUNS, Study, check_run_count

    making = args.data is not None or args.corpus is not None or args.out is not None
    if args.study_dir is None:
        if args.word is not None or args.resume:
            raise W2VError("--word and --resume need a study folder: stability STUDY_DIR --word W.")
        if args.out is None or (args.data is None and args.corpus is None):
            raise W2VError("Make a study with --data FILE (or --corpus FILE) and --out STUDY_DIR.")
        n_runs = check_run_count(args.seeds if args.seeds is not None else DEFAULT_RUNS)
        config = config_from_args(args)  # before any reading: a bad setting leaves no folder
        from w2v_core.device import resolve_device

        resolve_device(config.device)
        if (args.out / "study.json").exists():
            raise W2VError(f"'{args.out}' already holds a study; choose a new folder.")
        vocab, corpus, data = _data_from_args(args)
        study = Study.create(
            args.out, config, vocab, corpus, data, n_runs=n_runs, bootstrap=args.bootstrap,
            title=args.name,
        )  # fmt: skip
        return _train_study(study, args.quiet)
    if making or args.seeds is not None or args.bootstrap:
        raise W2VError(
            "Give either STUDY_DIR (to query or continue a study) or --data/--corpus with --out "
            "(to make one), not both."
        )
    study = Study.open(args.study_dir)
    if args.worker or args.resume:
        return _train_study(study, args.quiet or args.worker)
    if args.word is not None:
        return _print_word_stability(study, args.word, args.k, args.json)
    return _print_study(study, args.k)


def _train_study(study, quiet: bool) -> int:
    from w2v_core.jobs import start
    from w2v_core.stability import run_study

    stop_event = threading.Event()
    _stop_on_signals(stop_event)
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=1000, file=sys.stderr, unit="‰", dynamic_ncols=True)

    def show(progress) -> None:
        if bar is not None:
            bar.n = int(progress.fraction_done * 1000)
            bar.set_description(f"study {progress.finished}/{progress.n_runs} runs")
            bar.set_postfix_str(progress.summary())

    try:
        progress = run_study(study, start, on_progress=show, stop_event=stop_event)
    finally:
        if bar is not None:
            bar.close()
    if progress.status == "finished":
        print(f"Finished all {progress.n_runs} runs. Study folder: {study.path}", file=sys.stderr)
        if not quiet:
            _print_study(study, 10)
        return 0
    for row in progress.failed:
        print(f"Run {row.member.index} failed: {row.error}", file=sys.stderr)
    print(
        f"{progress.summary()}. Continue with: python -m w2v_core stability {study.path} --resume",
        file=sys.stderr,
    )
    return 0 if not progress.failed else EXIT_UNEXPECTED


def _print_word_stability(study, word: str, k: int, as_json: bool) -> int:
    from w2v_core.stability import load_study_vectors, word_stability

    vectors = load_study_vectors(study)
    result = word_stability(vectors, word, k)
    if as_json:
        report = {
            "word": result.word, "k": k, "runs": result.n_runs, "stability": result.stability,
            "level": result.level, "reading": result.reading, "warning": result.warning,
            "shared_vocab_size": result.shared_vocab_size, "count": result.count,
            "vocabulary": vectors.vocabulary_note(),
            "neighbours": [dataclasses.asdict(n) for n in result.neighbours],
            "pairs": [{"a": a, "b": b, "jaccard": j} for a, b, j in result.pair_jaccard],
        }  # fmt: skip
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(f"Neighbours of '{word}' across {result.n_runs} runs (top {k} of each run)")
    print(vectors.vocabulary_note())
    width = max([len("NEIGHBOUR"), *(len(n.word) for n in result.neighbours)])
    print(f"{'NEIGHBOUR'.ljust(width)}  RUNS       MEAN COSINE  SPREAD")
    for n in result.neighbours:
        runs = f"{n.runs} of {result.n_runs}"
        print(f"{n.word.ljust(width)}  {runs.ljust(9)}  {n.mean_cosine:11.3f}  ±{n.std_cosine:.3f}")
    print(result.reading)
    if result.warning:
        print(f"Warning: {result.warning}")
    return 0


def _print_study(study, k: int) -> int:
    from w2v_core.stability import LOW_STABILITY, load_study_vectors, study_report

    progress = study.progress()
    info = study.info()
    print(f"{study.title} ({study.path.name}): {progress.status}; {progress.summary()}")
    kind = "bootstrap samples of the documents" if info.get("bootstrap") else "the same documents"
    print(f"  {progress.n_runs} runs, seeds {info.get('seeds')}, on {kind}")
    if progress.finished < 2:
        return 0
    vectors = load_study_vectors(study)
    report = study_report(vectors, k=k, min_count=int(info.get("min_count") or 1))
    print(f"  {vectors.vocabulary_note()}")
    low = report.share_low()
    print(f"  {low:.0%} of the words scored have low stability (below {LOW_STABILITY}).")
    for label, rows in (("most", report.most_stable()), ("least", report.least_stable())):
        words = ", ".join(f"{w} {s:.2f}" for w, s, _ in rows)
        print(f"  {label} stable: {words}")
    return 0


COMMANDS = {
    "train": _cmd_train,
    "resume": _cmd_resume,
    "rerun": _cmd_rerun,
    "card": _cmd_card,
    "stop": _cmd_stop,
    "delete": _cmd_delete,
    "rename": _cmd_rename,
    "list": _cmd_list,
    "status": _cmd_status,
    "evaluate": _cmd_evaluate,
    "export": _cmd_export,
    "neighbors": _cmd_neighbors,
    "kwic": _cmd_kwic,
    "stability": _cmd_stability,
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
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        print(
            f"error: unexpected {type(error).__name__}: {error}. This is a bug in w2v_core; "
            f"set {DEBUG_ENV}=1 to see the details when reporting it.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
