"""Hugging Face datasets -> `TextDataset`: a Hub dataset id, or a local folder in the Hub's layout.

Owns: reading a dataset's schema (configs, splits, columns with types) so a person can pick the text
and label columns, loading one split (prepared as memory-mapped Arrow by `datasets`; or, with
`max_rows`, streamed so only the first rows are fetched), decoding bad bytes, and turning the Hub's
failures (offline, unknown id, gated, missing split) into plain `SourceError`s that name alternatives,
and which local folders may be read: any (the command line, `local_folders=None`) or only those inside
the folders the operator listed (the app passes `local_folders_from_env()`: `W2V_LOCAL_DATA_DIRS`).
Leaves out: cleaning the text (`w2v_core.preprocess`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from w2v_core.errors import SourceError
from w2v_core.sources.dataset import (
    ColumnInfo,
    EncodingReport,
    TextDataset,
    columns_of,
    guess_text_column,
)

LOCAL_DATA_DIRS_ENV = "W2V_LOCAL_DATA_DIRS"  # folders the app may read data sets from (os.pathsep)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_ALTERNATIVES = (
    "Alternatives: pick a built-in corpus, upload a file (.txt, .csv, .jsonl, .parquet or a .zip of "
    ".txt files), or give the path of a dataset folder on this computer."
)


@dataclass(frozen=True)
class HubSchema:
    """What a person needs to choose config, split and columns before loading."""

    dataset_id: str  # the Hub id, or the folder's path as checked
    is_local: bool  # a folder on this computer rather than the Hub
    configs: tuple[str, ...]  # available configurations ("default" when there is one)
    config: str | None  # the configuration described below
    splits: dict[str, int | None]  # split name -> number of rows when known
    columns: tuple[ColumnInfo, ...]
    suggested_text_column: str | None


def local_folders_from_env(environ: Mapping[str, str] = os.environ) -> tuple[Path, ...]:
    """The folders the operator lets the app read data sets from (none unless listed)."""
    raw = environ.get(LOCAL_DATA_DIRS_ENV, "")
    return tuple(Path(part.strip()) for part in raw.split(os.pathsep) if part.strip())


def is_local_dataset(dataset_id_or_folder: str) -> bool:
    """True when the argument names a folder (or file) on this computer rather than a Hub id."""
    path = Path(dataset_id_or_folder).expanduser()
    return (
        path.exists()
        or dataset_id_or_folder.startswith(("/", ".", "~", "\\"))
        or "\\" in dataset_id_or_folder
    )


def hub_schema(
    dataset_id_or_folder: str,
    config: str | None = None,
    local_folders: Sequence[str | Path] | None = None,
) -> HubSchema:
    """Configs, splits and columns (with types) of a Hub dataset or local dataset folder.

    Reads metadata only where the source allows (for a local folder of CSV/JSON files, the first
    rows). `config=None` describes the first configuration when there are several.
    `local_folders`: see `check_dataset_name`. `dataset_id` of the result is the Hub id, or the
    folder's resolved path.
    """
    path, local = _check_path(dataset_id_or_folder, local_folders)
    import datasets

    with _friendly_errors(path, local):
        configs = tuple(datasets.get_dataset_config_names(path) or ("default",))
        if config is not None and config not in configs and configs != ("default",):
            raise SourceError(
                f"'{path}' has no configuration '{config}'. Its configurations: {', '.join(configs)}."
            )
        chosen = config if config is not None else (configs[0] if len(configs) > 1 else None)
        builder = datasets.load_dataset_builder(path, chosen)
        splits = _split_sizes(builder)
        features = builder.info.features
        if features is None:  # CSV/JSON folders: known only after reading some rows
            first_split = next(iter(splits), "train")
            streamed = datasets.load_dataset(
                path,
                chosen,
                split=first_split,
                streaming=True,
                **_encoding_kwargs(builder, "replace"),
            )
            features = streamed.features
            if features is None:
                features = datasets.Dataset.from_list(list(streamed.take(20))).features
    columns = tuple(columns_of(features))
    return HubSchema(
        dataset_id=path,
        is_local=local,
        configs=configs,
        config=chosen if chosen is not None else (configs[0] if configs else None),
        splits=splits,
        columns=columns,
        suggested_text_column=guess_text_column(columns, {}),
    )


def load_hub(
    dataset_id_or_folder: str,
    config: str | None = None,
    split: str = "train",
    text_column: str | None = None,
    label_columns: Sequence[str] = (),
    encoding_errors: str = "replace",
    max_rows: int | None = None,
    local_folders: Sequence[str | Path] | None = None,
) -> TextDataset:
    """Load one split of a Hub dataset (or local dataset folder) as a `TextDataset`.

    Parameters
    ----------
    dataset_id_or_folder : str
        A Hub id such as "tweets_hate_speech_detection" or "owner/name", or a folder path.
    config, split
        Configuration (None: the default) and split; slices such as "train[:10%]" work.
    text_column : str, optional
        Column with the text; None pre-selects a likely one.
    label_columns : sequence of str
        Label or metadata columns kept alongside each document.
    encoding_errors : str
        What to do with bytes that are not valid UTF-8 in CSV/JSON/text files: "replace" (with "�",
        counted in `encoding_report`) or "strict" (fail).
    max_rows : int, optional
        Stream only the first `max_rows` rows of the split (large Hub datasets: nothing else is
        downloaded; a slice in `split` is then ignored).
    local_folders : sequence of paths, optional
        None: any folder on this computer (the command line); else only folders inside these (the
        app), see `check_dataset_name`.
    """
    path, local = _check_path(dataset_id_or_folder, local_folders)
    import datasets

    with _friendly_errors(path, local):
        builder = datasets.load_dataset_builder(path, config)
        encoding_kwargs = _encoding_kwargs(builder, encoding_errors)
        if encoding_kwargs:
            builder = datasets.load_dataset_builder(path, config, **encoding_kwargs)
        available = _split_sizes(builder)
        base_split = split.split("[", 1)[0]
        if available and base_split not in available:
            raise SourceError(
                f"'{path}' has no split '{base_split}'. Its splits: {', '.join(available)}."
            )
        if max_rows is not None:
            dataset = datasets.Dataset.from_generator(
                _stream_rows,
                gen_kwargs={"path": path, "config": config, "split": base_split,  # no slices when
                            "n": int(max_rows), "encoding_kwargs": encoding_kwargs},  # streaming
            )  # fmt: skip
        else:
            builder.download_and_prepare()
            dataset = builder.as_dataset(split=split)
    if dataset.num_rows == 0:
        raise SourceError(f"The split '{split}' of '{path}' has no rows.")
    if text_column is None:
        text_column = guess_text_column(columns_of(dataset.features), {})
        if text_column is None:
            described = ", ".join(f"{c.name} ({c.kind})" for c in columns_of(dataset.features))
            raise SourceError(f"No column of '{path}' holds text (columns: {described}).")
    chosen = TextDataset(
        name=Path(path).name if local else path,
        source={"kind": "folder" if local else "hub", "path": str(Path(path).resolve()) if local else path,
                "config": config, "split": split, "max_rows": max_rows},
        dataset=dataset,
        text_column=text_column,
        metadata_columns=tuple(label_columns),
    )  # fmt: skip
    chosen.encoding_report = EncodingReport("utf-8", _count_replacements(chosen))
    return chosen


# ---- helpers ----------------------------------------------------------------------------------------
def _stream_rows(path: str, config: str | None, split: str, n: int, encoding_kwargs: dict) -> Any:
    """Generator for `Dataset.from_generator`: the first `n` rows, streamed (module level: hashable)."""
    import datasets

    yield from datasets.load_dataset(
        path, config, split=split, streaming=True, **encoding_kwargs
    ).take(n)


def _encoding_kwargs(builder: Any, encoding_errors: str) -> dict[str, str]:
    """`encoding_errors` for builders that decode text themselves (csv, json, text), else nothing."""
    fields = {f.name for f in dataclasses.fields(builder.config)}
    return {"encoding_errors": encoding_errors} if "encoding_errors" in fields else {}


def _split_sizes(builder: Any) -> dict[str, int | None]:
    if builder.info.splits:
        return {name: info.num_examples for name, info in builder.info.splits.items()}
    data_files = getattr(builder.config, "data_files", None) or {}
    return {str(name): None for name in data_files}


def _count_replacements(dataset: TextDataset) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = dataset.dataset.select_columns([dataset.text_column]).with_format("arrow")
    total = 0
    for table in column.iter(batch_size=100_000):
        values = table.column(dataset.text_column)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            total += int(
                pc.sum(pc.count_substring(values, "\N{REPLACEMENT CHARACTER}")).as_py() or 0
            )
    return total


def check_dataset_name(
    dataset_id_or_folder: str, local_folders: Sequence[str | Path] | None = None
) -> tuple[str, bool]:
    """(Hub id or folder path, is it a local folder) for what a person typed; `SourceError` if unusable.

    `local_folders=None` (the command line): any file or folder on this computer. A sequence (the
    app): a folder only when its resolved path (`..` and symlinks followed) lies inside one of these
    folders and outside this program's cache (uploads, preprocessed corpora); `~` is not expanded,
    and an empty sequence turns local folders off. Anything else must be a Hub id.
    """
    return _check_path(dataset_id_or_folder, local_folders)


def _check_path(
    dataset_id_or_folder: str, local_folders: Sequence[str | Path] | None = None
) -> tuple[str, bool]:
    value = (dataset_id_or_folder or "").strip()
    if not value:
        raise SourceError(
            "Give a Hugging Face dataset id (such as 'tweets_hate_speech_detection') or a folder."
        )
    if local_folders is not None:
        if is_local_dataset(value):  # `datasets` would read a folder of that name, even for an id
            return _allowed_folder(value, local_folders), True
    elif is_local_dataset(value):
        path = Path(value).expanduser()
        if not path.exists():
            raise SourceError(f"The folder '{value}' does not exist on this computer.")
        return str(path), True
    if not _HUB_ID.match(value):
        raise SourceError(
            f"'{value}' is neither a folder on this computer nor a Hugging Face dataset id "
            "(ids look like 'name' or 'owner/name')."
        )
    if not _hub_offline_mode() and not _hub_reachable():
        raise SourceError(_offline_message(value))
    return value, False


def _allowed_folder(value: str, local_folders: Sequence[str | Path]) -> str:
    """`value` resolved, when it is a folder inside one of `local_folders` (else `SourceError`)."""
    from w2v_core.preprocess.cache import default_cache_dir

    roots = [Path(folder).resolve() for folder in local_folders]
    if not roots:
        raise SourceError(
            f"'{value}' looks like a folder on the server, and local folders are off: this server "
            "reads Hugging Face data set ids only (such as 'imdb' or 'owner/name'). The operator "
            f"can allow folders by listing them in the environment variable {LOCAL_DATA_DIRS_ENV}."
        )
    resolved = Path(value).resolve()  # no expanduser: '~' is a name like any other here
    cache = default_cache_dir().expanduser().resolve()
    inside = any(resolved.is_relative_to(root) for root in roots)
    if not inside or resolved.is_relative_to(cache):
        listed = ", ".join(str(root) for root in roots)
        raise SourceError(
            f"'{value}' is not inside the folders this server may read data sets from ({listed}; "
            f"set by the operator in {LOCAL_DATA_DIRS_ENV}). Give a folder inside one of them, or "
            "a Hugging Face data set id."
        )
    if not resolved.is_dir():
        raise SourceError(f"There is no data set folder '{value}' on this server.")
    return str(resolved)


def _hub_offline_mode() -> bool:
    flags = (os.environ.get(k, "") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return any(flag.upper() in ("1", "ON", "YES", "TRUE") for flag in flags)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP connect to the Hub, so an offline computer hears so in seconds, not after retries."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def _offline_message(dataset_id: str) -> str:
    return (
        f"Could not reach the Hugging Face Hub to load '{dataset_id}': this computer seems to be "
        "offline. If it was loaded on this computer before, a copy is saved here: start the "
        "server with HF_HUB_OFFLINE=1 (an environment variable that tells the Hugging Face "
        f"library to use its saved copies instead of going online). {_ALTERNATIVES}"
    )


class _friendly_errors:
    """Context manager: turn `datasets` / Hub exceptions into `SourceError`s a person can act on."""

    def __init__(self, path: str, local: bool) -> None:
        self.path, self.local = path, local

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, _tb: Any) -> bool:
        if error is None or isinstance(error, SourceError) or not isinstance(error, Exception):
            return False
        raise SourceError(self._message(error)) from error

    def _message(self, error: Exception) -> str:
        name = type(error).__name__
        chain = _exception_chain(error)
        text = " ".join(str(e) for e in chain)
        if any(isinstance(e, UnicodeDecodeError) for e in chain):
            return (
                f"'{self.path}' holds bytes that are not valid UTF-8. Load it with "
                "encoding_errors='replace' to replace them with �."
            )
        if self.local:
            if (
                isinstance(error, FileNotFoundError)
                or "Unable to find" in text
                or "doesn't contain" in text
            ):
                return (
                    f"The folder '{self.path}' holds no data files that Hugging Face datasets can "
                    f"read (CSV, JSON Lines, Parquet, text, ...). ({_first_line(error)})"
                )
            return f"Could not read the dataset folder '{self.path}': {_first_line(error)}"
        if name in ("GatedRepoError",) or "gated" in text.lower():
            return (
                f"'{self.path}' is a gated dataset: accept its terms on huggingface.co and log in "
                "(huggingface-cli login) first."
            )
        if name in ("DatasetNotFoundError", "RepositoryNotFoundError") or isinstance(
            error, FileNotFoundError
        ):
            return (
                f"There is no dataset '{self.path}' on the Hugging Face Hub (or it is private). "
                "Check the spelling: ids look like 'name' or 'owner/name', as in the dataset's "
                f"address huggingface.co/datasets/<id>. {_ALTERNATIVES}"
            )
        if (
            isinstance(error, ConnectionError | TimeoutError)
            or "Offline" in text
            or "reach" in text
        ):
            return _offline_message(self.path)
        return f"Could not load '{self.path}' from the Hugging Face Hub: {_first_line(error)}"


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return chain


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]
