"""Follow-up statistics from all three levels, suppressed before anything is shown."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_support import ADVISORY, ANONYMISED, INDIVIDUAL, KEYS, NOW, decision, write

from iub_audit.domain.documenting import Prepared, document_decision
from iub_audit.domain.stats import NOT_DOCUMENTED, dimension_values, follow_up
from iub_audit.domain.suppression import SMALL, WITHHELD


def body_of(kommun_insats, **kw) -> dict:
    from audit_support import CATALOG

    record = document_decision(CATALOG, decision(*kommun_insats, **kw), KEYS).record
    assert isinstance(record, Prepared)
    return record.body


@pytest.mark.parametrize(
    ("kommun_insats", "expected"),
    [
        (INDIVIDUAL, {"level": "individual", "age_band": "30-44", "gender": "man"}),
        (ANONYMISED, {"level": "anonymised", "age_band": "30-44", "gender": "man"}),
        (ADVISORY, {"level": "advisory", "age_band": NOT_DOCUMENTED, "gender": NOT_DOCUMENTED,
                    "outcome": NOT_DOCUMENTED}),
    ],
    ids=["individual records give age band and gender from the identity",
         "anonymised records give their own age band and gender",
         "advisory records hold no personal circumstances to count"],
)
def test_each_level_contributes_what_it_documents(kommun_insats, expected):
    body = body_of(kommun_insats)
    values = dimension_values(body["level"], body["insats_id"], dt.date.fromisoformat(body["day"]), body)
    assert {k: values[k] for k in expected} == expected
    assert values["month"] == "2025-09"


def test_unknown_or_repeated_dimensions_are_refused():
    for by in (["insats", "weekday"], [], ["insats", "insats"]):
        with pytest.raises(ValueError):
            follow_up([], by)


def rows(store, kommun: str):
    return store.rows_for_stats(kommun, dt.date(2025, 9, 1), dt.date(2025, 9, 30))


def test_a_list_hides_small_counts_and_a_partner(store):
    write(store, INDIVIDUAL, 7)
    write(store, ("ostersund", "bra-samtal-vuxen"), 3)
    write(store, ("ostersund", "biffsamtal"), 9)
    out = follow_up(rows(store, "ostersund"), ["insats"])
    shown = {c["insats"]: c["count"] for c in out["cells"]}
    assert shown == {"akutboendet": WITHHELD, "bra-samtal-vuxen": SMALL, "biffsamtal": 9}
    assert out["total"] == 19


def test_a_cross_table_publishes_totals_no_hidden_count_can_be_recovered_from(store):
    write(store, INDIVIDUAL, 7)
    write(store, ("ostersund", "bra-samtal-vuxen"), 3)
    out = follow_up(rows(store, "ostersund"), ["insats", "level"])
    cells = {(c["insats"], c["level"]): c["count"] for c in out["cells"]}
    # the hidden insats total <5 is protected by one alternative every published table realises:
    # here through the 7, which is withheld too
    assert cells == {("akutboendet", "advisory"): 0, ("akutboendet", "individual"): WITHHELD,
                     ("bra-samtal-vuxen", "advisory"): SMALL, ("bra-samtal-vuxen", "individual"): 0}
    # the small cell is alone in its row and column: its totals must go too, and what protects them
    assert out["row_totals"]["bra-samtal-vuxen"] == SMALL and out["column_totals"]["advisory"] == SMALL
    assert out["total"] == WITHHELD or cells[("akutboendet", "individual")] == WITHHELD


def test_records_outside_the_period_or_emptied_by_gallring_are_not_counted(store):
    write(store, INDIVIDUAL, 5)
    write(store, INDIVIDUAL, 5, at=NOW + dt.timedelta(days=40))
    out = follow_up(rows(store, "ostersund"), ["month"])
    assert out["cells"] == [{"month": "2025-09", "count": 5}] and out["total"] == 5
