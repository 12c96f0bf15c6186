"""Who may see a run and who may manage it: the rules, in one place, for the app and the CLI.

A run belongs to the browser that started it. The browser keeps a random secret, its token
(`new_token`); the server only ever stores the token's SHA-256 (`owner_id`), as run.json's `owner`
(and a study's study.json, and an upload's `owners` file). A run without an owner was started from
the command line: only the operator manages it. The operator is whoever runs the server: the CLI
(`Viewer.OPERATOR`), or a browser session unlocked with the operator password
(`W2V_OPERATOR_PASSWORD`, checked by `PasswordGate`).

Rules (`may_view`, `may_manage`):
- its owner and the operator may manage a run: stop, resume, rename, delete, make it private;
- everyone may look at a run (its list row, link, vectors, card, export), unless its owner made it
  private: then it does not exist for anyone else, in no list, link or comparison.

Leaves out: where the token lives in the browser (`w2v_ui.viewer`) and the files (`run_folder`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from w2v_core.errors import AccessError

OWNER_KEY = "owner"  # run.json / study.json: SHA-256 (hex) of the owner's browser token, or null
PRIVATE_KEY = "private"  # run.json: true when only its owner (and the operator) may see it
OPERATOR_PASSWORD_ENV = "W2V_OPERATOR_PASSWORD"
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_OWNER_ID = re.compile(r"^[0-9a-f]{64}$")


def new_token() -> str:
    """A fresh browser token: a random secret the browser keeps and the server never stores."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: object) -> bool:
    """Whether `text` looks like a token `new_token` made (a cookie can hold anything)."""
    return isinstance(text, str) and bool(_TOKEN.match(text))


def owner_id(token: str) -> str:
    """What the server stores for a token: its SHA-256 in hex (the token itself never)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """Who is asking: the owner id of their browser (None when unknown), and whether they are the
    operator (the command line, or a browser session unlocked with the operator password)."""

    owner: str | None
    operator: bool = False

    OPERATOR: ClassVar[Viewer]
    NOBODY: ClassVar[Viewer]

    @classmethod
    def from_token(cls, token: str | None, operator: bool = False) -> Viewer:
        return cls(owner_id(token) if token else None, operator)


Viewer.OPERATOR = Viewer(None, operator=True)
Viewer.NOBODY = Viewer(None)


@dataclass(frozen=True)
class Ownership:
    """Whose a run (or study) is, as its JSON record says."""

    owner: str | None  # owner id; None: started from the command line
    private: bool = False

    @classmethod
    def of(cls, info: Mapping[str, Any] | Ownership) -> Ownership:
        """From a run.json / study.json dict (a malformed owner counts as no owner)."""
        if isinstance(info, Ownership):
            return info
        owner = info.get(OWNER_KEY)
        owner = owner if isinstance(owner, str) and _OWNER_ID.match(owner) else None
        return cls(owner, info.get(PRIVATE_KEY) is True)

    @property
    def from_command_line(self) -> bool:
        return self.owner is None


def owned_by(info: Mapping[str, Any] | Ownership, viewer: Viewer) -> bool:
    """Whether `viewer`'s browser started it (the operator owns nothing it did not start)."""
    owner = Ownership.of(info).owner
    return (
        owner is not None and viewer.owner is not None and hmac.compare_digest(owner, viewer.owner)
    )


def may_manage(info: Mapping[str, Any] | Ownership, viewer: Viewer) -> bool:
    """Stop, resume, rename, delete or make private: its owner and the operator."""
    return viewer.operator or owned_by(info, viewer)


def may_view(info: Mapping[str, Any] | Ownership, viewer: Viewer) -> bool:
    """See it at all (lists, links, vectors, card, export): anyone, unless it is private."""
    return not Ownership.of(info).private or may_manage(info, viewer)


def check_manage(
    info: Mapping[str, Any] | Ownership, viewer: Viewer, doing: str, title: str
) -> None:
    """Raise an `AccessError` saying who may, when `viewer` may not manage it (`doing`: 'stop')."""
    if may_manage(info, viewer):
        return
    if Ownership.of(info).from_command_line:
        raise AccessError(
            f"Run '{title}' was started from the command line: only the operator can {doing} it."
        )
    raise AccessError(f"Run '{title}' belongs to someone else: only they can {doing} it.")


def owner_label(info: Mapping[str, Any] | Ownership, viewer: Viewer) -> str:
    """'you', 'someone else' or 'started from the command line', for a runs table."""
    ownership = Ownership.of(info)
    if ownership.from_command_line:
        return "started from the command line"
    return "you" if owned_by(ownership, viewer) else "someone else"


# ---- the operator password ---------------------------------------------------------------------------
def operator_password() -> str | None:
    """The operator password the server was started with, or None (no operator in the app)."""
    return os.environ.get(OPERATOR_PASSWORD_ENV) or None


class PasswordGate:
    """Checks the operator password, with wrong tries limited.

    Each browser gets `max_failures` wrong tries per `window_seconds`; all browsers together get
    `max_total_failures` (a class cannot guess it by clearing cookies for new tokens). One instance
    per server process (the app keeps it as a cached resource); thread-safe.
    """

    def __init__(
        self,
        password: str | None,
        max_failures: int = 5,
        max_total_failures: int = 30,
        window_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._password = password.encode("utf-8") if password else None
        self._max_failures = max_failures
        self._max_total = max_total_failures
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._password is not None

    def _recent(self, who: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(who, []) if now - t < self._window]
        if kept:
            self._failures[who] = kept
        else:
            self._failures.pop(who, None)
        return kept

    def wait_seconds(self, who: str) -> float:
        """How long `who` must wait before the next try (0: may try now)."""
        with self._lock:
            return self._wait(who, self._clock())

    def _wait(self, who: str, now: float) -> float:
        mine = self._recent(who, now)
        everyone = sorted(t for key in list(self._failures) for t in self._recent(key, now))
        waits = [0.0]
        if len(mine) >= self._max_failures:
            waits.append(mine[-self._max_failures] + self._window - now)
        if len(everyone) >= self._max_total:
            waits.append(everyone[-self._max_total] + self._window - now)
        return max(waits)

    def check(self, attempt: str, who: str) -> bool:
        """Whether `attempt` is the password. Raises `AccessError` while `who` must wait, or when
        no password was set."""
        if self._password is None:
            raise AccessError(
                f"No operator password is set on this server (start it with "
                f"{OPERATOR_PASSWORD_ENV}=... to have one)."
            )
        with self._lock:
            now = self._clock()
            wait = self._wait(who, now)
            if wait > 0:
                raise AccessError(
                    f"Too many wrong passwords: try again in {int(wait) + 1} seconds."
                )
            right = hmac.compare_digest(attempt.encode("utf-8"), self._password)
            if not right:
                self._failures.setdefault(who, []).append(now)
            return right
