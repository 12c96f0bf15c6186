"""Embeddings: trained word vectors and the queries people run on them.

Owns: `Embeddings`, a read-only (V, D) float32 matrix with the words in vocabulary order (most frequent
first) and their corpus counts, loaded from a run folder checkpoint (`Embeddings.from_run`) or built
from arrays; nearest neighbours, analogies, similarity and odd-one-out with gensim's semantics
(method names follow gensim's `KeyedVectors`, so gensim users feel at home); conversion to gensim for
its evaluators; restricting two embeddings to their shared vocabulary.
Leaves out: training and the `nn.Module` (queries never touch the model), file formats
(`w2v_core.export`), benchmarks (`w2v_core.evaluation`), maps (`w2v_core.projection`) and comparisons
across epochs or runs (`w2v_core.compare`).

Every query is one matrix product against the cached unit-normalised matrix followed by
`np.argpartition`, so a neighbour query on a 50k x 100 vocabulary takes a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from w2v_core.config import VectorKind
from w2v_core.errors import ConfigError, RunFolderError
from w2v_core.run_folder import STOPPED, Epoch, RunFolder
from w2v_core.vocab import Vocabulary

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

Neighbours = list[tuple[str, float]]

# Rows scored at once by `most_similar_many`: 256 x 50k float32 scores = 51 MB.
_BATCH_ROWS = 256


class Embeddings:
    """Word vectors with gensim-style queries, built on numpy.

    Parameters
    ----------
    words : sequence of str
        The words, in vocabulary order (most frequent first when built from a run).
    vectors : array of shape (V, D)
        One row per word; copied into a read-only float32 array.
    counts : array of shape (V,), optional
        Corpus count of each word (None when unknown, e.g. vectors loaded from elsewhere).
    epoch, kind : optional
        Where the vectors came from (set by `from_run`, used for labels).
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray,
        counts: np.ndarray | Sequence[int] | None = None,
        *,
        epoch: Epoch | None = None,
        kind: VectorKind | None = None,
    ) -> None:
        vectors = np.array(vectors, dtype=np.float32, copy=True, order="C")
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a (V, D) matrix, got shape {vectors.shape}")
        if len(words) != vectors.shape[0]:
            raise ValueError(f"{len(words)} words but {vectors.shape[0]} vector rows")
        vectors.flags.writeable = False  # the cached unit matrix must stay in step with it
        self.vectors: np.ndarray = vectors  # (V, D)
        self.counts: np.ndarray | None = None
        if counts is not None:
            self.counts = np.asarray(counts, dtype=np.int64).copy()
            if self.counts.shape != (len(words),):
                raise ValueError(f"counts must have shape ({len(words)},), got {self.counts.shape}")
            self.counts.flags.writeable = False
        # The vocabulary owns the word -> id index and the "did you mean" suggestions.
        self._vocab = Vocabulary(
            words, self.counts if self.counts is not None else [0] * len(words)
        )
        self.epoch = epoch
        self.kind = kind

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_run(
        cls,
        run: RunFolder | str | Path,
        epoch: Epoch | None = None,
        kind: VectorKind = "input",
        vocab: Vocabulary | None = None,
    ) -> Embeddings:
        """Load the vectors of one checkpoint of a run folder.

        Parameters
        ----------
        run : RunFolder or path
            The run folder.
        epoch : int, "stopped" or None
            A complete epoch (1-based), the checkpoint a stop request left, or None for the latest
            (`RunFolder.latest_checkpoint`: the newest complete epoch, else the stopped one).
        kind : {"input", "output", "average"}
            Which matrix: the input (centre-word) vectors, as the d2l book reads them; the output
            (context-word) vectors, as the blog post reads them; or their mean, (input + output) / 2.
        vocab : Vocabulary, optional
            The run's vocabulary when the caller already has it (the app reads it once per run,
            not once per epoch); by default it is read from the run folder.
        """
        if kind not in get_args(VectorKind):
            raise ConfigError(f"Unknown vector kind '{kind}': choose input, output or average.")
        if not isinstance(run, RunFolder):
            run = RunFolder.open(run)
        if epoch is None:
            epoch = run.latest_checkpoint()
            if epoch is None:
                raise RunFolderError(_no_checkpoint_message(run))
        names = ["input", "output"] if kind == "average" else [kind]
        tensors = run.load_checkpoint(epoch, names=names)
        missing = [name for name in names if name not in tensors]
        if missing:
            label = run.checkpoint_label(epoch)
            raise RunFolderError(
                f"Checkpoint '{label}' of run '{run.path.name}' has no '{missing[0]}' vectors; "
                "choose the input vectors instead."
            )
        matrices = {name: tensors[name].detach().float().numpy() for name in names}
        if kind == "average":
            vectors = (matrices["input"] + matrices["output"]) / 2  # (V, D)
        else:
            vectors = matrices[kind]  # (V, D)
        vocab = vocab if vocab is not None else run.vocab()
        if vectors.shape[0] != len(vocab):
            raise RunFolderError(
                f"Run '{run.path.name}' is inconsistent: its vocabulary has {len(vocab)} words but "
                f"checkpoint '{run.checkpoint_label(epoch)}' has {vectors.shape[0]} vectors."
            )
        epoch_label: Epoch = STOPPED if epoch == STOPPED else int(epoch)
        return cls(vocab.words, vectors, vocab.counts, epoch=epoch_label, kind=kind)

    # ---- basic access -------------------------------------------------------------------------
    @property
    def words(self) -> list[str]:
        """The words, in row order (gensim calls this `index_to_key`)."""
        return self._vocab.words

    @property
    def vector_size(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self._vocab)

    def __contains__(self, word: object) -> bool:
        return word in self._vocab

    def __getitem__(self, word: str) -> np.ndarray:
        """The raw (not normalised) vector of `word`, shape (D,), read-only."""
        return self.vectors[self.index_of(word)]

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The vector of `word`; unit length when `norm` (gensim's name and flag)."""
        return (self.unit_vectors if norm else self.vectors)[self.index_of(word)]

    def index_of(self, word: str) -> int:
        """Row of `word`; raises `UnknownWordError` carrying close vocabulary words."""
        return self._vocab.id_of(word)

    def count(self, word: str) -> int:
        """Corpus count of `word` (0 when these embeddings carry no counts)."""
        index = self.index_of(word)
        return 0 if self.counts is None else int(self.counts[index])

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Vocabulary words that look like `word` (for "did you mean" hints)."""
        return self._vocab.suggest(word, n)

    @cached_property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit length, (V, D) float32; an all-zero row stays zero (cosine 0)."""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)  # (V, 1)
        unit = self.vectors / np.maximum(norms, np.finfo(np.float32).tiny)
        unit.flags.writeable = False
        return unit

    # ---- queries --------------------------------------------------------------------------------
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        unit = self.unit_vectors
        return float(unit[self.index_of(a)] @ unit[self.index_of(b)])

    def most_similar(
        self,
        positive: str | Sequence[str] = (),
        negative: str | Sequence[str] = (),
        k: int = 10,
        restrict_vocab: int | None = None,
    ) -> Neighbours:
        """The `k` words closest (cosine) to the mean of the query words, query words excluded.

        Exactly gensim's `most_similar` (3CosAdd, Mikolov et al. 2013): the query is the mean of
        the unit vectors of `positive` (weight +1) and `negative` (weight -1), normalised; every
        word is scored by its cosine with it. So `most_similar(["king", "woman"], ["man"])` answers
        "man is to king as woman is to ?".

        Parameters
        ----------
        positive, negative : str or list of str
            Words pulling towards / pushing away.
        k : int
            How many neighbours (fewer when the vocabulary is smaller).
        restrict_vocab : int, optional
            Only search the first `restrict_vocab` (most frequent) words; rare words have noisy
            vectors.

        Returns
        -------
        list of (word, cosine), best first; ties go to the more frequent word.
        """
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise ValueError("most_similar needs at least one word")
        ids = [self.index_of(word) for word in positive + negative]
        weights = np.array([1.0] * len(positive) + [-1.0] * len(negative), dtype=np.float32)
        query = weights @ self.unit_vectors[ids] / np.abs(weights).sum()  # (D,)
        return self._top_k(self._scores(query, restrict_vocab), k, exclude=ids)

    def analogy(self, a: str, b: str, c: str, k: int = 10) -> Neighbours:
        """Answer "`a` is to `b` as `c` is to ?": `most_similar(positive=[b, c], negative=[a])`."""
        return self.most_similar(positive=[b, c], negative=[a], k=k)

    def similar_by_vector(
        self, vector: np.ndarray, k: int = 10, restrict_vocab: int | None = None
    ) -> Neighbours:
        """The `k` words whose vectors have the highest cosine with `vector` (none excluded)."""
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.vector_size,):
            raise ValueError(f"vector must have shape ({self.vector_size},), got {vector.shape}")
        return self._top_k(self._scores(vector, restrict_vocab), k, exclude=[])

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest (cosine) from the mean of the unit vectors of all `words` (gensim)."""
        if not words:
            raise ValueError("doesnt_match needs at least one word")
        unit = self.unit_vectors[[self.index_of(word) for word in words]]  # (n, D)
        centre = _normalise(unit.mean(axis=0))  # (D,)
        return words[int(np.argmin(unit @ centre))]

    def most_similar_many(
        self, words: Iterable[str], k: int = 10, restrict_vocab: int | None = None
    ) -> dict[str, Neighbours]:
        """`most_similar(word, k)` for many words at once, scored in batched matrix products.

        Returns a dict word -> neighbours, in the order of `words` (duplicates collapse).
        """
        words = list(dict.fromkeys(words))
        ids = np.array([self.index_of(word) for word in words], dtype=np.int64)
        unit = self.unit_vectors
        limit = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        result: dict[str, Neighbours] = {}
        for start in range(0, len(ids), _BATCH_ROWS):
            batch = ids[start : start + _BATCH_ROWS]
            scores = unit[batch] @ unit[:limit].T  # (B, limit)
            for row, index in enumerate(batch):
                result[words[start + row]] = self._top_k(scores[row], k, exclude=[int(index)])
        return result

    # ---- internals ------------------------------------------------------------------------------
    def _scores(self, query: np.ndarray, restrict_vocab: int | None) -> np.ndarray:
        """Cosine of every (searched) word with `query`, (limit,) float32."""
        limit = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        return self.unit_vectors[:limit] @ _normalise(query)  # (limit,)

    def _top_k(self, scores: np.ndarray, k: int, exclude: Iterable[int]) -> Neighbours:
        scores = scores.copy()
        excluded = [i for i in set(exclude) if i < len(scores)]
        scores[excluded] = -np.inf
        k = min(k, len(scores) - len(excluded))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties: lower id (more frequent)
        words = self.words
        return [(words[i], float(scores[i])) for i in top]

    # ---- conversions ----------------------------------------------------------------------------
    def to_gensim(self) -> KeyedVectors:
        """A gensim `KeyedVectors` with the same words, order, vectors and (if known) counts."""
        from gensim.models import KeyedVectors

        kv = KeyedVectors(vector_size=self.vector_size, count=len(self), dtype=np.float32)
        kv.index_to_key = list(self.words)
        kv.key_to_index = {word: i for i, word in enumerate(self.words)}
        kv.vectors[:] = self.vectors
        if self.counts is not None:
            kv.allocate_vecattrs(["count"], [np.int64])
            kv.expandos["count"][:] = self.counts
        return kv

    def restrict(self, words: Iterable[str]) -> Embeddings:
        """A new `Embeddings` holding only `words`, in the order given (unknown -> error)."""
        words = list(dict.fromkeys(words))
        ids = [self.index_of(word) for word in words]
        counts = None if self.counts is None else self.counts[ids]
        return Embeddings(words, self.vectors[ids], counts, epoch=self.epoch, kind=self.kind)

    def __repr__(self) -> str:
        source = f", epoch={self.epoch!r}, kind={self.kind!r}" if self.epoch is not None else ""
        return f"Embeddings({len(self)} words x {self.vector_size} dims{source})"


def shared_words(a: Embeddings, b: Embeddings) -> list[str]:
    """Words in both `a` and `b`, in `a`'s order (most frequent in `a` first)."""
    return [word for word in a.words if word in b]


def restrict_to_shared(a: Embeddings, b: Embeddings) -> tuple[Embeddings, Embeddings]:
    """`a` and `b` cut down to their shared words, both in `a`'s order (row i is the same word)."""
    words = shared_words(a, b)
    if not words:
        raise ConfigError(
            "These two sets of vectors have no word in common, so they cannot be compared."
        )
    return a.restrict(words), b.restrict(words)


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _no_checkpoint_message(run: RunFolder) -> str:
    info: dict[str, Any] = run.info()
    status = info.get("status")
    name = run.path.name
    if status == "failed":
        reason = f": {info['error']}" if info.get("error") else "."
        return f"Run '{name}' failed before it saved any vectors{reason}"
    if status in ("created", "running"):
        return (
            f"Run '{name}' has no vectors yet: training has not finished an epoch yet. Wait for the "
            "first epoch to finish, or stop the run to save the vectors as they are."
        )
    return f"Run '{name}' has no saved vectors (no checkpoint in its checkpoints folder)."
