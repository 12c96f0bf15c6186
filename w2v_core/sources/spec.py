"""`DataSpec`: which data set and which columns, small and hashable; `load_spec` reads it.

Owns: the description of a data choice that the app keeps in session state, that run.json stores
(`to_dict` / `from_dict`) and that the command line builds from a path (`DataSpec.from_path`), loading
it into a `TextDataset`, and keeping uploads under their SHA-256 in the cache folder so that a spec
names an upload by content and never carries the bytes.
Leaves out: reading each kind of source (`builtin`, `hub`, `upload`) and cleaning text
(`w2v_core.preprocess`).

Kinds: "builtin" (a corpus of `list_builtin_corpora`), "hub" (a Hugging Face id or a local dataset
folder), "upload" (a file the app stored under its SHA-256) and "file" (a file on this computer, in
any format an upload may have).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

from w2v_core.errors import SourceError
from w2v_core.sources.dataset import TextDataset
from w2v_core.sources.upload import UPLOAD_SUFFIXES, TxtMode, load_file

_SHA256 = re.compile(r"^[0-9a-f]{64}$")  # an upload's key: never a path
DataKind = Literal["builtin", "hub", "upload", "file"]
DATA_KINDS: tuple[str, ...] = ("builtin", "hub", "upload", "file")


@dataclass(frozen=True)
class DataSpec:
    """Which data set and which columns; frozen and hashable (a cache key, a session value).

    Enough to load the same rows again on this computer: run.json stores `to_dict()`.
    """

    kind: DataKind
    key: str  # built-in corpus key | Hub id or dataset folder | upload SHA-256 | file path
    label: str  # what the person sees: corpus name, Hub id, file name
    text_column: str | None = None  # None: the source's own guess
    metadata_columns: tuple[str, ...] = ()  # label/metadata columns kept alongside the text
    config: str | None = None  # Hub only: the configuration (None: the default one)
    split: str = "train"  # Hub only
    max_rows: int | None = None  # Hub only: stream just the first rows
    filename: str | None = None  # upload only: the uploaded file's name (its suffix is the format)
    txt_mode: TxtMode = "lines"  # .txt (also in a .zip): one document per line, or per file
    encoding: str | None = None  # uploads and files: the text encoding; None detects it

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise SourceError(
                f"'{self.kind}' is not a kind of data; the kinds are: {', '.join(DATA_KINDS)}."
            )
        if self.txt_mode not in ("lines", "whole"):
            raise SourceError(f"txt_mode must be 'lines' or 'whole', not '{self.txt_mode}'.")
        object.__setattr__(self, "metadata_columns", tuple(self.metadata_columns))

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def from_path(
        cls,
        path: str | Path,
        text_column: str | None = None,
        txt_mode: TxtMode = "lines",
        encoding: str | None = None,
    ) -> DataSpec:
        """A file in any upload format (by its suffix), or a folder (a local Hugging Face dataset).

        Raises `SourceError` when nothing is at `path` or its suffix is not a format we read.
        """
        resolved = Path(path).expanduser().resolve()
        if resolved.is_dir():
            return cls("hub", str(resolved), resolved.name, text_column, txt_mode=txt_mode)
        if not resolved.is_file():
            raise SourceError(f"There is no file or folder '{path}'.")
        suffix = resolved.suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise SourceError(
                f"'{resolved.name}': files of type '{suffix or '(none)'}' cannot be read. "
                f"Supported: {', '.join(UPLOAD_SUFFIXES)}, or a Hugging Face dataset folder."
            )
        return cls(
            "file", str(resolved), resolved.name, text_column, txt_mode=txt_mode, encoding=encoding
        )

    def with_columns(self, text_column: str, metadata_columns: tuple[str, ...] = ()) -> DataSpec:
        return replace(self, text_column=text_column, metadata_columns=tuple(metadata_columns))

    def same_rows(self, other: DataSpec) -> bool:
        """True when `other` names the same data read the same way, whatever its columns."""

        def rows(spec: DataSpec) -> DataSpec:
            return replace(spec, label="", text_column=None, metadata_columns=())

        return rows(self) == rows(other)

    def rows_only(self) -> DataSpec:
        """The same rows without the column choice: what loading depends on (a cache key).

        Hub data keeps its text column, which `load_hub` needs when it loads.
        """
        return replace(
            self,
            label="",
            text_column=self.text_column if self.kind == "hub" else None,
            metadata_columns=(),
        )

    # ---- run.json -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["metadata_columns"] = list(self.metadata_columns)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DataSpec:
        """Inverse of `to_dict`; unknown keys are ignored, missing optional ones take defaults."""
        known = {f.name for f in fields(cls)}
        missing = [name for name in ("kind", "key") if name not in values]
        if missing:
            raise SourceError(f"The data description lacks {', '.join(missing)}.")
        kwargs = {k: v for k, v in values.items() if k in known}
        kwargs.setdefault("label", str(values["key"]))
        kwargs["metadata_columns"] = tuple(kwargs.get("metadata_columns") or ())
        return cls(**kwargs)

    # ---- where the rows are ---------------------------------------------------------------------
    def file_path(self) -> Path | None:
        """The file an upload or file spec reads (None for built-in and Hub data)."""
        if self.kind == "upload":
            return upload_path(self.key, self.filename or "upload.txt")
        if self.kind == "file":
            return Path(self.key)
        return None


# ---- uploads ----------------------------------------------------------------------------------------
def uploads_dir() -> Path:
    """Where uploads are kept: beside the preprocessing cache ($W2V_CACHE_DIR or ~/.cache/w2v_studio)."""
    from w2v_core.preprocess.cache import default_cache_dir

    return default_cache_dir().expanduser().resolve() / "uploads"


def upload_path(digest: str, filename: str) -> Path:
    return uploads_dir() / digest / Path(filename).name


UPLOAD_OWNERS_FILE = ".owners"  # beside an upload: the owner ids of the browsers that uploaded it


UPLOAD_CHUNK_BYTES = 1 << 20  # an upload is hashed and written 1 MiB at a time


def store_upload(
    filename: str,
    data: bytes | BinaryIO,
    txt_mode: TxtMode = "lines",
    encoding: str | None = None,
    owner: str | None = None,
) -> DataSpec:
    """Keep an uploaded file under its SHA-256 (written once) and return the spec that names it.

    `data`: the bytes, or a binary file object (Streamlit's UploadedFile) read from its start in
    chunks, so a large upload is not copied whole in memory. `owner`: the owner id
    (`w2v_core.ownership.owner_id`) of the browser that uploaded it, added to the upload's owners,
    so a link naming the digest opens it only for them (`upload_owned_by`).
    """
    from w2v_core.io_utils import atomic_write_text

    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    stream.seek(0)
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".upload.{os.getpid()}.{time.monotonic_ns()}.tmp"
    hasher = hashlib.sha256()
    try:
        with open(temp, "wb") as out:
            while chunk := stream.read(UPLOAD_CHUNK_BYTES):
                hasher.update(chunk)
                out.write(chunk)
        digest = hasher.hexdigest()
        target = upload_path(digest, filename)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)
        else:
            os.utime(target)  # uploaded again: young again (see `prune_uploads`)
    finally:
        temp.unlink(missing_ok=True)
    if owner is not None:
        owners = _upload_owners(digest)
        if owner not in owners:
            atomic_write_text(target.parent / UPLOAD_OWNERS_FILE, "".join(
                f"{o}\n" for o in sorted(owners | {owner})
            ))  # fmt: skip
    name = Path(filename).name
    return DataSpec("upload", digest, name, filename=name, txt_mode=txt_mode, encoding=encoding)


def _upload_owners(digest: str) -> set[str]:
    try:
        text = (uploads_dir() / digest / UPLOAD_OWNERS_FILE).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return set()
    return {line for line in text.split() if _SHA256.match(line)}


def upload_owned_by(digest: str, owner: str | None) -> bool:
    """Whether the browser with owner id `owner` uploaded the file stored as `digest` (uploading
    the same bytes makes a browser an owner too: it has them)."""
    if owner is None or not _SHA256.match(str(digest)):
        return False
    return owner in _upload_owners(digest)


UPLOAD_MAX_AGE_SECONDS = 24 * 3600  # an upload no run names is deleted after a day untouched


def prune_uploads(
    referencing_folders: Sequence[str | Path],
    max_age_seconds: float = UPLOAD_MAX_AGE_SECONDS,
    now: float | None = None,
) -> list[str]:
    """Delete stored uploads that nothing needs; returns the digests removed.

    An upload is kept while it is younger than `max_age_seconds` (uploaded, or uploaded again, in
    that time: a session working with it) or while any `run.json` / `study.json` under
    `referencing_folders` (the runs root) names its digest, so runs can still show their text and be
    re-run. Only folders named by a SHA-256 are ever touched.
    """
    root = uploads_dir()
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    old = {}
    for folder in root.iterdir():
        if not (folder.is_dir() and _SHA256.match(folder.name)):
            continue
        try:
            newest = max((f.stat().st_mtime for f in folder.iterdir()), default=0.0)
        except OSError:  # being written or removed right now
            continue
        if now - newest > max_age_seconds:
            old[folder.name] = folder
    if not old:
        return []
    for base in referencing_folders:
        for name in ("run.json", "study.json"):
            for record in Path(base).rglob(name):
                try:
                    text = record.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                for digest in [d for d in old if d in text]:
                    del old[digest]
    for folder in old.values():
        shutil.rmtree(folder, ignore_errors=True)
    return sorted(old)


# ---- loading ----------------------------------------------------------------------------------------
def load_spec(spec: DataSpec, local_folders: Sequence[str | Path] | None = None) -> TextDataset:
    """The rows of `spec` with its text and metadata columns chosen; `dataset.spec` is `spec`.

    `local_folders`: None reads any folder or file on this computer (the command line); the app
    passes the folders the operator allows (`hub.local_folders_from_env()`), so a "hub" or "file"
    spec outside them is refused (see `hub.check_dataset_name`). Uploads are read by digest only.
    Raises `SourceError` saying which file or data set is missing or unreadable.
    """
    return with_spec_columns(_load_rows(spec, local_folders), spec)


def with_spec_columns(dataset: TextDataset, spec: DataSpec) -> TextDataset:
    """`dataset` (rows loaded for `spec.rows_only()`) with `spec`'s columns chosen."""
    text_column = spec.text_column or dataset.text_column
    if text_column == dataset.text_column and spec.metadata_columns == dataset.metadata_columns:
        chosen = dataset.with_columns(text_column, dataset.metadata_columns)  # a copy to label
    else:
        chosen = dataset.with_columns(text_column, spec.metadata_columns)
    chosen.spec = spec.with_columns(text_column, chosen.metadata_columns)
    return chosen


def _load_rows(spec: DataSpec, local_folders: Sequence[str | Path] | None = None) -> TextDataset:
    from w2v_core.sources.builtin import load_builtin
    from w2v_core.sources.hub import check_dataset_name, load_hub

    if spec.kind == "builtin":
        return load_builtin(spec.key)
    if spec.kind == "hub":
        return load_hub(
            spec.key,
            config=spec.config,
            split=spec.split,
            text_column=spec.text_column,
            max_rows=spec.max_rows,
            local_folders=local_folders,
        )
    if spec.kind == "upload" and not _SHA256.match(spec.key):
        raise SourceError(f"'{spec.key}' is not the digest of an upload.")
    if spec.kind == "file" and local_folders is not None:
        check_dataset_name(str(Path(spec.key).parent), local_folders)  # its folder must be allowed
    path = spec.file_path()
    assert path is not None
    if not path.is_file():
        if spec.kind == "upload":
            raise SourceError(
                f"The uploaded file '{spec.filename}' is no longer on this server (it was kept "
                f"as {path}); please upload it again."
            )
        raise SourceError(f"The data file '{path}' does not exist.")
    return load_file(path, txt_mode=spec.txt_mode, encoding=spec.encoding)
