"""Export: trained vectors and runs in formats other tools read.

Owns: the word2vec text and binary formats (Mikolov's C tool; read by gensim's
`KeyedVectors.load_word2vec_format`, fastText, spaCy, R's word2vec packages), the two TSV files of
TensorFlow's Embedding Projector (https://projector.tensorflow.org, "Load"), a run folder as one zip,
and map coordinates as CSV. Every file is written atomically (`w2v_core.io_utils`).
Leaves out: choosing which vectors to export (`Embeddings.from_run` picks epoch and kind) and
computing map coordinates (`w2v_core.projection`).

Words are whitespace-split tokens, so they hold no spaces; should one hold whitespace anyway (a
hand-built vocabulary), it is written with `_` in its place, because a space would split the word in
the word2vec formats and a tab or newline would shift the Projector's columns.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from w2v_core.embeddings import Embeddings
from w2v_core.errors import ConfigError
from w2v_core.io_utils import atomic_write, atomic_write_text
from w2v_core.run_folder import RunFolder

ExportFormat = Literal["word2vec", "word2vec-binary", "projector"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)

PROJECTOR_VECTORS = "vectors.tsv"
PROJECTOR_METADATA = "metadata.tsv"

_WHITESPACE = re.compile(r"\s+")
# Rows formatted per write in the text formats: bounds memory for a 50k x 300 export.
_CHUNK_ROWS = 4096


def export(emb: Embeddings, fmt: ExportFormat, path: str | Path) -> list[Path]:
    """Write `emb` in format `fmt`; returns the files written.

    `path` is the output file for the word2vec formats and the output folder for "projector".
    """
    if fmt == "word2vec":
        return [export_word2vec(emb, path, binary=False)]
    if fmt == "word2vec-binary":
        return [export_word2vec(emb, path, binary=True)]
    if fmt == "projector":
        return list(export_projector(emb, path))
    raise ConfigError(f"Unknown export format '{fmt}': choose one of {', '.join(FORMATS)}.")


def export_word2vec(emb: Embeddings, path: str | Path, binary: bool = False) -> Path:
    """Write the word2vec format: a "V D" header line, then one word and its vector per entry.

    Text: `word v1 v2 ... vD` per line, each value with 9 significant digits, which round-trips
    float32 exactly. Binary (word2vec.c's `-binary 1`): `word `, then D little-endian float32s,
    then a newline. Rows keep the vocabulary order (most frequent first), like word2vec.c.
    """
    path = Path(path)
    words = [_clean_word(word) for word in emb.words]
    vectors = emb.vectors  # (V, D) float32
    header = f"{len(words)} {emb.vector_size}\n".encode()

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            handle.write(header)
            if binary:
                little_endian = vectors.astype("<f4", copy=False)
                for word, row in zip(words, little_endian, strict=True):
                    handle.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                for start in range(0, len(words), _CHUNK_ROWS):
                    block = vectors[start : start + _CHUNK_ROWS]
                    text = _format_rows(block, " ", words[start : start + _CHUNK_ROWS])
                    handle.write(text.encode("utf-8"))

    atomic_write(path, write)
    return path


def export_projector(
    emb: Embeddings, folder: str | Path, include_counts: bool = True
) -> tuple[Path, Path]:
    """Write `vectors.tsv` and `metadata.tsv` for TensorFlow's Embedding Projector.

    The Projector's rules: vectors.tsv holds one tab-separated vector per line, no header (values
    with 6 significant digits);
    metadata.tsv has one line per vector, in the same order, and a header row only when it has more
    than one column. With counts it is `word<TAB>count` with that header; without counts (or
    `include_counts=False`) it is one bare word per line.
    Returns (vectors_tsv, metadata_tsv).
    """
    folder = Path(folder)
    words = [_clean_word(word) for word in emb.words]
    vectors_path = folder / PROJECTOR_VECTORS
    metadata_path = folder / PROJECTOR_METADATA

    def write_vectors(temp: Path) -> None:
        with open(temp, "w", encoding="utf-8", newline="\n") as handle:
            for start in range(0, len(words), _CHUNK_ROWS):
                block = emb.vectors[start : start + _CHUNK_ROWS]
                handle.write(_format_rows(block, "\t", digits=6))

    atomic_write(vectors_path, write_vectors)
    if include_counts and emb.counts is not None:
        lines = ["word\tcount\n"]
        lines += [f"{word}\t{int(count)}\n" for word, count in zip(words, emb.counts, strict=True)]
    else:
        lines = [f"{word}\n" for word in words]
    atomic_write_text(metadata_path, "".join(lines))
    return vectors_path, metadata_path


ZipEpochs = Literal["all", "last"]
# Checkpoints and the encoded corpus are float/int arrays that deflate hardly shrinks (a few per cent)
# at a large cost in time: they are stored as they are; text files (settings, metrics) are deflated.
_STORED_SUFFIXES = frozenset({".safetensors", ".npz", ".npy"})


def run_zip_files(run_dir: str | Path, epochs: ZipEpochs = "all") -> list[Path]:
    """The files a run's zip holds: everything but temporary files and a pending STOP request; with
    `epochs="last"` only the newest saved checkpoint (and "where it stopped", if any) of the
    checkpoints, so the run still opens and can be resumed elsewhere."""
    if epochs not in get_args(ZipEpochs):
        raise ConfigError(f"epochs must be one of {get_args(ZipEpochs)}, not '{epochs}'.")
    run = RunFolder.open(run_dir)
    root = run.path.resolve()
    # compared as paths under `root` (one resolve, not one per file: a long run keeps thousands)
    checkpoint_dir = root / run.checkpoint_dir.relative_to(run.path)
    keep_stems: set[str] | None = None
    if epochs == "last":
        saved = [e for e in run.saved_epochs() if isinstance(e, int)]
        keep_stems = {f"epoch_{saved[-1]:03d}"} if saved else set()
        keep_stems.add("stopped")
    files = []
    for file in sorted(root.rglob("*")):
        if not file.is_file() or file.name.endswith(".tmp") or file.name == run.stop_file.name:
            continue
        dropped_epoch = keep_stems is not None and file.stem not in keep_stems
        if dropped_epoch and file.parent == checkpoint_dir:
            continue
        files.append(file)
    return files


def run_zip_size(run_dir: str | Path, epochs: ZipEpochs = "all") -> int:
    """About how many bytes the zip will have (its files' sizes: the checkpoints, nearly all of it,
    are stored uncompressed), to show before it is made."""
    return sum(f.stat().st_size for f in run_zip_files(run_dir, epochs))


def export_run_zip(
    run_dir: str | Path,
    path: str | Path,
    epochs: ZipEpochs = "all",
    progress: Callable[[float, str], None] | None = None,
) -> Path:
    """Zip a run folder (settings, vocabulary, corpus, metrics, the chosen checkpoints) into `path`.

    Entries sit under the run folder's name, so unzipping recreates the folder. Written file by file
    to disk, so memory stays small whatever the size; `progress(fraction, message)` after each file.
    """
    run = RunFolder.open(run_dir)
    root = run.path.resolve()
    target = Path(path).resolve()
    files = [f for f in run_zip_files(root, epochs) if f.resolve() != target]
    total = max(sum(f.stat().st_size for f in files), 1)

    def write(temp: Path) -> None:
        done = 0
        with zipfile.ZipFile(
            temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6
        ) as archive:
            for file in files:
                if file.resolve() == temp.resolve():
                    continue
                stored = file.suffix in _STORED_SUFFIXES
                archive.write(
                    file,
                    arcname=Path(root.name) / file.relative_to(root),
                    compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
                )
                done += file.stat().st_size
                if progress is not None:
                    progress(done / total, f"{file.relative_to(root)} ({done / 1e6:,.0f} of "
                             f"{total / 1e6:,.0f} MB)")  # fmt: skip

    atomic_write(target, write)
    return target


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that Excel or LibreOffice cannot run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def export_coordinates_csv(
    words: Sequence[str],
    coords: np.ndarray,
    path: str | Path,
    *,
    counts: Sequence[int] | np.ndarray | None = None,
    clusters: Sequence[int] | np.ndarray | None = None,
    extra: Mapping[str, Sequence[object]] | None = None,
) -> Path:
    """Write map coordinates as CSV: columns word, x, y, then count, cluster and `extra` if given.

    `coords` is the (N, 2) output of `w2v_core.projection.project_2d` (`Projection.coords`).
    Quoting follows the csv module, so words with commas or quotes stay intact in spreadsheets.
    Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
    return) get a leading apostrophe, as OWASP's CSV-injection guidance says; numbers stay numbers.
    """
    coords = np.asarray(coords)
    if coords.shape != (len(words), 2):
        raise ValueError(f"coords must have shape ({len(words)}, 2), got {coords.shape}")
    columns: dict[str, Sequence[object]] = {}
    if counts is not None:
        columns["count"] = [int(c) for c in counts]
    if clusters is not None:
        columns["cluster"] = [int(c) for c in clusters]
    columns.update(extra or {})
    for name, values in columns.items():
        if len(values) != len(words):
            raise ValueError(f"column '{name}' has {len(values)} values for {len(words)} words")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["word", "x", "y", *columns])
    for i, word in enumerate(words):
        row = [spreadsheet_safe(word), f"{coords[i, 0]:.6g}", f"{coords[i, 1]:.6g}"]
        writer.writerow(row + [spreadsheet_safe(values[i]) for values in columns.values()])
    atomic_write_text(Path(path), buffer.getvalue())
    return Path(path)


def _clean_word(word: str) -> str:
    return _WHITESPACE.sub("_", word) if _WHITESPACE.search(word) else word


def _format_rows(
    block: np.ndarray, sep: str, words: Sequence[str] | None = None, digits: int = 9
) -> str:
    """Rows of `block` as text lines, values joined by `sep`, each line led by its word if given.

    9 significant digits round-trip float32 exactly; the Projector only draws, so 6 keep its file
    (which the browser loads whole) a quarter smaller.
    """
    row_format = sep.join([f"%.{digits}g"] * block.shape[1])
    lines = [row_format % tuple(row) for row in block.tolist()]
    if words is not None:
        lines = [f"{word}{sep}{line}" for word, line in zip(words, lines, strict=True)]
    return "\n".join(lines) + "\n" if lines else ""
