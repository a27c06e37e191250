"""Proof of the 11 kap 6 § duty: requests received vs information delivered, failed or pending.

Every request received in a period ends in exactly one bucket:
- delivered: an 'information given' event with status delivered;
- failed: only failed events (the delivery failed after its retries and was dead-lettered);
- dead_lettered: no event, but the request sits in a dead-letter stream (stuck upstream or in notify);
- pending: nothing yet — still on its way, or lost (which is what this report is for).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from iub_contracts.calendar import SWEDEN


class Received(NamedTuple):
    """A request on iub.intake.requested.v1 (only its id and kommun are read)."""

    request_id: str
    kommun: str


class Given(NamedTuple):
    """An event on iub.notify.information-given.v1."""

    request_id: str
    kommun: str
    status: str  # 'delivered' or 'failed'


@dataclass(frozen=True)
class Coverage:
    """The figures for one kommun (or all) over one period; request ids only, no personal data."""

    kommun: str | None
    received: int
    delivered: int
    failed: int
    dead_lettered: int
    pending: int
    failed_without_dead_letter: int = 0
    failed_ids: tuple[str, ...] = field(default=())
    dead_lettered_ids: tuple[str, ...] = field(default=())
    pending_ids: tuple[str, ...] = field(default=())

    @property
    def delivered_pct(self) -> float:
        """Share delivered, in percent (100 when nothing was received)."""
        return 100.0 if not self.received else round(100.0 * self.delivered / self.received, 2)

    @property
    def accounted_pct(self) -> float:
        """Share delivered or explicitly failed and dead-lettered, in percent."""
        if not self.received:
            return 100.0
        return round(100.0 * (self.received - self.pending) / self.received, 2)

    @property
    def complete(self) -> bool:
        """Every request got the information or an explicit, dead-lettered failure."""
        return self.pending == 0 and self.failed_without_dead_letter == 0


def count_coverage(
    received: Iterable[Received],
    given: Iterable[Given],
    dead_lettered: Iterable[str],
    kommun: str | None = None,
) -> Coverage:
    """Put each received request (of one kommun, or all) into exactly one bucket."""
    ids = list(dict.fromkeys(r.request_id for r in received if kommun is None or r.kommun == kommun))
    statuses: dict[str, set[str]] = {}
    for g in given:
        statuses.setdefault(g.request_id, set()).add(g.status)
    letters = set(dead_lettered)
    delivered, failed, stuck, pending = [], [], [], []
    for rid in ids:
        s = statuses.get(rid, set())
        if "delivered" in s:
            delivered.append(rid)
        elif s:
            failed.append(rid)
        elif rid in letters:
            stuck.append(rid)
        else:
            pending.append(rid)
    return Coverage(
        kommun=kommun,
        received=len(ids),
        delivered=len(delivered),
        failed=len(failed),
        dead_lettered=len(stuck),
        pending=len(pending),
        failed_without_dead_letter=sum(1 for rid in failed if rid not in letters),
        failed_ids=tuple(failed),
        dead_lettered_ids=tuple(stuck),
        pending_ids=tuple(pending),
    )


def _bound(text: str, *, end: bool) -> dt.datetime:
    """A day ('2025-09-01', a whole Swedish day) or an instant ('2025-09-01T12:00+02:00')."""
    if "T" not in text and " " not in text:
        day = dt.date.fromisoformat(text)
        start = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(), SWEDEN)
        return start - dt.timedelta(milliseconds=1) if end else start
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=SWEDEN)


def stream_id_range(start: str | None, end: str | None) -> tuple[str, str]:
    """XRANGE bounds for a period: days are Swedish calendar days, both ends inclusive."""
    lo = "-" if not start else str(int(_bound(start, end=False).timestamp() * 1000))
    # an id without a sequence part means seq 0 as a start and the highest seq as an end
    hi = "+" if not end else str(int(_bound(end, end=True).timestamp() * 1000))
    return lo, hi
