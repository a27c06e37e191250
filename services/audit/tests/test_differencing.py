"""`iub audit stats` cannot be differenced: a reader holding every query over one period pins no
small count.

The reader is a linear-programming attacker: the unknowns are the counts of the finest
cross-classification (insats × gender × outcome × age band), every published number is an
equality, ``<5`` bounds a sum to 1–4, ``x`` to at least 1, and for every hidden count it computes
the lowest and highest value consistent with *all* published tables (scipy's HiGHS). A count is
pinned when both bounds round to the same integer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import Counter

import pytest
from audit_support import FIGURES
from scipy.optimize import linprog

from iub_audit.domain.stats import dimension_values, follow_up, published_queries
from iub_audit.domain.suppression import SMALL, WITHHELD, suppress_one_way, suppress_two_way

DAY = dt.date(2025, 9, 10)
DIMS = ("insats", "gender", "outcome", "age_band")


def rows_of(table: Counter) -> list[tuple[str, str, dt.date, dict]]:
    """Anonymised decision records from counts of (insats, gender, outcome, age band)."""
    out = []
    for (insats, gender, outcome, age), n in table.items():
        body = {"channel": "app", "age_band": age, "legal_gender": gender, "outcome": outcome}
        out += [("anonymised", insats, DAY, body)] * n
    return out


def old_follow_up(rows, by):
    """What `iub audit stats` answered before: each query suppressed on its own."""
    counts: Counter = Counter()
    for level, insats, day, body in rows:
        v = dimension_values(level, insats, day, body)
        counts[tuple(v[d] for d in by)] += 1
    if len(by) == 2:
        r, c = sorted({k[0] for k in counts}), sorted({k[1] for k in counts})
        t = suppress_two_way(counts, r, c)
        return {"by": by, "cells": [{by[0]: a, by[1]: b, "count": t.cells[(a, b)]} for a in r for b in c],
                "row_totals": t.row_totals, "column_totals": t.column_totals, "total": t.total}
    keys = sorted(counts)
    t1 = suppress_one_way({k: counts[k] for k in keys})
    return {"by": by, "cells": [dict(zip(by, k, strict=True)) | {"count": t1.cells[k]} for k in keys],
            "total": t1.total}


def published_facts(result: dict) -> list[tuple[dict[str, str], object]]:
    """(condition on the dimensions, shown value) for every number a query published."""
    by = result["by"]
    facts = [({d: c[d] for d in by}, c["count"]) for c in result["cells"]]
    facts.append(({}, result["total"]))
    if "row_totals" in result:
        facts += [({by[0]: k}, v) for k, v in result["row_totals"].items()]
        facts += [({by[1]: k}, v) for k, v in result["column_totals"].items()]
    return facts


def pinned_small_cells(table: Counter, results: list[dict]) -> list[tuple[dict, int]]:
    """Hidden published counts of 1–4 that the LP reader pins to their true value."""
    # every combination of the values seen, not only those that occur: the reader knows no structural zeros
    cells = list(itertools.product(*(sorted({c[k] for c in table}) for k in range(len(DIMS)))))
    constant = {"month": DAY.strftime("%Y-%m"), "level": "anonymised", "channel": "app"}
    values = {c: dict(zip(DIMS, c, strict=True)) | constant for c in cells}

    def members(cond: dict[str, str]) -> list[int]:
        return [i for i, c in enumerate(cells) if all(values[c][d] == v for d, v in cond.items())]

    a_eq, b_eq, a_ub, b_ub, hidden = [], [], [], [], []
    for result in results:
        for cond, shown in published_facts(result):
            row = [0.0] * len(cells)
            for i in members(cond):
                row[i] = 1.0
            if isinstance(shown, int):
                a_eq.append(row)
                b_eq.append(shown)
            else:
                a_ub.append([-x for x in row])
                b_ub.append(-1)
                if shown == SMALL:
                    a_ub.append(row)
                    b_ub.append(4)
                hidden.append((cond, row))
    found, seen = [], set()
    for cond, row in hidden:
        key = tuple(sorted(cond.items()))
        truth = sum(table.get(c, 0) for i, c in enumerate(cells) if row[i])
        if key in seen or not 1 <= truth <= 4:
            continue
        seen.add(key)
        bounds = []
        for sign in (1, -1):
            lp = linprog([sign * x for x in row], A_ub=a_ub or None, b_ub=b_ub or None, A_eq=a_eq or None,
                         b_eq=b_eq or None, bounds=[(0, None)] * len(cells), method="highs")
            assert lp.status == 0, lp.message
            bounds.append(sign * lp.fun)
        lo, hi = bounds
        if math.ceil(lo - 1e-6) == math.floor(hi + 1e-6):
            found.append((cond, truth))
    return found


# insats A has few men, B few women, C and D are larger; outcomes and ages spread thinly
ATTACKED = Counter({
    ("a", "kvinna", "ja", "18-20"): 6, ("a", "kvinna", "nej", "21-29"): 6, ("a", "man", "ja", "18-20"): 3,
    ("b", "kvinna", "nej", "21-29"): 2, ("b", "man", "ja", "18-20"): 5, ("b", "man", "nej", "21-29"): 5,
    ("c", "kvinna", "ja", "21-29"): 8, ("c", "man", "nej", "18-20"): 9, ("c", "man", "ja", "21-29"): 1,
    ("d", "kvinna", "ja", "18-20"): 7, ("d", "man", "nej", "21-29"): 4, ("d", "kvinna", "nej", "18-20"): 6,
})
OLD_QUERIES = [["gender"], ["insats"], ["insats", "gender"], ["insats", "outcome"], ["gender", "outcome"],
               ["insats", "gender", "outcome"], ["insats", "gender", "outcome", "age_band"], ["age_band", "gender"]]


def test_the_differencing_attack_recovered_hidden_cells_before_and_recovers_none_now():
    rows = rows_of(ATTACKED)
    before = pinned_small_cells(ATTACKED, [old_follow_up(rows, q) for q in OLD_QUERIES])
    assert len(before) >= 4, before  # the attack works on queries suppressed one by one
    now_results = [follow_up(rows, q) for q in published_queries()]
    after = pinned_small_cells(ATTACKED, now_results)
    assert after == []
    FIGURES["differencing attack: small cells pinned before / now"] = f"{len(before)} / {len(after)}"
    for q in OLD_QUERIES:
        if q not in published_queries():
            with pytest.raises(ValueError):
                follow_up(rows, q)


def _random_table(rnd: random.Random) -> Counter:
    table: Counter = Counter()
    insatser = [f"i{k}" for k in range(rnd.randint(2, 4))]
    for key in itertools.product(insatser, ("kvinna", "man"), ("ja", "nej"), ("18-20", "21-29", "30-44")):
        if rnd.random() < 0.45:
            table[key] = rnd.choice([1, 1, 2, 3, 4, 5, 6, 8, 12])
    for k in range(rnd.randint(0, 2)):  # small insatser: their totals are hidden and shared by every table
        for _ in range(rnd.randint(1, 3)):
            who = (rnd.choice(("kvinna", "man")), rnd.choice(("ja", "nej")), rnd.choice(("18-20", "30-44")))
            table[(f"s{k}", *who)] += 1
    return table


@pytest.mark.parametrize("seed", range(40))
def test_a_brute_force_reader_over_every_published_query_pins_no_small_cell(seed):
    table = _random_table(random.Random(seed))
    if not table:
        return
    rows = rows_of(table)
    results = [follow_up(rows, q) for q in published_queries()]
    assert pinned_small_cells(table, results) == []
    hidden = sum(1 for r in results for _, v in published_facts(r) if v in (SMALL, WITHHELD))
    FIGURES["differencing: periods not broken down (refused)"] += bool(results[0].get("note"))
    FIGURES["differencing: random periods read, hidden counts checked"] += 1
    FIGURES["differencing: hidden published counts over all queries"] += hidden
