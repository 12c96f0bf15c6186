"""Built-in corpora: real text that ships inside packages we depend on, usable offline.

Owns: the list of built-in corpora (with size and a one-line description), where their files are,
whether they are present, downloading the NLTK ones on a machine that is online, and reading each
into a `TextDataset` with its natural metadata (year and president, category, review label, ...).
Leaves out: cleaning the text (`w2v_core.preprocess`).

Two providers:

* gensim ships its test corpora inside the package, so the Lee news corpus is always there;
* NLTK corpora (inaugural addresses, State of the Union, Brown, movie reviews) are there when NLTK's
  data path holds them (after `nltk.download(...)`, or with `NLTK_DATA` pointing at a copy). They are
  read straight from NLTK's folders or zips: importing `nltk` takes ~3 s and is not needed for that.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from w2v_core.errors import SourceError
from w2v_core.sources.dataset import EncodingReport, TextDataset
from w2v_core.sources.upload import _text_table


@dataclass(frozen=True)
class BuiltinCorpus:
    """One built-in corpus as the Data page lists it."""

    key: str  # pass to `load_builtin`
    name: str
    description: str  # one line: what the text is, how documents and labels are cut
    n_documents: int  # approximate (NLTK releases differ a little)
    n_tokens: int  # approximate number of words (whitespace-separated)
    available: bool
    unavailable_reason: str | None  # plain sentence when not available
    needs_download: str | None  # NLTK package to download when missing (None: nothing to get)
    provider: str  # "gensim" or "nltk"
    metadata_columns: tuple[str, ...]  # the columns that come with each document


@dataclass(frozen=True)
class _Spec:
    key: str
    name: str
    description: str
    n_documents: int
    n_tokens: int
    provider: str
    metadata_columns: tuple[str, ...]
    reader: Callable[[], pa.Table]
    encoding: str  # how the files are decoded (reported in the TextDataset)
    gensim_file: str | None = None  # for gensim corpora: the file in gensim/test/test_data


# ---- where files are --------------------------------------------------------------------------------
def nltk_search_path() -> list[Path]:
    """Folders NLTK searches for data, in order (`nltk.data.path`).

    When `nltk` is already imported its live list is used (tests and callers may change it);
    otherwise the same defaults NLTK builds from `NLTK_DATA`, the home folder and the Python prefix.
    """
    nltk = sys.modules.get("nltk")
    if nltk is not None and hasattr(nltk, "data"):
        return [Path(p) for p in nltk.data.path]
    paths = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    home = Path("~/nltk_data").expanduser()
    if str(home) != "~/nltk_data":
        paths.append(home)
    if sys.platform.startswith("win"):
        appdata = os.environ.get("APPDATA")
        paths += [Path(sys.prefix, "nltk_data"), Path(sys.prefix, "share", "nltk_data"),
                  Path(sys.prefix, "lib", "nltk_data")]  # fmt: skip
        paths += [Path(appdata, "nltk_data")] if appdata else []
        paths += [Path(r"C:\nltk_data"), Path(r"D:\nltk_data"), Path(r"E:\nltk_data")]
    else:
        paths += [Path(sys.prefix, "nltk_data"), Path(sys.prefix, "share", "nltk_data"),
                  Path(sys.prefix, "lib", "nltk_data"), Path("/usr/share/nltk_data"),
                  Path("/usr/local/share/nltk_data"), Path("/usr/lib/nltk_data"),
                  Path("/usr/local/lib/nltk_data")]  # fmt: skip
    return paths


def find_nltk_resource(name: str, category: str = "corpora") -> Path | None:
    """The folder `<data>/<category>/<name>` or zip `<data>/<category>/<name>.zip`, first found."""
    for root in nltk_search_path():
        folder = root / category / name
        if folder.is_dir():
            return folder
        archive = root / category / f"{name}.zip"
        if archive.is_file():
            return archive
    return None


def iter_nltk_files(name: str, category: str = "corpora") -> Iterator[tuple[str, bytes]]:
    """(path inside the resource, bytes) for every file of an NLTK resource, sorted by path."""
    location = find_nltk_resource(name, category)
    if location is None:
        raise SourceError(_nltk_missing(name))
    if location.is_dir():
        for path in sorted(p for p in location.rglob("*") if p.is_file()):
            yield path.relative_to(location).as_posix(), path.read_bytes()
        return
    prefix = f"{name}/"
    with zipfile.ZipFile(location) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if not info.is_dir() and info.filename.startswith(prefix):
                yield info.filename[len(prefix) :], archive.read(info)


def _nltk_missing(name: str) -> str:
    return (
        f"NLTK's '{name}' data is not on this computer. Where there is internet, download it "
        f"(the Download button on the Data page, or `python -m nltk.downloader {name}`); or set "
        "NLTK_DATA to a folder that holds it."
    )


def _gensim_test_file(filename: str) -> Path | None:
    # find_spec locates the package without importing it (importing gensim takes ~2 s)
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), "test", "test_data", filename)
    return path if path.is_file() else None


# ---- readers: each returns an Arrow table with a "text" column and its metadata columns -------------
def _read_gensim_lines(filename: str) -> Callable[[], pa.Table]:
    def read() -> pa.Table:
        path = _gensim_test_file(filename)
        if path is None:
            raise SourceError(f"gensim's bundled file '{filename}' is missing: reinstall gensim.")
        return _text_table(path.read_bytes().decode("utf-8", errors="replace"), "lines", filename)

    return read


_SPEECH_FILE = re.compile(r"(\d{4})-([A-Za-z]+)(?:-\d+)?\.txt$")


def _read_speeches(name: str, encoding: str, paragraph_separator: str) -> Callable[[], pa.Table]:
    """Inaugural / State of the Union: one document per paragraph, with year and president."""

    def read() -> pa.Table:
        rows: dict[str, list] = {
            "text": [],
            "year": [],
            "president": [],
            "speech": [],
            "paragraph": [],
        }
        for path, data in iter_nltk_files(name):
            match = _SPEECH_FILE.search(path)
            if match is None:
                continue  # README
            text = data.decode(encoding, errors="replace")
            paragraphs = [" ".join(p.split()) for p in re.split(paragraph_separator, text)]
            for number, paragraph in enumerate((p for p in paragraphs if p), start=1):
                rows["text"].append(paragraph)
                rows["year"].append(int(match.group(1)))
                rows["president"].append(match.group(2))
                rows["speech"].append(path.removesuffix(".txt"))
                rows["paragraph"].append(number)
        return pa.table(rows)

    return read


def _read_brown() -> pa.Table:
    """Brown: one document per sentence (its part-of-speech tags removed), with genre and file."""
    files = dict(iter_nltk_files("brown"))
    categories = dict(
        line.split()[:2] for line in files.get("cats.txt", b"").decode("ascii", "replace").splitlines()
        if len(line.split()) >= 2
    )  # fmt: skip
    rows: dict[str, list] = {"text": [], "category": [], "file": []}
    for path, data in files.items():
        if path not in categories:
            continue  # README, CONTENTS, cats.txt
        for line in data.decode("latin-1").splitlines():
            words = [token.rpartition("/")[0] or token for token in line.split()]
            if words:
                rows["text"].append(" ".join(words))
                rows["category"].append(categories[path])
                rows["file"].append(path)
    return pa.table(rows)


def _read_movie_reviews() -> pa.Table:
    """Movie reviews: one document per review, labelled "pos" or "neg"."""
    rows: dict[str, list] = {"text": [], "label": [], "file": []}
    for path, data in iter_nltk_files("movie_reviews"):
        label, _, filename = path.partition("/")
        if label in ("pos", "neg") and filename.endswith(".txt"):
            rows["text"].append(data.decode("utf-8", errors="replace").strip())
            rows["label"].append(label)
            rows["file"].append(path)
    return pa.table(rows)


_SPECS = (
    _Spec("lee", "Lee news corpus",
          "300 Australian news articles (ABC, 2001), one document per article; ships with gensim.",
          300, 59_890, "gensim", ("line",), _read_gensim_lines("lee_background.cor"), "utf-8",
          "lee_background.cor"),
    _Spec("wiki_sample", "Wikipedia sample (pre-stemmed)",
          "250 English Wikipedia articles, already lowercased, stop-word-free and stemmed "
          "(turn stemming and stopwords off); ships with gensim.",
          250, 331_339, "gensim", ("line",), _read_gensim_lines("head500.noblanks.cor"), "utf-8",
          "head500.noblanks.cor"),
    _Spec("inaugural", "US presidential inaugural addresses",
          "Every inaugural address from Washington (1789) on, one document per paragraph, "
          "with year and president; from NLTK.",
          1_500, 138_000, "nltk", ("year", "president", "speech", "paragraph"),
          _read_speeches("inaugural", "latin-1", r"\n\s*\n"), "latin-1"),
    _Spec("state_union", "State of the Union addresses",
          "65 addresses from Truman (1945) to G. W. Bush (2006), one document per paragraph, "
          "with year and president; from NLTK.",
          6_600, 350_000, "nltk", ("year", "president", "speech", "paragraph"),
          _read_speeches("state_union", "latin-1", r"\n"), "latin-1"),
    _Spec("brown", "Brown corpus",
          "1.16 million words of American English from 1961 in 15 genres (news, fiction, science, "
          "...), one document per sentence, with genre; from NLTK.",
          57_300, 1_161_000, "nltk", ("category", "file"), _read_brown, "latin-1"),
    _Spec("movie_reviews", "Movie reviews (positive / negative)",
          "2,000 IMDb film reviews, one document per review, labelled pos or neg; from NLTK.",
          2_000, 1_493_000, "nltk", ("label", "file"), _read_movie_reviews, "utf-8"),
)  # fmt: skip
_BY_KEY = {spec.key: spec for spec in _SPECS}


# ---- public API -------------------------------------------------------------------------------------
def list_builtin_corpora() -> list[BuiltinCorpus]:
    """Every built-in corpus, available or not (NLTK ones say how to get them). Cheap: no reading."""
    corpora = []
    for spec in _SPECS:
        if spec.gensim_file is not None:
            missing = _gensim_test_file(spec.gensim_file) is None
            reason = "gensim is not installed (or its test data was removed)." if missing else None
            needs = None
        else:
            missing = find_nltk_resource(spec.key) is None
            reason = _nltk_missing(spec.key) if missing else None
            needs = spec.key if missing else None
        corpora.append(
            BuiltinCorpus(
                key=spec.key,
                name=spec.name,
                description=spec.description,
                n_documents=spec.n_documents,
                n_tokens=spec.n_tokens,
                available=not missing,
                unavailable_reason=reason,
                needs_download=needs,
                provider=spec.provider,
                metadata_columns=spec.metadata_columns,
            )
        )
    return corpora


def load_builtin(key: str) -> TextDataset:
    """Read a built-in corpus into a `TextDataset` (text column "text", metadata as listed).

    Raises `SourceError` for an unknown key or a corpus that is not on this computer.
    """
    spec = _BY_KEY.get(key)
    if spec is None:
        raise SourceError(
            f"There is no built-in corpus '{key}'. Choose one of: {', '.join(_BY_KEY)}."
        )
    import datasets

    table = spec.reader()
    return TextDataset(
        name=spec.name,
        source={"kind": "builtin", "key": key, "provider": spec.provider},
        dataset=datasets.Dataset(table),
        text_column="text",
        metadata_columns=spec.metadata_columns,
        encoding_report=EncodingReport(spec.encoding),
    )


def download_nltk_corpus(key: str, download_dir: str | Path | None = None) -> None:
    """Download an NLTK corpus (needs internet); afterwards `list_builtin_corpora` shows it available.

    Raises `SourceError` when `key` is not an NLTK corpus or the download fails (offline, ...).
    """
    spec = _BY_KEY.get(key)
    if spec is None or spec.provider != "nltk":
        nltk_keys = [s.key for s in _SPECS if s.provider == "nltk"]
        raise SourceError(f"'{key}' is not an NLTK corpus; these are: {', '.join(nltk_keys)}.")
    download_nltk_package(key, download_dir)


def download_nltk_package(package: str, download_dir: str | Path | None = None) -> None:
    """`nltk.download(package)` with a plain `SourceError` when it fails (used for stopwords too)."""
    import nltk

    try:
        ok = nltk.download(
            package,
            download_dir=str(download_dir) if download_dir else None,
            quiet=True,
            raise_on_error=True,
        )
    except (ValueError, OSError) as error:
        raise SourceError(
            f"Could not download NLTK's '{package}': this computer cannot reach NLTK's server "
            f"(offline?). Use a corpus that is already here, or upload a file. ({error})"
        ) from None
    if not ok:
        raise SourceError(f"NLTK could not download '{package}'.")
