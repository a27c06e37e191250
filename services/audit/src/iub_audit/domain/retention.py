"""Gallring: when a record has expired, per documentation level (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

LEVELS = ("individual", "anonymised", "advisory")


def cutoffs(today: dt.date, retention_days: Mapping[str, int], before: dt.date | None = None) -> dict[str, dt.date]:
    """Per level, the first day still kept: records of earlier days have expired.

    ``before`` narrows the purge to records before that day; it never shortens a level's
    retention (documentation must be kept as long as the board's retention says).
    """
    out = {level: today - dt.timedelta(days=retention_days[level]) for level in LEVELS}
    return out if before is None else {level: min(day, before) for level, day in out.items()}


def expired(cut: Mapping[str, dt.date], level: str, day: dt.date) -> bool:
    """Whether a record of a level and day is past its retention."""
    return day < cut[level]
