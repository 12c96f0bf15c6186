"""`TextDataset`: a table of documents (one text column, optional label/metadata columns) on Arrow.

Owns: the object every source returns and `preprocess` consumes, column descriptions (`ColumnInfo`),
how text was decoded (`EncodingReport`), choosing the text and metadata columns, and the content
fingerprint that keys the preprocessing cache.
Leaves out: where the rows came from (`builtin`, `hub`, `upload`) and cleaning the text
(`w2v_core.preprocess`).

The rows live in a `datasets.Dataset` (Arrow; memory-mapped when it came from the Hub or a dataset
folder), never in Python lists of strings: texts are read back in batches.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from w2v_core.errors import SourceError

if TYPE_CHECKING:
    from w2v_core.sources.spec import DataSpec

ColumnKind = Literal["text", "text_list", "number", "label", "other"]

# Column names that usually hold the document text, best first (used to pre-select a column).
_TEXT_COLUMN_NAMES = (
    "text", "tweet", "content", "body", "document", "sentence", "review", "speech", "message",
    "abstract", "comment", "post", "title",
)  # fmt: skip


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a data set, described for a person choosing the text column."""

    name: str
    dtype: str  # Arrow / datasets type, e.g. "string", "int64", "ClassLabel(neg, pos)"
    kind: ColumnKind  # "text" and "text_list" can be the text column; the rest are metadata

    @property
    def is_text(self) -> bool:
        return self.kind in ("text", "text_list")


# Encodings a person can choose for an upload, by Python's codec name, with the name they recognise.
ENCODING_CHOICES: dict[str, str] = {
    "utf-8": "UTF-8 (Unicode)",
    "cp1252": "Western European (Windows-1252)",
    "iso8859-1": "Western European (ISO-8859-1, Latin-1)",
    "iso8859-15": "Western European (ISO-8859-15)",
    "mac-roman": "Western European (Mac OS Roman)",
    "cp1250": "Central European (Windows-1250)",
    "iso8859-2": "Central European (ISO-8859-2)",
    "cp1251": "Cyrillic (Windows-1251)",
    "koi8-r": "Cyrillic (KOI8-R)",
    "cp1253": "Greek (Windows-1253)",
    "cp1254": "Turkish (Windows-1254)",
    "cp1255": "Hebrew (Windows-1255)",
    "cp1256": "Arabic (Windows-1256)",
    "cp1257": "Baltic (Windows-1257)",
    "utf-16": "UTF-16 (Unicode)",
    "gb18030": "Chinese, simplified (GB18030)",
    "big5": "Chinese, traditional (Big5)",
    "shift_jis": "Japanese (Shift JIS)",
    "euc_jp": "Japanese (EUC-JP)",
    "euc_kr": "Korean (EUC-KR)",
}
_MORE_LABELS = {  # encodings that are detected but not offered
    "utf-16-le": "UTF-16 (little-endian)",
    "utf-16-be": "UTF-16 (big-endian)",
    "utf-32-le": "UTF-32 (little-endian)",
    "utf-32-be": "UTF-32 (big-endian)",
    "ascii": "ASCII",
}


def encoding_label(encoding: str) -> str:
    """A codec name as a person knows it: "cp1252" -> "Western European (Windows-1252)"."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding.upper()
    return ENCODING_CHOICES.get(name) or _MORE_LABELS.get(name) or name.upper()


@dataclass(frozen=True)
class EncodingReport:
    """How the bytes were turned into text.

    `invalid_bytes_replaced` counts bytes that were not valid in `encoding` and became "�". For
    uploads it is exact; for Hugging Face data (decoded by `datasets`) it counts the "�" characters
    found in the text column after loading. `encoding` is a codec name, or several joined by " + "
    (the files of a zip).
    """

    encoding: str = "utf-8"
    invalid_bytes_replaced: int = 0
    detected: bool = False  # True when the encoding was guessed rather than given or certain

    @property
    def label(self) -> str:
        """The encoding in plain words, e.g. "Western European (Windows-1252)"."""
        return " + ".join(encoding_label(name) for name in self.encoding.split(" + "))

    def describe(self) -> str:
        """One plain sentence, e.g. "Read as UTF-8; 2 invalid bytes replaced by �."."""
        text = f"Read as {self.label}"
        if self.detected:
            text += (
                ", detected automatically (if accented letters look wrong, choose another encoding)"
            )
        if self.invalid_bytes_replaced:
            n = self.invalid_bytes_replaced
            text += (
                f"; {n:,} invalid byte{'s' if n != 1 else ''} replaced by \N{REPLACEMENT CHARACTER}"
            )
        return text + "."


def describe_feature(feature: Any) -> tuple[str, ColumnKind]:
    """(dtype, kind) of a `datasets` feature (Value, ClassLabel, List/Sequence, ...)."""
    import datasets

    if isinstance(feature, datasets.ClassLabel):
        return (
            f"ClassLabel({', '.join(feature.names[:6])}{', ...' if feature.num_classes > 6 else ''})",
            "label",
        )
    if isinstance(feature, datasets.Value):
        dtype = feature.dtype
        if dtype in ("string", "large_string"):
            return dtype, "text"
        if dtype.startswith(("int", "uint", "float", "bool", "double", "decimal")):
            return dtype, "number"
        return dtype, "other"
    inner = getattr(feature, "feature", None)  # List / Sequence / LargeList
    if isinstance(inner, datasets.Value) and inner.dtype in ("string", "large_string"):
        return f"list<{inner.dtype}>", "text_list"
    return type(feature).__name__, "other"


def columns_of(features: Mapping[str, Any]) -> list[ColumnInfo]:
    """Every column of a `datasets.Features` mapping (a dataset's `.features`), described."""
    return [ColumnInfo(name, *describe_feature(feature)) for name, feature in features.items()]


def guess_text_column(
    columns: Sequence[ColumnInfo], mean_lengths: Mapping[str, float]
) -> str | None:
    """The column most likely to hold the documents: a well-known name, else the longest texts."""
    text_columns = [c.name for c in columns if c.is_text]
    if not text_columns:
        return None
    by_lower = {name.lower(): name for name in text_columns}
    for candidate in _TEXT_COLUMN_NAMES:
        if candidate in by_lower:
            return by_lower[candidate]
    return max(text_columns, key=lambda name: mean_lengths.get(name, 0.0))


@dataclass
class TextDataset:
    """Documents in an Arrow table: `text_column` holds the text, `metadata_columns` travel along.

    Build one with `w2v_core.sources` (`load_builtin`, `load_hub`, `read_upload`) or
    `TextDataset.from_texts`. Choosing other columns gives a new object (`with_columns`); the rows are
    shared, not copied.

    Attributes
    ----------
    name : str
        Shown to the person, e.g. "Lee news corpus" or "tweets.csv".
    source : dict
        JSON-serialisable description of where the rows came from (stored in run.json).
    dataset : datasets.Dataset
        The rows.
    text_column, metadata_columns
        The column with the document text (string, or a list of strings joined by spaces) and the
        columns kept alongside it (labels, dates, authors, ...).
    encoding_report : EncodingReport
        How bytes became text.
    notes : tuple of str
        Plain-language remarks from loading (e.g. "3 malformed rows were skipped").
    spec : DataSpec, optional
        How to load these rows and columns again (set by `load_spec`; None for texts in memory).
    """

    name: str
    source: dict[str, Any]
    dataset: Any  # datasets.Dataset (not imported at module level: importing datasets takes ~1 s)
    text_column: str
    metadata_columns: tuple[str, ...] = ()
    encoding_report: EncodingReport = field(default_factory=EncodingReport)
    notes: tuple[str, ...] = ()
    spec: DataSpec | None = field(default=None, compare=False)
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.metadata_columns = tuple(self.metadata_columns)
        self.notes = tuple(self.notes)
        by_name = {c.name: c for c in self.columns}
        for name in (self.text_column, *self.metadata_columns):
            if name not in by_name:
                raise SourceError(
                    f"The data set has no column '{name}'. Its columns are: "
                    f"{', '.join(by_name) or '(none)'}."
                )
        chosen = by_name[self.text_column]
        if not chosen.is_text:
            text_names = [c.name for c in by_name.values() if c.is_text]
            hint = (
                f" Columns with text: {', '.join(text_names)}."
                if text_names
                else " No column of this data set holds text."
            )
            what = "numbers" if chosen.kind == "number" else f"values of type {chosen.dtype}"
            raise SourceError(
                f"The column '{self.text_column}' holds {what}, not text, so it cannot be the "
                f"text column.{hint}"
            )

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def from_texts(
        cls,
        texts: Sequence[str],
        metadata: Mapping[str, Sequence[Any]] | None = None,
        name: str = "texts",
        source: dict[str, Any] | None = None,
    ) -> TextDataset:
        """Wrap texts already in memory (pasted text, tests); `metadata` columns align with `texts`."""
        import datasets

        columns: dict[str, Any] = {"text": pa.array(list(texts), type=pa.large_string())}
        for key, values in (metadata or {}).items():
            if len(values) != len(texts):
                raise SourceError(
                    f"Metadata column '{key}' has {len(values)} values for {len(texts)} texts."
                )
            columns[key] = pa.array(list(values))
        table = pa.table(columns)
        return cls(
            name=name,
            source=source or {"kind": "memory", "name": name},
            dataset=datasets.Dataset(table),
            text_column="text",
            metadata_columns=tuple(k for k in columns if k != "text"),
        )

    def with_columns(self, text_column: str, metadata_columns: Sequence[str] = ()) -> TextDataset:
        """The same rows with another text column and/or other metadata columns.

        Raises `SourceError` when a column is missing or the text column does not hold text.
        """
        metadata_columns = tuple(c for c in metadata_columns if c != text_column)
        chosen = replace(
            self,
            text_column=text_column,
            metadata_columns=metadata_columns,
            spec=self.spec.with_columns(text_column, metadata_columns) if self.spec else None,
        )
        if text_column == self.text_column:
            chosen._fingerprint = self._fingerprint  # same text, same fingerprint
        return chosen

    # ---- description ----------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self.dataset.num_rows)

    @property
    def columns(self) -> list[ColumnInfo]:
        """Every column with its type and whether it can be the text column."""
        return columns_of(self.dataset.features)

    @property
    def text_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.is_text]

    def describe(self) -> dict[str, Any]:
        """What run.json stores about the data: source, columns, size, encoding, fingerprint, and
        the `DataSpec` that loads it again (None for texts in memory)."""
        return {
            "spec": self.spec.to_dict() if self.spec is not None else None,
            "name": self.name,
            "source": self.source,
            "text_column": self.text_column,
            "metadata_columns": list(self.metadata_columns),
            "n_rows": self.n_rows,
            "encoding": self.encoding_report.encoding,
            "invalid_bytes_replaced": self.encoding_report.invalid_bytes_replaced,
            "fingerprint": self.fingerprint(),
        }

    # ---- reading --------------------------------------------------------------------------------
    def iter_text_batches(self, batch_size: int = 10_000) -> Iterator[list[str]]:
        """Texts in row order, `batch_size` rows at a time; a missing value reads as ""."""
        arrow_rows = self.dataset.select_columns([self.text_column]).with_format("arrow")
        for table in arrow_rows.iter(batch_size=batch_size):
            column = table.column(self.text_column)
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                yield [" ".join(x for x in (value or []) if x) for value in column.to_pylist()]
            else:
                yield [value if value is not None else "" for value in column.to_pylist()]

    def texts(self) -> Iterator[str]:
        """Every document's text, in row order."""
        for batch in self.iter_text_batches():
            yield from batch

    def text_at(self, row: int) -> str:
        """The text of one row (as `texts()` gives it)."""
        value = self.dataset[int(row)][self.text_column]
        if isinstance(value, list):
            return " ".join(x for x in value if x)
        return value if value is not None else ""

    def preview(self, n: int = 5, max_chars: int = 300) -> list[dict[str, Any]]:
        """The first `n` rows as dicts (all columns), long texts cut at `max_chars` with "…"."""
        rows = self.dataset.select(range(min(n, self.n_rows))).to_list()
        for row in rows:
            for key, value in row.items():
                if isinstance(value, str) and len(value) > max_chars:
                    row[key] = value[:max_chars] + "\N{HORIZONTAL ELLIPSIS}"
        return rows

    def fingerprint(self) -> str:
        """SHA-256 of the text column's content (not of where it came from).

        Identical texts give the same fingerprint whatever the source or Arrow chunking, so the
        preprocessing cache is hit for the same data loaded twice. Computed once (~20 ms per 10 MB).
        """
        if self._fingerprint is None:
            lengths, data, nulls = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
            arrow_rows = self.dataset.select_columns([self.text_column]).with_format("arrow")
            for table in arrow_rows.iter(batch_size=100_000):
                for chunk in table.column(self.text_column).chunks:
                    _hash_chunk(chunk, lengths, data, nulls)
            combined = hashlib.sha256(f"rows={self.n_rows};".encode())
            for part in (lengths, data, nulls):
                combined.update(part.digest())
            self._fingerprint = combined.hexdigest()
        return self._fingerprint


def _hash_chunk(chunk: pa.Array, lengths: Any, data: Any, nulls: Any) -> None:
    """Feed one Arrow array into three hashes (value lengths, bytes, null mask), chunking-independent."""
    nulls.update(
        np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=np.uint8).tobytes()
    )
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        text = "\x00".join(
            " ".join(v or []) if isinstance(v, list) else str(v) for v in chunk.to_pylist()
        )
        data.update(text.encode("utf-8", "surrogatepass"))
        return
    chunk = chunk.cast(pa.large_string())
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64, count=chunk.offset + len(chunk) + 1)[
        chunk.offset :
    ]
    lengths.update(np.diff(offsets).tobytes())
    if buffers[2] is not None and len(offsets):
        data.update(memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])])
