"""`PreprocessConfig`: every preprocessing choice, frozen, with a plain-language line per option.

Owns: the options and their defaults, the named presets (`PRESETS`), their help texts (`OPTION_HELP`, `CHAR_FILTER_HELP`), validation
(`ConfigError` with what to change), and checking custom regular expressions, including catastrophic
backtracking. Leaves out: applying the options (`tokens`, `pipeline`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import regex

from w2v_core.errors import ConfigError

CharFilter = Literal["blog", "letters", "none", "custom"]

OPTION_HELP: dict[str, str] = {
    "lowercase": "Treat 'The' and 'the' as the same word by turning all letters into lowercase.",
    "char_filter": "Which characters make up words; everything else separates or is removed "
    "(see CHAR_FILTER_HELP for the choices).",
    "custom_pattern": "For the custom filter: a regular expression that matches one word, e.g. "
    "[a-z]+ or \\w+ (checked, and stopped if it runs too long).",
    "normalize_urls": "Replace web addresses (http://..., www...) by the single token <url>.",
    "normalize_numbers": "Replace numbers (1990, 3.5, 10,000) by the single token <num>.",
    "normalize_mentions": "Replace @names by the single token <user>, so no single account "
    "dominates.",
    "min_token_length": "Drop words shorter than this many characters (1 keeps everything).",
    "max_token_length": "Drop 'words' longer than this many characters: pasted links, encoded "
    "data, text without spaces. Empty for no limit.",
    "stopwords_language": "Drop very common words (the, and, of...) using this language's list. "
    "Empty to keep them.",
    "extra_stopwords": "Your own words to drop as well, e.g. 'rt' or 'amp' in tweets.",
    "stem_language": "Cut words to their stem with the Snowball stemmer of this language, so "
    "'drags', 'dragged' and 'dragging' all become 'drag'. Empty for no stemming.",
    "min_count": "Words seen fewer times than this are left out: too rare for the model to learn "
    "anything reliable about them.",
    "max_vocab_size": "Keep at most this many of the most frequent words. Empty for no limit.",
    "phrases": "Join word pairs that occur together far more often than chance into one token, "
    "e.g. new york -> new_york.",
    "phrase_threshold": "How strongly two words must belong together to be joined; higher means "
    "fewer, surer phrases.",
    "phrase_min_count": "A word pair must occur more often than this to become a phrase.",
}

CHAR_FILTER_HELP: dict[str, str] = {
    "blog": "The blog's filter: keep only the letters a-z, @ and #; everything else (digits, "
    "punctuation, accents, other alphabets) is deleted, so don't -> dont.",
    "letters": "Letters of any alphabet (accents, Greek, Cyrillic, Arabic, Devanagari, ...); "
    "apostrophes inside words stay (don't). Digits and punctuation separate words.",
    "none": "Split at spaces only and keep every character, punctuation included.",
    "custom": "Your own regular expression: each match is one word.",
}

# Adversarial inputs that expose catastrophic backtracking in a custom pattern, e.g. (a|aa)+$.
_BACKTRACKING_PROBES = (
    "a" * 40 + "!",
    "ab" * 20 + "!",
    "1" * 40 + "!",
    "a " * 20 + "!",
    "é" * 40 + "!",
)


@dataclass(frozen=True)
class PreprocessConfig:
    """Every preprocessing choice; frozen, so it can key caches and be stored in run.json.

    Defaults suit most corpora in any language; `PreprocessConfig.blog()` reproduces the blog's
    pipeline. `OPTION_HELP[name]` explains each field in one plain sentence.
    """

    lowercase: bool = True  # "The" and "the" are one word
    char_filter: CharFilter = "letters"  # which characters make words (CHAR_FILTER_HELP)
    custom_pattern: str = ""  # for char_filter="custom": a regex matching one token
    normalize_urls: bool = False  # web addresses -> <url>
    normalize_numbers: bool = False  # numbers -> <num>
    normalize_mentions: bool = False  # @names -> <user>
    min_token_length: int = 1  # 1 keeps one-letter words ("a", "i")
    max_token_length: int | None = 50  # longer "words" are pasted links or unsegmented text
    stopwords_language: str | None = "english"  # NLTK's list (English bundled for offline use)
    extra_stopwords: tuple[str, ...] = ()  # the person's own additions
    stem_language: str | None = None  # stemming merges word forms but makes words harder to read
    min_count: int = 5  # word2vec.c and gensim default
    max_vocab_size: int | None = None  # None: every word reaching min_count
    phrases: bool = False
    phrase_threshold: float = 10.0  # gensim's Phrases default, same scoring formula
    phrase_min_count: int = 5  # gensim's Phrases default

    def __post_init__(self) -> None:
        if self.char_filter not in CHAR_FILTER_HELP:
            raise ConfigError(
                f"char_filter must be one of {', '.join(CHAR_FILTER_HELP)}, not '{self.char_filter}'."
            )
        if self.char_filter == "custom":
            compile_custom_pattern(self.custom_pattern)
        for name in ("min_token_length", "min_count", "phrase_min_count"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1.")
        if self.max_token_length is not None and self.max_token_length < self.min_token_length:
            raise ConfigError("max_token_length must be at least min_token_length.")
        if self.max_vocab_size is not None and self.max_vocab_size < 1:
            raise ConfigError("max_vocab_size must be at least 1 (or empty for no limit).")
        if not self.phrase_threshold > 0:
            raise ConfigError("phrase_threshold must be greater than 0.")
        # normalise so that equal settings give equal configs (and cache keys)
        extra = tuple(sorted({w.strip() for w in self.extra_stopwords if w and w.strip()}))
        object.__setattr__(self, "extra_stopwords", extra)
        for name in ("stopwords_language", "stem_language"):
            value = getattr(self, name)
            object.__setattr__(
                self, name, value.strip().lower() if value and value.strip() else None
            )

    @classmethod
    def blog(cls) -> PreprocessConfig:
        """The blog's `split_tokens`: lowercase, keep a-z @ #, NLTK English stopwords, Snowball
        English stems, and its vocabulary rule `count > 10` (min_count=11)."""
        return cls(
            lowercase=True,
            char_filter="blog",
            max_token_length=None,
            stopwords_language="english",
            stem_language="english",
            min_count=11,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (for run.json and cache keys)."""
        values = asdict(self)
        values["extra_stopwords"] = list(self.extra_stopwords)
        return values

    @classmethod
    def from_name_or_json(cls, text: str) -> PreprocessConfig:
        """A preset name (`PRESETS`: "default", "blog") or a JSON object as run.json's
        data["preprocess"] holds it (missing keys take their defaults).

        Raises `ConfigError` in one line, naming the presets, for bad JSON, an unknown name or an
        unknown key.
        """
        text = text.strip()
        presets = ", ".join(PRESETS)
        if not text.startswith("{"):
            preset = PRESETS.get(text.lower())
            if preset is None:
                raise ConfigError(
                    f"There is no preprocessing preset '{text}'. Presets: {presets}; or give a "
                    'JSON object such as run.json\'s data["preprocess"].'
                )
            return preset.config
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"The preprocessing settings are not valid JSON ({error.msg} at character "
                f"{error.pos + 1}). Give a preset ({presets}) or a JSON object."
            ) from None
        if not isinstance(values, dict):
            raise ConfigError(f"Give a preset ({presets}) or a JSON object, not {text[:40]}.")
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(
                f"Unknown preprocessing setting{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}. The settings are: {', '.join(f.name for f in fields(cls))}; "
                f"presets: {presets}."
            )
        try:
            return cls.from_dict(values)
        except TypeError as error:  # e.g. a list where a number belongs
            raise ConfigError(f"The preprocessing settings do not fit: {error}.") from None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PreprocessConfig:
        """Inverse of `to_dict`; unknown keys are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if "extra_stopwords" in kwargs:
            kwargs["extra_stopwords"] = tuple(kwargs["extra_stopwords"])
        return cls(**kwargs)


@dataclass(frozen=True)
class PreprocessPreset:
    """A named set of preprocessing settings (the Preprocess page's buttons, the CLI's names)."""

    name: str
    label: str  # the button's text
    description: str  # one line: what it does and when to choose it
    config: PreprocessConfig


PRESETS: dict[str, PreprocessPreset] = {
    preset.name: preset
    for preset in (
        PreprocessPreset(
            "default", "Defaults", "Settings that suit most corpora.", PreprocessConfig()
        ),
        PreprocessPreset(
            "blog",
            "Strict cleaning (a-z, stems)",
            "Keeps only a-z, @ and #, drops English stop words, cuts words to their stems and "
            "leaves out words seen fewer than 11 times: the settings of the word2vec blog post this "
            "app grew from.",
            PreprocessConfig.blog(),
        ),
    )
}


def compile_custom_pattern(pattern: str) -> regex.Pattern:
    """Compile and check a custom token pattern; raises `ConfigError` with a plain reason.

    Refused: invalid syntax, a pattern that can match nothing (it would make empty tokens), and a
    pattern that backtracks catastrophically on short adversarial inputs (e.g. `(a|aa)+$`). Patterns
    run with the `regex` module, which avoids most such blow-ups, and with a time limit per document.
    """
    if not pattern:
        raise ConfigError("The custom filter needs a regular expression, e.g. [a-z]+ or \\w+.")
    try:
        compiled = regex.compile(pattern)
    except regex.error as error:
        raise ConfigError(
            f"The custom pattern is not a valid regular expression: {error}."
        ) from None
    if compiled.fullmatch("") is not None:
        raise ConfigError(
            "The custom pattern also matches empty text, which would make empty words; "
            "use + instead of * (e.g. [a-z]+)."
        )
    for probe in _BACKTRACKING_PROBES:
        try:
            compiled.findall(probe, timeout=0.25)
        except TimeoutError:
            raise ConfigError(
                "The custom pattern takes too long even on a short text (it backtracks "
                "catastrophically, typically through nested or overlapping repeats such as "
                "(a|aa)+ or (a+)+). Simplify it."
            ) from None
    return compiled
