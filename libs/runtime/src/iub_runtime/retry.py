"""Retrying stream entries by time: what failed, how, and when to try it again.

An entry that could not be handled stays pending in its consumer group. Its retry state lives
in one Redis hash per stream and group, ``iub:retry:<stream>:<group>`` (field: the entry id,
value: JSON ``{"since": ms, "n": attempts, "due": ms, "last": ms, "error": type, "kind": kind}``), so every
process of the group and the operators (``iub ops status``: *waiting* = ``HLEN``) see the same
thing. ``kind`` is

- ``transient``: a database or connection error; retried until ``retry_max_age_hours`` (24 h),
- ``later``: the handler asked to be called again (e.g. a decision not documented yet, a
  delivery to retry on its own schedule); also bounded by the age only,
- ``error``: anything else (a bug); dead-lettered after ``max_deliveries`` attempts.

Entries that can never succeed (undecodable, refused by a PII guard) are not retried at all.
The back-off is exponential with jitter (tenacity's ``wait_exponential_jitter``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import SimpleNamespace

from redis import exceptions as redis_exc
from tenacity import wait_exponential_jitter

RETRY_KEY = "iub:retry:{stream}:{group}"

TRANSIENT = "transient"
LATER = "later"
ERROR = "error"

# exception modules whose errors are about the database or the connection, never about the entry
_TRANSIENT_MODULES = ("sqlalchemy.exc", "sqlite3", "psycopg", "psycopg.errors", "psycopg_pool")
_NOT_TRANSIENT = ("IntegrityError", "DataError", "ProgrammingError", "NotSupportedError")


def retry_key(stream: str, group: str) -> str:
    """The hash holding the retry state of a stream's entries in one group."""
    return RETRY_KEY.format(stream=stream, group=group)


def is_transient(exc: BaseException) -> bool:
    """A database or connection error: the entry itself is fine, try again later."""
    if isinstance(exc, redis_exc.ConnectionError | redis_exc.TimeoutError | redis_exc.BusyLoadingError
                  | redis_exc.ReadOnlyError | OSError | TimeoutError):
        return True
    names = {c.__name__ for c in type(exc).__mro__}
    if names & set(_NOT_TRANSIENT) and "OperationalError" not in names:
        return False
    return any(c.__module__ in _TRANSIENT_MODULES for c in type(exc).__mro__ if c is not BaseException)


@dataclass(frozen=True)
class Later:
    """A handler's answer for an entry it cannot finish now: leave it pending, try again after ``delay_s``."""

    error_type: str
    delay_s: float | None = None  # None: the runtime's back-off


class Poison(Exception):
    """An entry that can never succeed: dead-lettered at once, never retried."""


@dataclass(frozen=True)
class RetryState:
    """The retry state of one pending entry."""

    since_ms: int
    attempts: int
    due_ms: int
    error: str
    kind: str
    last_ms: int = 0

    def dumps(self) -> str:
        """JSON for the retry hash."""
        return json.dumps({"since": self.since_ms, "n": self.attempts, "due": self.due_ms, "last": self.last_ms,
                           "error": self.error, "kind": self.kind})

    @classmethod
    def loads(cls, raw: bytes | str | None) -> RetryState | None:
        """The state from the retry hash, or None."""
        if raw is None:
            return None
        try:
            d = json.loads(raw)
            return cls(int(d["since"]), int(d["n"]), int(d["due"]), str(d["error"]), str(d["kind"]),
                       int(d.get("last", d["since"])))
        except (ValueError, KeyError, TypeError):
            return None


class Backoff:
    """Exponential back-off with jitter: ``initial · 2^(n-1) + U(0, jitter)``, capped at ``max_s``."""

    def __init__(self, initial_s: float, max_s: float, jitter_s: float | None = None) -> None:
        self._wait = wait_exponential_jitter(multiplier=initial_s, max=max_s,
                                             jitter=initial_s if jitter_s is None else jitter_s)
        self.max_s = max_s

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure (1-based)."""
        return min(self.max_s, float(self._wait(SimpleNamespace(attempt_number=max(1, attempt)))))


def entry_ms(entry_id: str) -> int:
    """The time an entry was added (the first part of its id)."""
    try:
        return int(entry_id.split("-", 1)[0])
    except ValueError:
        return int(time.time() * 1000)


def next_state(entry_id: str, previous: RetryState | None, *, error: str, kind: str, delay_s: float,
               now_ms: int) -> RetryState:
    """The state after one more failed attempt."""
    since = previous.since_ms if previous else entry_ms(entry_id)
    attempts = (previous.attempts if previous else 0) + 1
    return RetryState(since, attempts, now_ms + int(delay_s * 1000), error, kind, now_ms)
