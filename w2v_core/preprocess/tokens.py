"""Per-document steps: text -> tokens, and every decision that depends only on the word.

Owns: lowercasing, the placeholders (<url>, <num>, <user>), the character filters, length limits,
stopword lists (NLTK's; its English list is also bundled, for offline installs), Snowball stemmers (NLTK's, the snowballstemmer
package for more languages), `tokenize` and `preview`. Leaves out: corpus-wide steps (phrases, the
rare-word cut-off: `pipeline`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex

from w2v_core.errors import ConfigError, CorpusError
from w2v_core.preprocess.config import PreprocessConfig, compile_custom_pattern

PLACEHOLDERS = {"url": "<url>", "number": "<num>", "mention": "<user>"}

# The blog deletes every character but a-z, @, # and the space; ASCII tabs and newlines also separate
# words here (so lines of a long document do not run together), other spaces (e.g. U+00A0) are deleted
# as in the blog.
_BLOG_DELETE = {
    True: re.compile(r"[^a-z@# \t\n\r\f\v]+"),
    False: re.compile(r"[^a-zA-Z@# \t\n\r\f\v]+"),
}
_LETTERS = regex.compile(r"[\p{L}\p{M}]+(?:['\u2019][\p{L}\p{M}]+)*")
_WORD = re.compile(r"\S+")  # what str.split() keeps (both use Python's Unicode whitespace)
_NORMALIZERS = {
    "url": r"(?:https?://|www\.)\S+",
    "mention": r"(?<![\w@])@\w+",
    "number": r"(?<![\w.,])[-+]?\d+(?:[.,:]\d+)*(?!\w)",
}
# NLTK's Snowball stemmers (nltk.stem.snowball.SnowballStemmer.languages without "porter"); the
# `snowballstemmer` package adds more languages. Listed here because importing nltk takes ~3 s.
NLTK_STEM_LANGUAGES = (
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "hungarian", "italian",
    "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish",
)  # fmt: skip


# ---- languages --------------------------------------------------------------------------------------
def available_stopword_languages() -> list[str]:
    """Languages with a stopword list here: NLTK's (when its data is present), English always."""
    from w2v_core.sources.builtin import iter_nltk_files

    languages = {"english"}  # NLTK's English list is bundled (`BUNDLED_ENGLISH_STOPWORDS`)
    with contextlib.suppress(CorpusError):
        languages.update(
            name for name, _ in iter_nltk_files("stopwords") if name.isalpha() and name.islower()
        )  # NLTK's folder also holds README
    return sorted(languages)


def available_stem_languages() -> list[str]:
    """Languages with a Snowball stemmer (NLTK's, plus those only the snowballstemmer package has)."""
    import snowballstemmer

    extra = {lang for lang in snowballstemmer.algorithms() if "porter" not in lang}
    return sorted(set(NLTK_STEM_LANGUAGES) | extra)


# NLTK's English stopword list (179 words), copied verbatim from nltk_data's `corpora/stopwords.zip`
# (package of 2022-07-04, `stopwords/english` of 2017-10-01; what `nltk.download("stopwords")` gives
# for NLTK 3.x, here 3.10.4; the README in that zip names its sources). Used when NLTK's own data is
# not installed, so the blog's steps give the blog's words on a fresh offline install: "would",
# "first", "back" are not on it (scikit-learn's list, used before, removed them). The NLTK data
# licence (Apache 2.0) allows shipping it.
BUNDLED_ENGLISH_STOPWORDS = Path(__file__).with_name("nltk_stopwords_english.txt")


@dataclass(frozen=True)
class StopwordList:
    words: frozenset[str]
    source: str  # "nltk" (NLTK's data or its bundled English list) or "none"


def load_stopwords(language: str | None) -> StopwordList:
    """The stopword list for `language` (None -> empty).

    NLTK's list when its `stopwords` data is present; for English without it, the bundled copy of
    NLTK's English list (the same words).
    Raises `ConfigError` naming the available languages when there is no list for `language`.
    """
    if not language:
        return StopwordList(frozenset(), "none")
    from w2v_core.sources.builtin import find_nltk_resource, nltk_search_path

    return _load_stopwords_cached(
        language, find_nltk_resource("stopwords"), tuple(nltk_search_path())
    )


@lru_cache(maxsize=32)
def _load_stopwords_cached(
    language: str, location: Path | None, _search_path: tuple
) -> StopwordList:
    from w2v_core.sources.builtin import iter_nltk_files

    if location is not None:
        files = dict(iter_nltk_files("stopwords"))
        if language in files:
            words = files[language].decode("utf-8", errors="replace").split("\n")
            return StopwordList(frozenset(w.strip() for w in words if w.strip()), "nltk")
    if language == "english":
        words = BUNDLED_ENGLISH_STOPWORDS.read_text(encoding="utf-8").split("\n")
        return StopwordList(frozenset(w.strip() for w in words if w.strip()), "nltk")
    if location is None:
        raise ConfigError(
            f"There is no stopword list for '{language}' here: NLTK's stopword lists are not "
            "downloaded (only English works offline). Download NLTK's 'stopwords', choose English, "
            "turn stopwords off, or type your own stopwords."
        )
    raise ConfigError(
        f"NLTK has no stopword list for '{language}'. Lists available here: "
        f"{', '.join(available_stopword_languages())}. Choose one of them, turn stopwords off, or "
        "type your own stopwords."
    )


def warm_up() -> None:
    """Import the slow libraries now (nltk ~3 s, datasets ~1.5 s on the 2-core machine).

    For an app's start-up thread, so that the first preprocessing with stemming does not wait for
    imports. Safe to call more than once and from any thread.
    """
    import datasets  # noqa: F401  (what every TextDataset holds)
    from nltk.stem.snowball import SnowballStemmer  # noqa: F401  (the blog's stemmer)


def stemmer_version(language: str | None) -> str | None:
    """Which implementation (and version) stems `language`: part of the cache key."""
    from importlib.metadata import PackageNotFoundError, version

    if language is None:
        return None
    package = "nltk" if language in NLTK_STEM_LANGUAGES else "snowballstemmer"
    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return package


def _stemmer(language: str | None) -> Callable[[str], str] | None:
    if language is None:
        return None
    if language in NLTK_STEM_LANGUAGES:
        from nltk.stem.snowball import SnowballStemmer  # the blog's stemmer

        return SnowballStemmer(language).stem
    import snowballstemmer

    if language in snowballstemmer.algorithms():
        return snowballstemmer.stemmer(language).stemWord
    raise ConfigError(
        f"There is no Snowball stemmer for '{language}'. Stemmers exist for: "
        f"{', '.join(available_stem_languages())}. Or turn stemming off."
    )


# ---- tokenising one document ------------------------------------------------------------------------
class Splitter:
    """Lowercasing, placeholders and the character filter: text -> raw tokens. Picklable (workers)."""

    def __init__(self, config: PreprocessConfig) -> None:
        self.lowercase = config.lowercase
        self.mode = config.char_filter
        self.custom = (
            compile_custom_pattern(config.custom_pattern) if self.mode == "custom" else None
        )
        wanted = {
            "url": config.normalize_urls,
            "mention": config.normalize_mentions,
            "number": config.normalize_numbers,
        }
        parts = [f"(?P<{name}>{_NORMALIZERS[name]})" for name, on in wanted.items() if on]
        self.normalizer = re.compile("|".join(parts)) if parts else None

    def split(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        if self.normalizer is None:
            return self._filter(text)
        tokens: list[str] = []
        position = 0
        for match in self.normalizer.finditer(text):
            tokens += self._filter(text[position : match.start()])
            tokens.append(PLACEHOLDERS[match.lastgroup])
            position = match.end()
        tokens += self._filter(text[position:])
        return tokens

    def _filter(self, text: str) -> list[str]:
        if self.mode == "letters":
            return _LETTERS.findall(text)
        if self.mode == "blog":
            return _BLOG_DELETE[self.lowercase].sub("", text).split()
        if self.mode == "none":
            return text.split()
        # custom: a time limit generous for any sane pattern (normal speed is ~0.05 us per character)
        timeout = 1.0 + 1e-6 * len(text)
        if self.custom.groups:
            matches = [m.group() for m in self.custom.finditer(text, timeout=timeout)]
        else:
            matches = self.custom.findall(text, timeout=timeout)
        return [part for match in matches for part in match.split()]  # tokens never hold spaces

    # ---- the same tokens with where they are in the text (for showing passages) -----------------
    def split_with_spans(self, text: str) -> list[tuple[str, int, int]]:
        """`split(text)` with each token's place: (token, start, end), `text[start:end]` being the
        characters it came from (a character the filter deleted inside a word, as the blog filter's
        apostrophe in don't -> dont, lies inside the span). Slower than `split`; the tests check
        that both give the same tokens in every mode."""
        lowered = text.lower() if self.lowercase else text
        spans: list[tuple[str, int, int]] = []
        if self.normalizer is None:
            spans += self._filter_spans(lowered, 0, len(lowered))
        else:
            position = 0
            for match in self.normalizer.finditer(lowered):
                spans += self._filter_spans(lowered, position, match.start())
                spans.append((PLACEHOLDERS[match.lastgroup], match.start(), match.end()))
                position = match.end()
            spans += self._filter_spans(lowered, position, len(lowered))
        if len(lowered) != len(text):  # a few characters lowercase to two (İ -> i̇): map back
            where = [i for i, ch in enumerate(text) for _ in ch.lower()]
            spans = [(token, where[s], where[e - 1] + 1) for token, s, e in spans]
        return spans

    def _filter_spans(self, text: str, start: int, end: int) -> list[tuple[str, int, int]]:
        segment = text[start:end]  # as `split` filters the pieces between placeholders
        if self.mode == "letters":
            return [
                (m.group(), start + m.start(), start + m.end()) for m in _LETTERS.finditer(segment)
            ]
        if self.mode == "none":
            return [
                (m.group(), start + m.start(), start + m.end()) for m in _WORD.finditer(segment)
            ]
        if self.mode == "blog":
            kept: list[int] = []  # index in `segment` of each character the filter keeps
            position = 0
            for deleted in _BLOG_DELETE[self.lowercase].finditer(segment):
                kept += range(position, deleted.start())
                position = deleted.end()
            kept += range(position, len(segment))
            remaining = "".join(segment[i] for i in kept)
            return [
                (m.group(), start + kept[m.start()], start + kept[m.end() - 1] + 1)
                for m in _WORD.finditer(remaining)
            ]
        timeout = 1.0 + 1e-6 * len(segment)
        return [
            (part.group(), start + match.start() + part.start(), start + match.start() + part.end())
            for match in self.custom.finditer(segment, timeout=timeout)
            for part in _WORD.finditer(match.group())
        ]


class WordRules:
    """Decisions that depend only on the word: canonical form, keep or drop (and why), stem."""

    def __init__(self, config: PreprocessConfig) -> None:
        stop = load_stopwords(config.stopwords_language)
        words = set(stop.words) | set(config.extra_stopwords)
        if config.lowercase:
            words = {w.lower() for w in words}
        else:  # match "The" and "THE" too when case is kept
            words |= {w.capitalize() for w in words} | {w.upper() for w in words}
        self.stopwords = frozenset(words)
        self.stopword_source = stop.source
        self.min_length = config.min_token_length
        self.max_length = config.max_token_length or 1 << 62
        self.stem_language = config.stem_language
        if self.stem_language is not None and self.stem_language not in available_stem_languages():
            _stemmer(self.stem_language)  # raises ConfigError naming the languages that exist
        # the stemmer is made on first use: importing nltk takes ~3 s, a cache hit needs none
        self._stem: Callable[[str], str] | None = None
        self._stem_cache: dict[str, str] = {}
        self.placeholders = frozenset(PLACEHOLDERS.values())

    @staticmethod
    def canonical(word: str) -> str:
        return word.replace("\u2019", "'") if "\u2019" in word else word  # don’t == don't

    def reason_dropped(self, word: str) -> str | None:
        """None to keep `word` (already canonical), else "too short" / "too long" / "stopwords"."""
        if word in self.placeholders:
            return None
        if len(word) < self.min_length:
            return "too short"
        if len(word) > self.max_length:
            return "too long"
        if word in self.stopwords:
            return "stopwords"
        return None

    def stem(self, word: str) -> str:
        if self.stem_language is None or word in self.placeholders:
            return word
        stemmed = self._stem_cache.get(word)
        if stemmed is None:
            if self._stem is None:
                self._stem = _stemmer(self.stem_language)
            stemmed = self._stem_cache[word] = self._stem(word)
        return stemmed

    def finish(self, tokens: Iterable[str]) -> list[str]:
        """Canonical form, filters and stems for one document's tokens (no corpus-level steps)."""
        kept = []
        for token in tokens:
            token = self.canonical(token)
            if self.reason_dropped(token) is None:
                kept.append(self.stem(token))
        return kept


@lru_cache(maxsize=8)
def _pipeline(config: PreprocessConfig, _nltk_data: tuple) -> tuple[Splitter, WordRules]:
    return Splitter(config), WordRules(config)


def compile_pipeline(config: PreprocessConfig) -> tuple[Splitter, WordRules]:
    """The compiled pipeline for `config`, rebuilt when NLTK's data path or stopwords change."""
    from w2v_core.sources.builtin import find_nltk_resource, nltk_search_path

    return _pipeline(config, (tuple(nltk_search_path()), find_nltk_resource("stopwords")))


def tokenize(text: str, config: PreprocessConfig) -> list[str]:
    """One document's tokens after every per-document step.

    Corpus-level steps (phrases, the rare-word cut-off) are not applied: they need the whole corpus.
    Raises `ConfigError` when a language has no stopword list or stemmer.
    """
    splitter, rules = compile_pipeline(config)
    return rules.finish(splitter.split(text))


def preview(texts: Sequence[str], config: PreprocessConfig) -> list[tuple[str, list[str]]]:
    """(text, tokens) for a few texts: fast enough to redraw on every settings change."""
    return [(text, tokenize(text, config)) for text in texts]
