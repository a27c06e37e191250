"""Uppföljning of the carrying out (pure): per insats and unit, the board's yearly tables.

Insatser are followed up at least yearly (Sala 3; DOMAIN.md): contacts, participants, started,
completed, ended early by reason; age band × legal gender; for 14 kap 5 § the change from start to
end; advisory counts by topic (14 kap 4 §). Every table is published with the same small-cell and
complementary suppression as ``iub audit stats`` (``suppression``): 1–4 as ``<5``, ``x`` where a
count would reveal one, zeros shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from iub_audit.domain.age_band import age_band
from iub_audit.domain.suppression import suppress_one_way, suppress_two_way
from iub_contracts.records import AGE_BANDS

GENDERS = ("kvinna", "man", "okänt")
MONTHS = tuple(range(1, 13))


@dataclass(frozen=True)
class EventRow:
    """One documented carrying-out event (or advisory count) with what its case allows to count by."""

    case_id: str
    insats_id: str
    unit: str
    level: str
    kind: str
    day: dt.date
    details: dict[str, Any]
    age_band: str = "okänd"
    gender: str = "okänt"


def band_and_gender(personnummer: str | None, on: dt.date) -> tuple[str, str]:
    """Age band at a day and legal gender from a 12-digit personnummer (samordningsnummer: day + 60)."""
    if not personnummer or len(personnummer) != 12 or not personnummer.isdigit():
        return "okänd", "okänt"
    y, m, d = int(personnummer[:4]), int(personnummer[4:6]), int(personnummer[6:8])
    d = d - 60 if d > 60 else d
    try:
        born = dt.date(y, m, d)
    except ValueError:
        return "okänd", "okänt"
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return age_band(age), "man" if int(personnummer[10]) % 2 else "kvinna"


@dataclass
class _Insats:
    level: str
    contacts: int = 0
    contact_minutes: int = 0
    started: set[str] = field(default_factory=set)
    ended: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    people: dict[str, tuple[str, str]] = field(default_factory=dict)
    start_month: dict[str, int] = field(default_factory=dict)
    at_start: dict[str, dict[str, Any]] = field(default_factory=dict)
    at_end: dict[str, dict[str, Any]] = field(default_factory=dict)
    topics: Counter = field(default_factory=Counter)


def _change(a: int, b: int) -> str:
    return "bättre" if b > a else "sämre" if b < a else "oförändrat"


def followup(rows: list[EventRow], year: int, reasons: list[str]) -> dict[str, Any]:
    """The follow-up of one kommun's year: per (insats, unit) the suppressed tables."""
    by: dict[tuple[str, str], _Insats] = {}
    for r in sorted(rows, key=lambda r: r.day):
        if r.day.year != year:
            continue
        s = by.setdefault((r.insats_id, r.unit), _Insats(r.level))
        if r.kind == "count":
            n = int(r.details.get("count", 0))
            s.contacts += n
            s.topics[str(r.details.get("topic", "okänt"))] += n
        elif r.kind == "contact":
            s.contacts += 1
            s.contact_minutes += int(r.details.get("minutes") or 0)
        elif r.kind == "start":
            s.started.add(r.case_id)
            s.people[r.case_id] = (r.age_band, r.gender)
            s.start_month[r.case_id] = r.day.month
            s.at_start[r.case_id] = r.details
        elif r.kind == "end":
            s.ended[r.case_id] = (str(r.details.get("end")), r.details.get("reason"))
            s.at_end[r.case_id] = r.details
            s.people.setdefault(r.case_id, (r.age_band, r.gender))
    return {"year": year, "insatser": [_publish(k, s, reasons) for k, s in sorted(by.items())],
            "legend": {"<5": "1–4", "x": "dold för att skydda en liten cell"}}


def _publish(key: tuple[str, str], s: _Insats, reasons: list[str]) -> dict[str, Any]:
    insats, unit = key
    out: dict[str, Any] = {"insats_id": insats, "unit": unit, "level": s.level}
    if s.level == "advisory":
        topics = suppress_one_way(dict(sorted(s.topics.items())))
        out["advisory_by_topic"] = {"cells": topics.cells, "total": topics.total}
        return out
    contacts = suppress_one_way({"kontakter": s.contacts})
    out["contacts"] = contacts.cells["kontakter"]
    # the outcome of every participant of the year: one row per state, totals = participants
    cols = ["completed", *(f"ended_early:{r}" for r in reasons), "never_started", "ongoing"]
    outcome: Counter = Counter()
    for case in set(s.started) | set(s.ended):
        end = s.ended.get(case)
        col = "ongoing" if end is None else (f"ended_early:{end[1]}" if end[0] == "ended_early" else end[0])
        outcome[("deltagare", col)] += 1
    t = suppress_two_way(outcome, ["deltagare"], cols)
    out["participants"] = t.total
    out["started"] = suppress_one_way({"started": len(s.started)}).cells["started"]
    out["outcome"] = {c: t.cells[("deltagare", c)] for c in cols}
    ended = sum(v for (_, c), v in outcome.items() if c != "ongoing")
    completed = outcome[("deltagare", "completed")]
    early = ended - completed
    # a share is published only when both its parts are (0 or at least 5): it cannot reveal a small count
    safe = ended >= 5 and all(v == 0 or v >= 5 for v in (completed, early))
    out["share_completed"] = round(completed / ended, 3) if safe else None
    ag: Counter = Counter()
    for band, gender in s.people.values():
        ag[(band, gender)] += 1
    bands = [b for b in AGE_BANDS if any(k[0] == b for k in ag)]
    t2 = suppress_two_way(ag, bands, list(GENDERS))
    out["age_gender"] = {"rows": bands, "columns": list(GENDERS),
                         "cells": {f"{b}|{g}": t2.cells[(b, g)] for b in bands for g in GENDERS},
                         "row_totals": t2.row_totals, "column_totals": t2.column_totals, "total": t2.total}
    months = suppress_one_way({m: sum(1 for v in s.start_month.values() if v == m) for m in MONTHS})
    out["participants_per_month"] = {str(m): months.cells[m] for m in MONTHS}
    if s.level == "anonymised":
        change: Counter = Counter()
        for case, end in s.at_end.items():
            start = s.at_start.get(case)
            if not start:
                continue
            for scale, b in (end.get("scales") or {}).items():
                a = (start.get("scales") or {}).get(scale)
                if a is not None:
                    change[(f"skala:{scale}", _change(int(a), int(b)))] += 1
            if start.get("situation") and end.get("situation"):
                same = start["situation"] == end["situation"]
                change[("situation", "oförändrat" if same else "ändrad")] += 1
        rows_ = sorted({k[0] for k in change})
        cols_ = ["bättre", "oförändrat", "sämre", "ändrad"]
        t3 = suppress_two_way(change, rows_, cols_) if rows_ else None
        out["change_start_to_end"] = {} if t3 is None else {
            r: {c: t3.cells[(r, c)] for c in cols_ if not (r.startswith("skala") and c == "ändrad")
                and not (r == "situation" and c in ("bättre", "sämre"))} for r in rows_}
    return out
