"""Follow-up statistics (uppföljning) at verksamhetsnivå from all three documentation levels."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from iub_audit.domain.age_band import age_band
from iub_audit.domain.suppression import HIDDEN, safe_total, suppress_list, suppress_table
from iub_eligibility.domain.age import age_on, birth_date_from_personnummer, legal_gender_from_personnummer

DIMENSIONS = ("insats", "month", "age_band", "gender", "outcome", "level")
NOT_DOCUMENTED = "ej dokumenterat"  # advisory records (14 kap 4 §) hold no personal circumstances


def dimension_values(level: str, insats: str, day: dt.date, body: dict[str, Any]) -> dict[str, str]:
    """The value of every dimension for one decision record."""
    values = {"insats": insats, "month": day.strftime("%Y-%m"), "level": level,
              "age_band": NOT_DOCUMENTED, "gender": NOT_DOCUMENTED, "outcome": NOT_DOCUMENTED}
    if level == "anonymised":
        values.update(age_band=body.get("age_band", "okänd"), gender=body.get("legal_gender", "okänt"),
                      outcome=body.get("outcome") or body.get("reason_codes", ["okänt"])[0])
    elif level == "individual":
        pnr = body["personnummer"]
        try:
            values["age_band"] = age_band(age_on(birth_date_from_personnummer(pnr), day))
        except ValueError:
            values["age_band"] = "okänd"
        values["gender"] = legal_gender_from_personnummer(pnr)
        values["outcome"] = body.get("outcome") or body.get("error_code") or "okänt"
    return values


def follow_up(rows: list[tuple[str, str, dt.date, dict]], by: list[str]) -> dict[str, Any]:
    """Counts by the chosen dimensions with small-cell and complementary suppression."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by:
        raise ValueError(f"choose dimensions among {', '.join(DIMENSIONS)}")
    counts: Counter = Counter()
    for level, insats, day, body in rows:
        v = dimension_values(level, insats, day, body)
        counts[tuple(v[d] for d in by)] += 1
    total = sum(counts.values())
    if len(by) == 2:
        row_keys = sorted({k[0] for k in counts})
        col_keys = sorted({k[1] for k in counts})
        full = {(r, c): counts.get((r, c), 0) for r in row_keys for c in col_keys}
        shown = suppress_table(full)
        cells = [{by[0]: r, by[1]: c, "count": shown[(r, c)]} for r, c in full]
        row_totals = {r: safe_total([shown[(r, c)] for c in col_keys], sum(full[(r, c)] for c in col_keys))
                      for r in row_keys}
        col_totals = {c: safe_total([shown[(r, c)] for r in row_keys], sum(full[(r, c)] for r in row_keys))
                      for c in col_keys}
        return {"by": by, "cells": cells, "row_totals": row_totals, "column_totals": col_totals,
                "total": total if total >= 5 else HIDDEN}
    flat = {" / ".join(k): v for k, v in counts.items()}
    shown = suppress_list(flat)
    cells = [dict(zip(by, k, strict=True)) | {"count": shown[" / ".join(k)]} for k in sorted(counts)]
    return {"by": by, "cells": cells, "total": total if total >= 5 else HIDDEN}
