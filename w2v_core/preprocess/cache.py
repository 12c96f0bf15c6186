"""The on-disk cache of preprocessing results, keyed by (data fingerprint, config, word lists, stemmer).

Owns: where the cache lives (`$W2V_CACHE_DIR` or `~/.cache/w2v_studio`, subfolder `preprocess/`), the key,
writing an entry atomically (a temporary folder renamed into place) in safe formats only (vocab.tsv,
corpus.npz loaded with allow_pickle=False, result.json), reading it back (a damaged entry is ignored),
and keeping the 20 most recently used entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import CorpusError
from w2v_core.io_utils import atomic_write_json, read_json
from w2v_core.preprocess.config import PreprocessConfig
from w2v_core.preprocess.result import PreprocessResult, PreprocessStats
from w2v_core.preprocess.tokens import WordRules, stemmer_version
from w2v_core.vocab import Vocabulary

if TYPE_CHECKING:
    from w2v_core.sources.dataset import TextDataset

CACHE_VERSION = 1  # bump when a change to the pipeline changes what a config produces


def default_cache_dir() -> Path:
    """$W2V_CACHE_DIR, else ~/.cache/w2v_studio."""
    return Path(os.environ.get("W2V_CACHE_DIR") or Path.home() / ".cache" / "w2v_studio")


def cache_root(cache_dir: str | Path | None) -> Path:
    # a folder of our own inside the cache, so pruning old entries never touches anything else
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / "preprocess"


def cache_key(dataset: TextDataset, config: PreprocessConfig, rules: WordRules) -> str:
    key = {
        "version": CACHE_VERSION,
        "data": dataset.fingerprint(),
        "config": config.to_dict(),
        "stopwords": hashlib.sha256("\n".join(sorted(rules.stopwords)).encode()).hexdigest(),
        "stemmer": stemmer_version(config.stem_language),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def save_cached(path: Path, result: PreprocessResult) -> None:
    """Write vocab.tsv, corpus.npz and result.json into a temp folder, then rename it into place."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    try:
        temp.mkdir(parents=True)
        result.vocab.save_tsv(temp / "vocab.tsv")
        result.corpus.save(temp / "corpus.npz")
        atomic_write_json(
            temp / "result.json",
            {
                "version": CACHE_VERSION,
                "config": result.config.to_dict(),
                "stats": result.stats.to_dict(),
                "examples": [[text, tokens] for text, tokens in result.examples],
                "data": {"fingerprint": result.dataset.fingerprint(), "name": result.dataset.name},
            },
        )
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        os.replace(temp, path)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)  # a read-only or full disk only costs the cache
        return
    prune_cache(path.parent, keep=20)


def load_cached(
    path: Path, dataset: TextDataset, config: PreprocessConfig
) -> PreprocessResult | None:
    if not (path / "result.json").is_file():
        return None
    try:
        saved = read_json(path / "result.json")
        if saved.get("version") != CACHE_VERSION or saved["config"] != config.to_dict():
            return None
        result = PreprocessResult(
            vocab=Vocabulary.load_tsv(path / "vocab.tsv"),
            corpus=EncodedCorpus.load(path / "corpus.npz"),
            stats=PreprocessStats.from_dict(saved["stats"]),
            examples=[(text, list(tokens)) for text, tokens in saved["examples"]],
            config=config,
            dataset=dataset,
            from_cache=True,
            cache_path=path,
        )
        if int(result.corpus.source_rows.max(initial=-1)) >= dataset.n_rows:
            return None
        os.utime(path)  # recently used: pruned last
        return result
    except (OSError, ValueError, KeyError, TypeError, CorpusError):
        return None  # a damaged cache entry is recomputed, never trusted


def prune_cache(root: Path, keep: int) -> None:
    entries = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
