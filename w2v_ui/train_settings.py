"""Training presets, plain-language help for every setting, and defaults scaled to the corpus.

A preset is a named starting point (the settings of word2vec.c, of the d2l book, of the blog post
that started this project, or a quick demo); the Train page fills its widgets from one and the person
may change anything afterwards. Epochs (and, for tiny corpora, the vector size) are scaled to the
corpus: a 20k-token corpus needs many passes to learn anything, a 10M-token one needs few.
Pure Python: no `st.*`, so it is tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from w2v_core.config import TrainConfig
from w2v_core.corpus import SMALL_CORPUS_TOKENS, TINY_CORPUS_TOKENS

# Corpus sizes (tokens after preprocessing) where the scaled defaults change (`w2v_core.corpus`).
TINY_CORPUS = TINY_CORPUS_TOKENS
SMALL_CORPUS = SMALL_CORPUS_TOKENS

RUN_NAME_MAX_CHARS = 120  # a name is a title for lists and headings, not a place for notes


@dataclass(frozen=True)
class Preset:
    label: str
    summary: str  # one plain sentence: what it is and when to use it
    settings: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields it sets
    words_budget: int | None = None  # if set, epochs are chosen so a run sees about this many words
    fixed_epochs: int | None = None  # the source's own epochs, on corpora up to BLOG_CORPUS_TOKENS


# The blog's training: full softmax, AdamW (lr 0.001), 100 dimensions, 100 epochs, output vectors.
BLOG_SETTINGS: dict[str, Any] = {
    "model": "skipgram",
    "loss": "softmax",
    "dim": 100,
    "window": 5,
    "sample": 1e-3,
    "optimizer": "adamw",
    "lr": 0.001,
    "weight_decay": 0.01,
    "explore_vectors": "output",  # the blog reads model.expand.weight
}
BLOG_EPOCHS = 100
# The blog's 32k tweets are ~200k tokens after its preprocessing; up to a few times that its 100
# epochs are kept (time per epoch on the 2-core machine: docs/BENCHMARKS.md), above it they scale.
BLOG_CORPUS_TOKENS = 500_000

PRESETS: dict[str, Preset] = {
    "quick": Preset(
        "Quick demo",
        "Small vectors and a fixed amount of work: a first result in well under a minute.",
        {
            "model": "skipgram",
            "loss": "negative",
            "negative": 5,
            "dim": 50,
            "window": 5,
            "sample": 1e-3,
            "optimizer": "sgd",
            "lr": None,
        },
        words_budget=1_500_000,
    ),
    "classic": Preset(
        "word2vec classic",
        "The settings of Mikolov's word2vec.c and gensim: skip-gram, 5 negatives, 100 dimensions, "
        "plain SGD with a decaying learning rate.",
        {
            "model": "skipgram",
            "loss": "negative",
            "negative": 5,
            "dim": 100,
            "window": 5,
            "sample": 1e-3,
            "optimizer": "sgd",
            "lr": None,
        },
    ),
    "d2l": Preset(
        "d2l book: skip-gram + negative sampling + Adam",
        "As in the Dive into Deep Learning book (chapter 15.4): skip-gram, window 5, 5 noise "
        "words, 100 dimensions, Adam with learning rate 0.002 in batches of 512 words, "
        "subsampling 1e-4, 5 epochs.",
        {
            "model": "skipgram",
            "loss": "negative",
            "negative": 5,
            "dim": 100,
            "window": 5,
            "sample": 1e-4,
            "optimizer": "adam",
            "lr": 0.002,
            "batch_size": 512,
        },
        fixed_epochs=5,  # the book's num_epochs; above 500k words the scaled default is 5 as well
    ),
    "blog": Preset(
        "blog: full softmax + AdamW (skip-gram)",
        "As in the blog post this project started from: skip-gram scored against every word "
        "(full softmax) with AdamW, 100 epochs on corpora up to the blog's size, and explored with "
        "the output vectors, as the blog read them (model.expand.weight): with full softmax they "
        "give the blog's neighbours (good -> great, happi, love), the input vectors other ones. "
        "Slower per word; fine for vocabularies up to a few 10k words.",
        BLOG_SETTINGS,
        fixed_epochs=BLOG_EPOCHS,
    ),
    "blog-cbow": Preset(
        "blog: full softmax + AdamW (CBOW)",
        "The blog's other model: CBOW (the mean of the surrounding words predicts the word) with "
        "the same full softmax, AdamW, 100 epochs and output vectors.",
        {**BLOG_SETTINGS, "model": "cbow"},
        fixed_epochs=BLOG_EPOCHS,
    ),
}
DEFAULT_PRESET = "quick"

# Plain help for each setting the Train page shows: the config's own field help (the CLI shows the
# same), so there is one text per setting.
SETTING_HELP: dict[str, str] = TrainConfig.help_texts()


def scaled_epochs(preset: Preset, n_tokens: int) -> int:
    """Epochs for this preset on a corpus of `n_tokens` words.

    The blog presets keep the blog's 100 epochs on corpora up to `BLOG_CORPUS_TOKENS`. A words
    budget (the quick demo) fixes the total work: 1.5M words is ~13 passes over a 115k-word
    corpus, 2 over a large one. Otherwise smaller corpora get more passes: 20 below 50k words,
    10 below 300k, and word2vec's 5 above.
    """
    n_tokens = max(int(n_tokens), 1)
    if preset.fixed_epochs is not None and n_tokens <= BLOG_CORPUS_TOKENS:
        return preset.fixed_epochs
    if preset.words_budget is not None:
        return int(min(15, max(2, round(preset.words_budget / n_tokens))))
    if n_tokens < TINY_CORPUS:
        return 20
    if n_tokens < SMALL_CORPUS:
        return 10
    return 5


def preset_config(key: str, n_tokens: int, vocab_size: int, device: str = "auto") -> TrainConfig:
    """The `TrainConfig` a preset gives for this corpus.

    Besides the epochs, a tiny corpus gets at most 50 dimensions (100-dim vectors from 20k words are
    mostly noise), and a vocabulary too small for the chosen number of negatives gets fewer.
    """
    preset = PRESETS[key]
    settings = dict(preset.settings)
    settings["epochs"] = scaled_epochs(preset, n_tokens)
    if n_tokens < TINY_CORPUS:
        settings["dim"] = min(int(settings.get("dim", 100)), 50)
    if settings.get("loss", "negative") == "negative" and vocab_size > 1:
        settings["negative"] = min(int(settings.get("negative", 5)), vocab_size - 1)
    settings["device"] = device
    return TrainConfig(**settings)


def corpus_advice(config: TrainConfig, n_tokens: int, vocab_size: int) -> list[str]:
    """Plain warnings about a setting that will work but disappoint on this corpus."""
    advice = []
    if n_tokens < TINY_CORPUS and config.dim > 50:
        advice.append(
            f"Your corpus has only {n_tokens:,} words; {config.dim}-dimensional vectors will be "
            "noisy. 50 or fewer dimensions usually work better on so little text."
        )
    if n_tokens < TINY_CORPUS and config.epochs < 10:
        advice.append(
            f"With only {n_tokens:,} words, {config.epochs} epochs is few; 20 or more passes help "
            "small corpora."
        )
    if config.loss == "softmax" and vocab_size > 20_000:
        advice.append(
            f"Full softmax with {vocab_size:,} words is slow. Negative sampling gives similar vectors "
            "much faster."
        )
    return advice
