"""Training settings: one frozen dataclass whose every field carries its default and its help text.

Owns: `TrainConfig`, its validation against a vocabulary (impossible settings become `ConfigError`
with a plain sentence), and the defaults that depend on other settings (learning rate by optimizer and
model, batch size by device). Leaves out: preprocessing settings (`w2v_core.preprocess`).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from w2v_core.errors import ConfigError

ModelKind = Literal["skipgram", "cbow"]
LossKind = Literal["negative", "softmax"]
OptimizerKind = Literal["sgd", "adam", "adamw"]
DeviceChoice = Literal["auto", "cpu", "cuda", "mps"]
VectorKind = Literal["input", "output", "average"]


def setting(default: Any, help: str, **metadata: Any) -> Any:
    """A `TrainConfig` field with its plain-language help: the app's help text and the CLI's come
    from here, so there is one list of settings (`metadata` may add `choices`, `flag`, `minimum`)."""
    return field(default=default, metadata={"help": help, **metadata})


# Engine names, "auto" first; the registry (`w2v_core.backends`) maps each to its class.
ENGINE_CHOICES = (
    "auto",
    "fused-cuda",
    "fused-cpu",
    "fused-adam-cpu",
    "softmax-torch",
    "batched-torch",
)
_ENGINE_ALIASES = {"fused": "fused-cpu", "batched": "batched-torch"}  # run.json of before 0.2

# What a person reads for each choice; one home for these labels (app, CLI summaries, cards).
MODEL_LABELS = {"skipgram": "skip-gram", "cbow": "CBOW"}
LOSS_LABELS = {"negative": "negative sampling", "softmax": "full softmax"}
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}


@dataclass(frozen=True)
class TrainConfig:
    model: ModelKind = setting(
        "skipgram",
        "Skip-gram predicts the surrounding words from each word (better for rare words); "
        "CBOW predicts a word from its surroundings (faster).",
    )
    loss: LossKind = setting(
        "negative",
        "Negative sampling compares each true neighbour with a few random words (fast). Full "
        "softmax scores every word in the vocabulary at every step (exact, slow for large "
        "vocabularies).",
    )
    dim: int = setting(
        100,
        "Length of each word's vector. Larger captures more nuance but needs more text.",
        minimum=1,
    )
    window: int = setting(
        5,
        "How many words left and right count as a word's context (the effective window of each "
        "word is drawn from 1 to this). Small windows find words that can replace each other; "
        "large windows find words on the same topic.",
        minimum=1,
    )
    negative: int = setting(
        5,
        "How many random 'noise' words each true neighbour is compared with (negative sampling "
        "only). 5-15 is typical.",
        minimum=1,
    )
    ns_exponent: float = setting(
        0.75,
        "Noise words are drawn with probability proportional to count ** this "
        "(0.75 in Mikolov et al. 2013).",
    )
    sample: float = setting(
        1e-3,
        "Randomly skips very frequent words such as 'the' so rarer words get more attention. "
        "1e-3 is word2vec's default; smaller skips more; 0 turns it off.",
    )
    epochs: int = setting(
        5,
        "How many times training reads the whole corpus. Small corpora need more passes.",
        minimum=1,
    )
    lr: float | None = setting(
        None,
        "Step size of each update. Leave empty for the usual value of the chosen optimizer "
        "(SGD: 0.025 skip-gram, 0.05 CBOW, 0.25 CBOW with softmax; Adam/AdamW: 0.01).",
    )
    min_lr_fraction: float = setting(
        1e-4 / 0.025,
        "SGD decays the learning rate linearly from lr to lr * this over the run (gensim's "
        "default).",
    )
    optimizer: OptimizerKind = setting(
        "sgd",
        "How the vectors are updated: plain SGD (word2vec's choice, fastest), or Adam / AdamW "
        "(as in the d2l book and the blog).",
    )
    weight_decay: float = setting(
        0.01, "AdamW only: pulls vectors slightly towards zero at every step."
    )
    batch_size: int | None = setting(
        None,
        "Centre words per update step of the PyTorch engine (Adam, AdamW, softmax, GPU). "
        "Empty chooses automatically.",
        minimum=1,
    )
    seed: int = setting(
        1,
        "Fixes the random choices: initial vectors, subsampling, windows and noise words. With one "
        "thread the same settings give exactly the same vectors; with several threads the updates "
        "race (as in word2vec.c and gensim), so runs differ slightly.",
        minimum=0,
    )
    device: DeviceChoice = setting(
        "auto", "Where training runs: 'auto' uses a GPU when this machine has one."
    )
    threads: int | None = setting(
        None,
        "CPU threads; empty uses all cores. Only one thread gives bit-for-bit reproducible "
        "results.",
        minimum=1,
    )
    engine: str = setting(
        "auto",
        "Which training code runs: 'auto' takes a compiled kernel where it applies (SGD with "
        "negative sampling: fused-cuda on an NVIDIA GPU, fused-cpu on the CPU; Adam or AdamW with "
        "negative sampling on the CPU: fused-adam-cpu), else the PyTorch engine.",
        choices=ENGINE_CHOICES,
    )
    keep_every: int = setting(
        1,
        "Which epochs keep their vectors on disk: 1 keeps every epoch; k keeps every k-th epoch "
        "and the last (long runs on small corpora otherwise fill the disk).",
        minimum=1,
    )
    explore_vectors: VectorKind = setting(
        "input",
        "Which of each word's two vectors the Map, Neighbours and Compare pages show first (you can "
        "switch there): 'input' (centre words; gensim's and the d2l book's choice), 'output' "
        "(context words; what the blog read, model.expand.weight) or their 'average'. Changes "
        "nothing in training.",
    )

    def __post_init__(self) -> None:
        if self.engine in _ENGINE_ALIASES:  # frozen: set through object.__setattr__
            object.__setattr__(self, "engine", _ENGINE_ALIASES[self.engine])

    # ---- derived values ---------------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        if self.optimizer == "sgd":
            if self.model == "skipgram":
                return 0.025
            # CBOW's averaged context gives 1/(2W)-sized gradients; full softmax starts flatter
            return 0.05 if self.loss == "negative" else 0.25
        return 1e-2

    @property
    def cpu_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_choices(cls, name: str) -> tuple[Any, ...] | None:
        """The allowed values of a setting: its `choices`, or its `Literal` type's values."""
        spec = next(f for f in dataclasses.fields(cls) if f.name == name)
        if "choices" in spec.metadata:
            return tuple(spec.metadata["choices"])
        hint = typing.get_type_hints(cls)[name]
        if typing.get_origin(hint) is Literal:
            return typing.get_args(hint)
        return None

    @classmethod
    def help_texts(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    # ---- validation -------------------------------------------------------------------------------
    def validate(self, vocab_size: int | None = None) -> None:
        """Raise `ConfigError` naming the first setting that cannot work."""
        if self.model not in ("skipgram", "cbow"):
            raise ConfigError(f"Unknown model '{self.model}': choose skipgram or cbow.")
        if self.loss not in ("negative", "softmax"):
            raise ConfigError(f"Unknown loss '{self.loss}': choose negative or softmax.")
        if self.optimizer not in ("sgd", "adam", "adamw"):
            raise ConfigError(f"Unknown optimizer '{self.optimizer}': choose sgd, adam or adamw.")
        if self.dim < 1 or self.dim > 2048:
            raise ConfigError(f"Vector size must be between 1 and 2048 (got {self.dim}).")
        if self.window < 1:
            raise ConfigError(
                f"Window must be at least 1 (got {self.window}): with no context words there is "
                "nothing to learn from."
            )
        if self.epochs < 1:
            raise ConfigError(f"Epochs must be at least 1 (got {self.epochs}).")
        if not 0 <= self.sample < 1:
            raise ConfigError(f"sample must be in [0, 1) (got {self.sample}); 1e-3 is typical.")
        if self.loss == "negative" and self.negative < 1:
            raise ConfigError("Negative sampling needs at least 1 negative word per pair.")
        lr = self.learning_rate
        if not lr > 0 or lr != lr:
            raise ConfigError(f"The learning rate must be positive (got {lr}).")
        if lr > 10:
            raise ConfigError(
                f"A learning rate of {lr} is far too high and would make training diverge; "
                "use 0.025 for SGD or 0.001-0.01 for Adam."
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"Batch size must be at least 1 (got {self.batch_size}).")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"Threads must be at least 1 (got {self.threads}).")
        if not isinstance(self.seed, int) or self.seed < 0 or self.seed >= 2**63:
            raise ConfigError(f"The seed must be a whole number from 0 up (got {self.seed}).")
        if self.engine not in ENGINE_CHOICES:
            raise ConfigError(
                f"Unknown engine '{self.engine}': choose one of {', '.join(ENGINE_CHOICES)}."
            )
        if self.explore_vectors not in typing.get_args(VectorKind):
            raise ConfigError(
                f"Unknown vectors '{self.explore_vectors}' to explore: choose input, output or "
                "average."
            )
        if self.keep_every < 1:
            raise ConfigError(f"keep_every must be at least 1 (got {self.keep_every}).")
        if not 0 < self.ns_exponent <= 2 and self.loss == "negative":
            raise ConfigError(
                f"ns_exponent must be in (0, 2] (got {self.ns_exponent}); 0.75 is usual."
            )
        if vocab_size is not None:
            if vocab_size < 2:
                raise ConfigError(
                    f"The vocabulary has {vocab_size} word(s); word2vec needs at least two distinct "
                    "words. Lower min_count or use a larger corpus."
                )
            if self.loss == "negative" and self.negative >= vocab_size:
                raise ConfigError(
                    f"negative={self.negative} noise words per pair needs a vocabulary larger than "
                    f"that, but it has {vocab_size} words. Use fewer negatives or a larger corpus."
                )
