"""Follow-up statistics (uppföljning) at verksamhetsnivå from all three documentation levels (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from iub_audit.domain.age_band import age_band
from iub_audit.domain.suppression import SMALL, WITHHELD, suppress_one_way, suppress_two_way
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


def follow_up(rows: list[tuple[str, str, dt.date, dict]], by: list[str]) -> dict[str, Any]:
    """Counts by the chosen dimensions, with small-cell and complementary suppression.

    Two dimensions give a cross table with row, column and grand totals; one or more than two
    give a list with its total. Either way no hidden count can be recovered from what is shown.
    """
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by or len(set(by)) != len(by):
        raise ValueError(f"choose distinct dimensions among {', '.join(DIMENSIONS)}")
    counts: Counter[tuple[str, ...]] = Counter()
    for level, insats, day, body in rows:
        v = dimension_values(level, insats, day, body)
        counts[tuple(v[d] for d in by)] += 1
    if len(by) == 2:
        row_keys = sorted({k[0] for k in counts})
        col_keys = sorted({k[1] for k in counts})
        t = suppress_two_way(counts, row_keys, col_keys)
        return {
            "by": by,
            "cells": [{by[0]: r, by[1]: c, "count": t.cells[(r, c)]} for r in row_keys for c in col_keys],
            "row_totals": t.row_totals,
            "column_totals": t.column_totals,
            "total": t.total,
            "legend": LEGEND,
        }
    keys = sorted(counts)
    t1 = suppress_one_way({k: counts[k] for k in keys})
    return {
        "by": by,
        "cells": [dict(zip(by, k, strict=True)) | {"count": t1.cells[k]} for k in keys],
        "total": t1.total,
        "legend": LEGEND,
    }
