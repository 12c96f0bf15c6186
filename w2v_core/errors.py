"""User-facing errors of the core.

Every error a person can cause (bad corpus, impossible settings, unknown word) is a subclass of
`W2VError` whose message is one plain sentence saying what happened and what to do. The CLI prints
that sentence and exits non-zero; the app shows it in an error box. Programming errors stay ordinary
Python exceptions.
"""

from __future__ import annotations


class W2VError(Exception):
    """Base class for errors whose message is meant for the person using the tool."""


class ConfigError(W2VError, ValueError):
    """A setting (or a combination of settings) that cannot work."""


class CorpusError(W2VError, ValueError):
    """The input text cannot be used: empty, unreadable, or nothing left after filtering."""


class SourceError(CorpusError):
    """A data source cannot be loaded: unknown corpus, offline Hub, unreadable or oversized upload."""


class DataChangedError(SourceError):
    """The data a run was made from is still there, but its text differs (another fingerprint)."""


class TrainingDivergedError(W2VError, RuntimeError):
    """The loss became NaN or infinite during training."""


class RunFolderError(W2VError, OSError):
    """A run folder is missing, incomplete or not a run folder at all."""


class UnknownWordError(W2VError, KeyError):
    """A word that is not in the vocabulary; carries close vocabulary words as suggestions."""

    def __init__(self, word: str, suggestions: list[str] | None = None) -> None:
        self.word = word
        self.suggestions = list(suggestions or [])
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"'{word}' is not in the vocabulary.{hint}")

    def __str__(self) -> str:  # KeyError would otherwise print the repr with quotes
        return str(self.args[0])


class AccessError(W2VError, PermissionError):
    """Someone may not do this to a run: it belongs to someone else (`w2v_core.ownership`)."""


class DeviceError(W2VError, RuntimeError):
    """The GPU cannot be used: no CUDA build or driver, a driver that does not match, a failed start."""


class DeviceMemoryError(DeviceError):
    """Training needs more memory on the device than it has; says how much and what to shrink."""
