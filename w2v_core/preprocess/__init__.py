"""Preprocessing: the text of a `TextDataset` -> vocabulary + encoded corpus, with statistics.

Owns: `PreprocessConfig` (frozen; every option has a plain-language line in `OPTION_HELP`), cutting
text into tokens (lowercase, URL/number/@mention placeholders, a character filter, length limits,
stopwords, Snowball stemming), phrase detection (frequent bigrams such as `new_york`), the rare-word
cut-off, statistics and warnings a non-expert needs, before/after examples, and an on-disk cache keyed
by (data fingerprint, config). Leaves out: where the text came from (`w2v_core.sources`), the
`Vocabulary` and `EncodedCorpus` types themselves (`vocab`, `corpus`), and training.

Order of the steps, per document then per corpus::

    lowercase -> placeholders (<url>, <num>, <user>) -> character filter (tokens)
    -> length limits and stopwords (on the word as written, as in the blog)
    -> phrases (corpus-wide bigram counts) -> stemming -> rare-word cut-off / max vocabulary
    -> documents left with fewer than two tokens are dropped (no training pair)

Speed: the per-token Python work is one regular-expression pass and one dictionary look-up; every
decision that depends only on the word (stopword, length, stem) is made once per distinct word and
applied to all tokens with numpy. Text is read from Arrow in batches of about `BATCH_BYTES`; batches
can go to worker processes (`workers=`), which did not pay off on the 2-core benchmark machine.

Modules: `config` (PreprocessConfig, presets, help texts), `tokens` (per-document steps, stopwords, stemmers,
`tokenize`, `preview`), `phrases`, `pipeline` (`preprocess`, `prepare_corpus`), `result`, `cache`.
"""

from w2v_core.preprocess.cache import default_cache_dir
from w2v_core.preprocess.config import (
    CHAR_FILTER_HELP,
    OPTION_HELP,
    PRESETS,
    CharFilter,
    PreprocessConfig,
    PreprocessPreset,
    compile_custom_pattern,
)
from w2v_core.preprocess.phrases import find_phrases
from w2v_core.preprocess.pipeline import BATCH_BYTES, ProgressCallback, prepare_corpus, preprocess
from w2v_core.preprocess.result import PreprocessResult, PreprocessStats
from w2v_core.preprocess.tokens import (
    NLTK_STEM_LANGUAGES,
    PLACEHOLDERS,
    StopwordList,
    available_stem_languages,
    available_stopword_languages,
    load_stopwords,
    preview,
    tokenize,
    warm_up,
)

__all__ = [
    "BATCH_BYTES",
    "CHAR_FILTER_HELP",
    "NLTK_STEM_LANGUAGES",
    "OPTION_HELP",
    "PLACEHOLDERS",
    "PRESETS",
    "CharFilter",
    "PreprocessConfig",
    "PreprocessPreset",
    "PreprocessResult",
    "PreprocessStats",
    "ProgressCallback",
    "StopwordList",
    "available_stem_languages",
    "available_stopword_languages",
    "compile_custom_pattern",
    "default_cache_dir",
    "find_phrases",
    "load_stopwords",
    "prepare_corpus",
    "preprocess",
    "preview",
    "tokenize",
    "warm_up",
]
