"""The audit store on SQLite and PostgreSQL: idempotent, hash-chained, tamper-evident, gallring."""

from __future__ import annotations

import datetime as dt

import pytest
from audit_support import ADVISORY, ANONYMISED, CATALOG, INDIVIDUAL, NOW, decision
from sqlalchemy import text

from iub_audit.app import level_and_topic, prepare_record
from iub_audit.domain.records import build_decision_record
from iub_audit.store import AuditStore

pytestmark = pytest.mark.postgres


def write(store: AuditStore, kommun_insats, n: int = 1) -> list:
    out = []
    for _ in range(n):
        msg = decision(*kommun_insats)
        level, topic = level_and_topic(CATALOG, msg.kommun, msg.insats_id, NOW.date())
        body, pnr = prepare_record(build_decision_record(msg, level, topic))
        out.append(store.append(body, personnummer=pnr, now=NOW))
    return out


def test_a_redelivered_record_is_stored_once(store):
    msg = decision(*INDIVIDUAL)
    body, pnr = prepare_record(build_decision_record(msg, *level_and_topic(CATALOG, msg.kommun, msg.insats_id,
                                                                             NOW.date())))
    first = store.append(body, personnummer=pnr, now=NOW)
    again = store.append(body, personnummer=pnr, now=NOW)
    assert first.created and not again.created
    assert (first.seq, first.hash) == (again.seq, again.hash)
    assert store.count(request_id=str(msg.request_id)) == 1


def test_records_chain_per_kommun_and_verify_intact(store):
    write(store, INDIVIDUAL, 3)
    write(store, ANONYMISED, 2)
    write(store, ADVISORY, 2)
    assert store.verify() == {"ostersund": None, "jamtland-lansverksamheter": None, "mellerud": None}
    heads = {h["kommun"]: h["seq"] for h in store.checkpoint()}
    assert heads == {"ostersund": 3, "jamtland-lansverksamheter": 2, "mellerud": 2}


def _exec(store: AuditStore, sql: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


@pytest.mark.parametrize(
    ("tamper", "broken_at"),
    [
        ("UPDATE audit_records SET body = replace(body, 'akutboendet', 'annat') WHERE kommun='ostersund' AND seq=3",
         3),
        ("UPDATE audit_records SET hash = :h WHERE kommun='ostersund' AND seq=2", 2),
        ("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=2", 2),
        ("DELETE FROM audit_records WHERE kommun='ostersund' AND seq=5", 5),
        ("UPDATE audit_records SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE kommun='ostersund' AND seq IN (2,3)",
         2),
        ("UPDATE audit_records SET personnummer = '199001011234', body = replace(body, '198112189876', "
         "'199001011234') WHERE kommun='ostersund' AND seq=4", 4),
    ],
    ids=["an altered record", "an altered hash", "a deleted record in the middle", "the deleted last record",
         "two records swapped", "an identity swapped for another"],
)
def test_tampering_is_detected_at_the_first_broken_link(store, tamper, broken_at):
    write(store, INDIVIDUAL, 5)
    if "seq = CASE" in tamper:
        # the unique (kommun, seq) constraint is checked per row: swap through a free seq
        _exec(store, "UPDATE audit_records SET seq = 1000 WHERE kommun='ostersund' AND seq=2")
        _exec(store, "UPDATE audit_records SET seq = 2 WHERE kommun='ostersund' AND seq=3")
        _exec(store, "UPDATE audit_records SET seq = 3 WHERE kommun='ostersund' AND seq=1000")
    else:
        _exec(store, tamper, h="f" * 64)
    assert store.verify("ostersund") == {"ostersund": broken_at}


def test_gallring_removes_content_and_identity_but_the_chain_still_verifies(store):
    write(store, INDIVIDUAL, 3)
    write(store, ADVISORY, 2)
    purged = store.purge(NOW.date() + dt.timedelta(days=1), levels=["individual"], now=NOW)
    assert purged == 3
    assert store.verify() == {"ostersund": None, "mellerud": None}
    assert store.export_person("198112189876") == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_records WHERE personnummer IS NOT NULL")).scalar() == 0
    # a purged record's hash can still not be altered unnoticed: the next record's link breaks
    _exec(store, "UPDATE audit_records SET hash = :h WHERE kommun='ostersund' AND seq=1", h="0" * 64)
    assert store.verify("ostersund") == {"ostersund": 2}


def test_partsinsyn_returns_only_individual_records_of_that_person(store):
    write(store, INDIVIDUAL, 2)
    write(store, ANONYMISED, 2)  # the same personnummer was given: dropped, never linkable
    write(store, ADVISORY, 1)
    rows = store.export_person("198112189876")
    assert len(rows) == 2
    assert {r["level"] for r in rows} == {"individual"}
    assert store.export_person("198112189876", kommuner=["sala"]) == []
