"""Uploaded files -> `TextDataset`: .txt, .csv/.tsv, .jsonl/.json, .parquet and .zip of .txt files.

Owns: the upload size limit, recognising binary files that were renamed, decoding bytes (UTF-8 with
invalid bytes replaced and counted; Western European text recognised as Windows-1252, other encodings
detected with charset-normalizer, or given by the person), and turning each format into an Arrow table. Leaves out: cleaning the text
(`w2v_core.preprocess`).

Tables are built by pyarrow's CSV/JSON/Parquet readers and Arrow compute kernels (a .txt file is split
into lines inside Arrow), not by Python lists of strings.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from w2v_core.errors import SourceError
from w2v_core.sources.dataset import EncodingReport, TextDataset, columns_of, guess_text_column

MAX_UPLOAD_MB: int = 200  # the app's .streamlit/config.toml `server.maxUploadSize` must equal this
MAX_UNZIPPED_MB: int = 4 * MAX_UPLOAD_MB  # a zip may not unpack to more than this (zip bombs)
UPLOAD_SUFFIXES = (
    ".txt", ".text", ".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".zip",
)  # fmt: skip

TxtMode = Literal["lines", "whole"]

_MB = 1024 * 1024  # sample sizes
# The upload limit counts megabytes of 1,000,000 bytes, as the browser's file uploader does (it shows
# and enforces "200MB" as 200,000,000 bytes), so a file the browser accepts is one the core accepts.
MEGABYTE = 1_000_000
# each undecodable byte, as the `surrogateescape` error handler leaves it
_LONE_SURROGATES = re.compile("[\udc80-\udcff]")
_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What French, German, Spanish, Portuguese, Italian, Dutch, Catalan and the Nordic languages write
# beyond ASCII; Windows-1252 bytes of other languages decode to other characters (see
# `_western_european`).
_WESTERN_CHARACTERS = frozenset(
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüÿœß" "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜŸŒ"
    "«»‹›‘’‚“”„–—…•·°€£¡¿§©®\u00a0"
)  # fmt: skip
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LETTERS = re.compile(r"[^\W\d_]")
# Leading bytes of formats people upload by mistake, with what to tell them.
_MAGIC = (
    (b"%PDF", "a PDF document. Copy its text into a .txt file (or export it as text) first"),
    (b"PK\x03\x04", "a zip archive (Word .docx and Excel .xlsx files are zip archives too). "
     "Save documents as .txt and tables as .csv, or name a zip of .txt files '.zip'"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file. Save it as .txt or .csv first"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip-compressed file. Unpack it first"),
    (b"PAR1", "a Parquet file. Name it '.parquet'"),
    (b"SQLite format 3", "an SQLite database. Export a table as .csv first"),
)  # fmt: skip


@dataclass(frozen=True)
class DecodedText:
    text: str
    report: EncodingReport


# ---- decoding ---------------------------------------------------------------------------------------
def decode_bytes(
    data: bytes, encoding: str | None = None, filename: str = "the file"
) -> DecodedText:
    """Bytes -> text, never failing on bad bytes.

    With `encoding=None`: a byte-order mark decides; else UTF-8 when at most half of the non-ASCII
    bytes are invalid (a UTF-8 file with a few broken bytes, like the tweets data set); else
    Windows-1252 when the text reads as Western European (`_western_european`); else the encoding
    charset-normalizer guesses (e.g. cp1251). Undecodable bytes become "�" and are counted.
    Raises `SourceError` for an unknown encoding name or a file that is not text at all.
    """
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise SourceError(
                f"'{encoding}' is not an encoding Python knows. Common ones: utf-8, cp1252 "
                "(Windows, Western Europe), latin-1, utf-16, cp1251 (Cyrillic), gb18030, shift_jis."
            ) from None
        return _decode_counting(_strip_bom(data, encoding), encoding, detected=False)

    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            return _decode_counting(data[len(bom) :], bom_encoding, detected=False)
    utf16 = _looks_like_utf16(data[:4096])
    if utf16:
        return _decode_counting(data, utf16, detected=True)
    _refuse_binary(data[:8192], filename)
    try:
        return DecodedText(data.decode("utf-8"), EncodingReport("utf-8"))
    except UnicodeDecodeError:
        pass
    decoded = _decode_counting(data, "utf-8", detected=False)
    non_ascii = len(data) - len(data.decode("ascii", "ignore"))
    if decoded.report.invalid_bytes_replaced * 2 <= non_ascii:
        # mostly valid UTF-8 with some broken bytes: keep UTF-8, count the rest
        return _refuse_mostly_not_text(decoded, len(data), filename)
    guess = _western_european(data) or _guess_encoding(data)
    if guess:
        return _decode_counting(data, guess, detected=True)
    return _refuse_mostly_not_text(decoded, len(data), filename)


MAX_INVALID_SHARE = 0.05  # real text with broken bytes (the tweets) has far fewer


def _refuse_mostly_not_text(decoded: DecodedText, n_bytes: int, filename: str) -> DecodedText:
    """Random or binary bytes without a NUL byte decode as UTF-8 full of "�": say so."""
    invalid = decoded.report.invalid_bytes_replaced
    if n_bytes and invalid > MAX_INVALID_SHARE * n_bytes:
        raise SourceError(
            f"Most of '{filename}' is not text: {invalid:,} of its {n_bytes:,} bytes are not valid "
            "in any text encoding tried. If it is text in an unusual encoding, choose the encoding "
            "on the Data page; otherwise upload text saved as .txt, or a table saved as .csv."
        )
    return decoded


def _decode_counting(data: bytes, encoding: str, detected: bool) -> DecodedText:
    # `surrogateescape` turns each undecodable byte into one lone surrogate: exact to count, then "�"
    try:
        text = data.decode(encoding, errors="surrogateescape")
        text, invalid = _LONE_SURROGATES.subn("\N{REPLACEMENT CHARACTER}", text)
    except UnicodeDecodeError:  # surrogateescape takes bytes >= 128 only (not an odd UTF-16 end)
        text = data.decode(encoding, errors="replace")
        invalid = text.count("\N{REPLACEMENT CHARACTER}")
    return DecodedText(text, EncodingReport(codecs.lookup(encoding).name, invalid, detected))


def _strip_bom(data: bytes, encoding: str) -> bytes:
    if encoding in ("utf-8", "utf_8") and data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    return data


def _looks_like_utf16(sample: bytes) -> str | None:
    """UTF-16 without a byte-order mark: mostly-ASCII text has a NUL in every other byte."""
    if len(sample) < 16:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.6 * half and even_nuls == 0:
        return "utf-16-le"
    if even_nuls > 0.6 * half and odd_nuls == 0:
        return "utf-16-be"
    return None


def _western_european(data: bytes) -> str | None:
    """ "cp1252" (or "iso8859-1") when the bytes read as Western European text, else None.

    Tried before charset-normalizer, which calls short French or Portuguese text CP1257 or CP1250
    ("très" -> "trčs", "não" -> "năo"). Windows-1252 decodes Latin-1 text alike and adds curly
    quotes and the euro sign. The test: the sample decodes without undefined bytes, accented
    letters are a minority of the letters (Cyrillic or Greek text read this way is all accented
    letters), and almost every non-ASCII character is one Western European languages use (Polish,
    Czech or Turkish text read this way shows ³ ¹ š ý þ ð instead).
    """
    sample = data[: 2 * _MB]
    for encoding in ("cp1252", "iso8859-1"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        non_ascii = _NON_ASCII.findall(text)
        if not non_ascii:
            return None
        letters = len(_LETTERS.findall(text))
        accented = sum(1 for c in non_ascii if c.isalpha())
        western = sum(1 for c in non_ascii if c in _WESTERN_CHARACTERS)
        if accented <= 0.25 * letters and western >= 0.97 * len(non_ascii):
            return encoding
        return None
    return None


def _guess_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 2 * _MB]).best()  # a sample is enough and keeps big files fast
    return best.encoding if best is not None else None


def _refuse_binary(sample: bytes, filename: str) -> None:
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise SourceError(
                f"'{filename}' is {what}, not plain text. Upload text saved as .txt, or a table "
                "saved as .csv."
            )
    controls = sum(sample.count(bytes([b])) for b in (*range(0, 9), *range(14, 32)) if b != 27)
    if b"\x00" in sample or (sample and controls > 0.1 * len(sample)):
        raise SourceError(
            f"'{filename}' looks like a binary file (an image, a program, a Word document...), "
            "not plain text. Upload text saved as .txt, or a table saved as .csv."
        )


# ---- formats ----------------------------------------------------------------------------------------
def read_upload(
    filename: str,
    data: bytes,
    *,
    txt_mode: TxtMode = "lines",
    encoding: str | None = None,
    text_column: str | None = None,
    metadata_columns: tuple[str, ...] = (),
) -> TextDataset:
    """Turn an uploaded file into a `TextDataset`.

    Parameters
    ----------
    filename : str
        The uploaded file's name; its suffix picks the format (.txt/.text, .csv, .tsv, .jsonl/.ndjson,
        .json, .parquet, .zip of .txt files).
    data : bytes
        The file's content. At most `MAX_UPLOAD_MB` megabytes.
    txt_mode : {"lines", "whole"}
        For .txt (also inside a .zip): one document per non-empty line, or the whole file as one
        document.
    encoding : str, optional
        Text encoding; None detects it (see `decode_bytes`). Ignored for .parquet.
    text_column : str, optional
        For tables: the column holding the text; None pre-selects a likely one (see `.columns` and
        `TextDataset.with_columns` to choose another).
    metadata_columns : tuple of str
        Label or metadata columns to keep alongside each document.

    Raises
    ------
    SourceError
        Too large, empty, binary, malformed, an unknown format, or no usable text column, each with
        a sentence saying what to do.
    """
    suffix = PurePosixPath(filename.lower()).suffix
    if len(data) > MAX_UPLOAD_MB * MEGABYTE:
        raise SourceError(
            f"'{filename}' is {len(data) / MEGABYTE:,.0f} MB; the upload limit is {MAX_UPLOAD_MB} MB. "
            "Split it into smaller files, or put it in a dataset folder and load that as a "
            "Hugging Face dataset (no size limit)."
        )
    if not data or data.isspace():  # not data.strip(): no copy of a 200 MB upload
        what = "0 bytes" if not data else f"only spaces and line breaks, {len(data):,} bytes"
        raise SourceError(
            f"'{filename}' is empty ({what}). Choose a file that contains your text, or pick a "
            "built-in corpus."
        )
    if suffix not in UPLOAD_SUFFIXES:
        hint = " Save spreadsheets as .csv." if suffix in (".xlsx", ".xls", ".ods") else ""
        raise SourceError(
            f"'{filename}': files of type '{suffix or '(none)'}' cannot be read.{hint} "
            f"Supported: {', '.join(UPLOAD_SUFFIXES)}."
        )
    source: dict[str, Any] = {
        "kind": "upload",
        "filename": filename,
        "size_bytes": len(data),
        "sha256": _sha256(data),
        "txt_mode": txt_mode,
        "encoding": encoding,
    }
    notes: list[str] = []
    if suffix == ".zip":
        table, report = _read_zip(filename, data, txt_mode, encoding, notes)
    elif suffix == ".parquet":
        table, report = _read_parquet(filename, data), EncodingReport("utf-8")
    else:
        decoded = decode_bytes(data, encoding, filename)
        report = decoded.report
        if suffix in (".txt", ".text"):
            table = _text_table(decoded.text, txt_mode, filename)
        elif suffix in (".csv", ".tsv"):
            table = _read_csv(filename, decoded.text, "\t" if suffix == ".tsv" else None, notes)
        else:
            table = _read_json(filename, decoded.text)
    if table.num_rows == 0:
        raise SourceError(f"'{filename}' holds no documents (no rows with text).")
    return _to_dataset(filename, source, table, text_column, metadata_columns, report, notes)


def load_file(path: str | Path, **options: Any) -> TextDataset:
    """`read_upload` for a file on disk (command line, tests); same options."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"The file '{path}' does not exist.")
    return read_upload(path.name, path.read_bytes(), **options)


def _to_dataset(
    filename: str,
    source: dict[str, Any],
    table: pa.Table,
    text_column: str | None,
    metadata_columns: tuple[str, ...],
    report: EncodingReport,
    notes: list[str],
) -> TextDataset:
    import datasets

    # Our own fingerprint: without one, datasets hashes the whole table to make one, which took
    # 850 MB more memory (a second copy of the table, pickled) for a 190 MB upload.
    options = json.dumps(source, sort_keys=True, default=str).encode()
    dataset = datasets.Dataset(table, fingerprint=_sha256(options)[:32])
    columns = columns_of(dataset.features)
    if text_column is None:
        lengths = {c.name: _mean_length(table.column(c.name)) for c in columns if c.kind == "text"}
        text_column = guess_text_column(columns, lengths)
        if text_column is None:
            described = ", ".join(f"{c.name} ({c.kind})" for c in columns)
            raise SourceError(
                f"No column of '{filename}' holds text (columns: {described}). "
                "Check that the file has a header row and a column of documents."
            )
    return TextDataset(
        name=filename,
        source=source,
        dataset=dataset,
        text_column=text_column,
        metadata_columns=tuple(metadata_columns),
        encoding_report=report,
        notes=tuple(notes),
    )


def _mean_length(column: pa.ChunkedArray) -> float:
    if len(column) == 0:
        return 0.0
    return float(pc.mean(pc.utf8_length(column)).as_py() or 0.0)


# Any character that is not Unicode white space (what utf8_trim_whitespace trims): RE2's \s is
# ASCII only, so \v, U+0085 and the separators (\p{Z}: U+00A0, U+3000, U+2028 ...) are added.
_NOT_SPACE = r"[^\s\v\x{85}\p{Z}]"


def _text_table(text: str, txt_mode: TxtMode, filename: str) -> pa.Table:
    if txt_mode == "whole":
        if not text.strip():
            return pa.table({"text": pa.array([], pa.large_string())})
        return pa.table({"text": pa.array([text], pa.large_string()), "file": [filename]})
    if txt_mode != "lines":
        raise SourceError(f"txt_mode must be 'lines' or 'whole', not '{txt_mode}'.")
    # Split inside Arrow: no Python list of lines for a 200 MB file.
    lines = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    if "\r" in text:  # each pass over the lines copies them: only when there is a \r to drop
        lines = pc.utf8_rtrim(lines, characters="\r")
    line_numbers = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))
    keep = pc.match_substring_regex(lines, _NOT_SPACE)  # not a trimmed copy of every line
    return pa.table({"text": lines, "line": line_numbers}).filter(keep)


def _read_csv(filename: str, text: str, delimiter: str | None, notes: list[str]) -> pa.Table:
    import pyarrow.csv as pv

    data = text.encode("utf-8")
    if delimiter is None:
        header = text[: text.find("\n") if "\n" in text else len(text)]
        counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    skipped: list[int] = []

    def skip_row(row: Any) -> str:
        skipped.append(row.number or -1)
        return "skip"

    try:
        table = pv.read_csv(
            io.BytesIO(data),
            # one block as big as the file: a single enormous line must not straddle two blocks
            read_options=pv.ReadOptions(block_size=max(1 << 20, min(len(data) + 1, (1 << 31) - 1))),
            parse_options=pv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=skip_row
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as error:
        raise SourceError(
            f"'{filename}' could not be read as a table: {_arrow_message(error)}"
        ) from None
    if skipped:
        first = f" (the first at line {skipped[0]})" if skipped[0] > 0 else ""
        notes.append(
            f"{len(skipped):,} malformed row{'s were' if len(skipped) != 1 else ' was'} skipped "
            f"because the number of fields did not match the header{first}."
        )
    return table


def _read_json(filename: str, text: str) -> pa.Table:
    import pyarrow.json as pj

    stripped = text.lstrip()
    try:
        if stripped.startswith("["):  # a JSON array of records
            records = json.loads(stripped)
            if not all(isinstance(r, dict) for r in records):
                raise SourceError(f'\'{filename}\' must hold objects like {{"text": "..."}}.')
            return pa.Table.from_pylist(records)
        data = text.encode("utf-8")
        return pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=max(1 << 20, min(len(data) + 1, (1 << 31) - 1))),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, json.JSONDecodeError, ValueError) as error:
        if isinstance(error, SourceError):
            raise
        raise SourceError(
            f'\'{filename}\' is not valid JSON Lines (one object such as {{"text": "..."}} per '
            f"line): {_arrow_message(error)}"
        ) from None


def _read_parquet(filename: str, data: bytes) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as error:
        raise SourceError(
            f"'{filename}' is not a readable Parquet file: {_arrow_message(error)}"
        ) from None


def _read_zip(
    filename: str, data: bytes, txt_mode: TxtMode, encoding: str | None, notes: list[str]
) -> tuple[pa.Table, EncodingReport]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise SourceError(f"'{filename}' is not a valid zip archive.") from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not PurePosixPath(info.filename).name.startswith(".")
        ]
        texts = sorted(
            (m for m in members if PurePosixPath(m.filename.lower()).suffix in (".txt", ".text")),
            key=lambda m: m.filename,
        )
        if not texts:
            inside = ", ".join(m.filename for m in members[:8]) or "nothing"
            raise SourceError(
                f"'{filename}' holds no .txt files (it holds: {inside}"
                f"{', ...' if len(members) > 8 else ''}). Put plain-text files ending in .txt in the zip."
            )
        unpacked = sum(m.file_size for m in texts)
        if unpacked > MAX_UNZIPPED_MB * MEGABYTE:
            raise SourceError(
                f"'{filename}' would unpack to {unpacked / MEGABYTE:,.0f} MB of text; the limit is "
                f"{MAX_UNZIPPED_MB} MB. Upload fewer files at a time."
            )
        tables, invalid, encodings, refused = [], 0, set(), []
        budget = MAX_UNZIPPED_MB * MEGABYTE  # what is left of the limit, counted as bytes arrive
        for member in texts:
            try:
                raw = _read_member(archive, member, budget)
            except (RuntimeError, zipfile.BadZipFile, NotImplementedError) as error:  # encrypted...
                raise SourceError(
                    f"'{member.filename}' in '{filename}' cannot be unpacked: {error}"
                ) from None
            if raw is None:  # its header understated its size
                raise SourceError(
                    f"'{filename}' unpacks to more than {MAX_UNZIPPED_MB} MB of text (more than "
                    f"its header says); the limit is {MAX_UNZIPPED_MB} MB. Upload fewer files at "
                    "a time."
                )
            budget -= len(raw)
            if not raw.strip():
                continue
            try:
                decoded = decode_bytes(raw, encoding, member.filename)
            except SourceError:
                refused.append(member.filename)  # a binary file named .txt: skip it, say so
                continue
            invalid += decoded.report.invalid_bytes_replaced
            encodings.add(decoded.report.encoding)
            table = _text_table(decoded.text, txt_mode, member.filename)
            file_column = pa.array([member.filename] * table.num_rows, pa.string())
            if "file" in table.column_names:
                table = table.drop_columns(["file"])
            tables.append(table.append_column("file", file_column))
    if refused:
        notes.append(f"Skipped {len(refused)} file(s) that are not text: {', '.join(refused[:5])}.")
    if not tables:
        raise SourceError(f"The .txt files in '{filename}' hold no text.")
    report = EncodingReport(" + ".join(sorted(encodings)), invalid, detected=encoding is None)
    return pa.concat_tables(tables, promote_options="default"), report


_ZIP_CHUNK = _MB  # unzipped bytes per read: what one read may hold in memory beyond the text


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int) -> bytes | None:
    """The member's bytes, read in chunks; None once they pass `budget` bytes.

    A header can understate a member's size, and `ZipFile.read` inflates the whole member in one
    step before anything is checked (a few kilobytes can inflate to gigabytes): reading chunk by
    chunk keeps memory within the limit however the header lies.
    """
    chunks, size = [], 0
    with archive.open(member) as handle:
        while chunk := handle.read(_ZIP_CHUNK):
            size += len(chunk)
            if size > budget:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _arrow_message(error: Exception) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return message[:300]


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
