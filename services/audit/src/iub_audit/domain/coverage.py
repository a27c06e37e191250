"""Coverage of the 11 kap 6 § information duty, counted from the documentation itself (pure).

Counted per kommun, channel and day, never per request: 14 kap 4–5 § records carry no id that
pairs a decision with its information record, so the figures are counts. Every request has one
decision record (received) and, once notify has acted, one information record on the same day
as its decision (delivered or failed); what is neither is pending.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CoverageRow:
    """Received, informed, failed and pending for one kommun and channel over a period."""

    kommun: str
    channel: str
    received: int
    informed: int
    failed: int

    @property
    def pending(self) -> int:
        """Received but neither informed nor failed yet."""
        return max(self.received - self.informed - self.failed, 0)

    @property
    def unmatched(self) -> int:
        """Information records beyond the decisions (a decision not documented, e.g. refused): a finding."""
        return max(self.informed + self.failed - self.received, 0)

    @property
    def complete(self) -> bool:
        """Everyone received was informed."""
        return self.failed == 0 and self.pending == 0 and self.unmatched == 0

    def as_dict(self) -> dict[str, object]:
        """JSON-able, with the derived figures."""
        return {"kommun": self.kommun, "channel": self.channel, "received": self.received,
                "informed": self.informed, "failed": self.failed, "pending": self.pending,
                "unmatched": self.unmatched, "complete": self.complete}


def coverage(entries: Iterable[tuple[str, str, str, str | None]]) -> list[CoverageRow]:
    """Rows per (kommun, channel) from (kommun, channel, step, information status) of each record."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for kommun, channel, step, status in entries:
        if step not in ("decision", "information"):  # revisions and carrying-out steps are not contacts
            continue
        what = "received" if step == "decision" else ("informed" if status == "delivered" else "failed")
        counts[(kommun, channel, what)] += 1
    keys = sorted({(k, c) for k, c, _ in counts})
    return [CoverageRow(k, c, counts[(k, c, "received")], counts[(k, c, "informed")], counts[(k, c, "failed")])
            for k, c in keys]


def totals(rows: list[CoverageRow], kommun: str = "alla", channel: str = "alla") -> CoverageRow:
    """The sum of several rows."""
    return CoverageRow(kommun, channel, sum(r.received for r in rows), sum(r.informed for r in rows),
                       sum(r.failed for r in rows))
