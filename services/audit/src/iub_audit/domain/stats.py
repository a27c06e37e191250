"""Follow-up statistics (uppföljning) at verksamhetsnivå from all three documentation levels (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from iub_audit.domain.age_band import age_band
from iub_audit.domain.published import HUB, publish
from iub_audit.domain.suppression import SMALL, WITHHELD
from iub_eligibility.domain.age import age_on, birth_date_from_personnummer, legal_gender_from_personnummer

DIMENSIONS = ("insats", "month", "age_band", "gender", "outcome", "level", "channel")
NOT_DOCUMENTED = "ej dokumenterat"  # advisory records (14 kap 4 §) hold no personal circumstances
LEGEND = {SMALL: "1–4 (dolt)", WITHHELD: "dolt för att skydda en annan cell (minst 1)"}


def dimension_values(level: str, insats: str, day: dt.date, body: dict[str, Any]) -> dict[str, str]:
    """The value of every dimension for one decision record."""
    values = {"insats": insats, "month": day.strftime("%Y-%m"), "level": level, "channel": body.get("channel", "?"),
              "age_band": NOT_DOCUMENTED, "gender": NOT_DOCUMENTED, "outcome": NOT_DOCUMENTED}
    if level == "anonymised":
        codes = body.get("reason_codes") or ["okänt"]
        values.update(age_band=body.get("age_band", "okänd"), gender=body.get("legal_gender", "okänt"),
                      outcome=body.get("outcome") or codes[0])
    elif level == "individual":
        pnr = body["personnummer"]
        try:  # the age on the day of the contact, in bands only (never the exact age)
            values["age_band"] = age_band(age_on(birth_date_from_personnummer(pnr), day))
            values["gender"] = legal_gender_from_personnummer(pnr)
        except ValueError:
            values["age_band"], values["gender"] = "okänd", "okänt"
        values["outcome"] = body.get("outcome") or body.get("error_code") or "okänt"
    return values


OTHERS = tuple(d for d in DIMENSIONS if d != HUB)


def period_counts(rows: list[tuple[str, str, dt.date, dict]]) -> tuple[dict[str, Counter], Counter]:
    """Per dimension other than insats the counts of (insats, value), and the people (insats, all values)."""
    counts: dict[str, Counter] = {d: Counter() for d in OTHERS}
    people: Counter = Counter()
    for level, insats, day, body in rows:
        v = dimension_values(level, insats, day, body)
        for d in counts:
            counts[d][(insats, v[d])] += 1
        people[(insats, tuple(v[d] for d in OTHERS))] += 1
    return counts, people


def published_queries() -> list[list[str]]:
    """Every --by a period answers: insats, each dimension alone, and insats crossed with each."""
    others = [d for d in DIMENSIONS if d != HUB]
    return [[HUB], *([d] for d in others), *([HUB, d] for d in others), *([d, HUB] for d in others)]


def follow_up(rows: list[tuple[str, str, dt.date, dict]], by: list[str]) -> dict[str, Any]:
    """Counts by the chosen dimensions, answered from the period's fixed set of protected tables.

    Every query over a period reads the same published tables (see ``published``), so comparing
    or subtracting two queries recovers no hidden count. Two dimensions give a cross table with
    row, column and grand totals; one gives a list with its total.
    """
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by or len(set(by)) != len(by):
        raise ValueError(f"choose distinct dimensions among {', '.join(DIMENSIONS)}")
    if by not in published_queries():
        raise ValueError("published per period: insats, one dimension, or insats crossed with one dimension "
                         "(e.g. --by insats,gender); other combinations could be differenced")
    counts, people = period_counts(rows)
    pub = publish(counts, OTHERS, people)
    base = {"by": by, "legend": LEGEND}
    if pub.too_small:
        return base | {"cells": [], "total": pub.total, "note": pub.reason}
    if by == [HUB]:
        return base | {"cells": [{HUB: k, "count": v} for k, v in pub.hub.items()], "total": pub.total}
    other = by[0] if by[1:] == [] or by[0] != HUB else by[1]
    t = pub.cross[other]
    if len(by) == 1:
        return base | {"cells": [{other: c, "count": t.column_totals[c]} for c in t.cols], "total": t.total}
    if by[0] == HUB:
        return base | {"cells": [{HUB: r, other: c, "count": t.cells[(r, c)]} for r in t.rows for c in t.cols],
                       "row_totals": t.row_totals, "column_totals": t.column_totals, "total": t.total}
    return base | {"cells": [{other: c, HUB: r, "count": t.cells[(r, c)]} for c in t.cols for r in t.rows],
                   "row_totals": t.column_totals, "column_totals": t.row_totals, "total": t.total}
