"""Carrying-out events in the audit store: one transaction writes the event index row, the chain
record at the insats's level and the case status, or nothing at all.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.engine import Engine

from iub_audit.cases import set_case_status
from iub_audit.domain.chain import canonical_json, sha256_hex
from iub_audit.schema import case_events
from iub_audit.store import AuditStore

__all__ = ["EventReplay", "document", "events_of", "find", "purge_events"]


class EventReplay(Exception):
    """The event id was used before for different content (409)."""


def decision_body(engine: Engine, case_id: str) -> dict[str, Any] | None:
    """The case's first decision record (its id is the case id), chained or still staged."""
    from iub_audit.schema import records, staged

    with engine.connect() as conn:
        for t in (records, staged):
            r = conn.execute(select(t.c.body).where(t.c.request_id == case_id, t.c.step == "decision")).first()
            if r is not None and r[0]:
                return json.loads(r[0])
    return None


def digest(body: Any) -> str:
    """SHA-256 of an input model's canonical JSON (what idempotency compares)."""
    return sha256_hex(canonical_json(body.model_dump(mode="json")))


def find(engine: Engine, event_id: str) -> dict[str, Any] | None:
    """The event row of an id, or None."""
    with engine.connect() as conn:
        r = conn.execute(select(case_events).where(case_events.c.event_id == event_id)).first()
    return None if r is None else dict(r._mapping)


def events_of(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    """A case's events in order (date, then start < contact < end)."""
    order = {"start": 0, "contact": 1, "end": 2}
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(case_events).where(case_events.c.case_id == case_id))]
    for r in rows:
        r["details"] = json.loads(r["details"])
        r["day"] = r["day"] if isinstance(r["day"], dt.date) else dt.date.fromisoformat(str(r["day"]))
    return sorted(rows, key=lambda r: (order.get(r["kind"], 3), r["day"]))


def document(store: AuditStore, *, row: dict[str, Any], item: tuple, status: str | None,
             now: dt.datetime) -> bool:
    """Write the event row, the chain record and the case status together; False when the id was used before
    with the same content (nothing written), EventReplay when with other content."""
    body, personnummer, aliases = item
    with store.engine.begin() as conn:
        seen = conn.execute(select(case_events).where(case_events.c.event_id == row["event_id"])).first()
        if seen is not None:
            if seen.body_sha256 != row["body_sha256"] or seen.case_id != row["case_id"]:
                raise EventReplay("event_id")
            return False
        conn.execute(insert(case_events).values(**row))
        store._append(conn, body, personnummer, now, aliases)  # noqa: SLF001 - same transaction
        if status is not None:
            set_case_status(conn, row["case_id"], status, now)
    return True


def purge_events(engine: Engine, cutoffs: dict[str, dt.date]) -> int:
    """Gallring of the event index with the records: rows older than their level's cutoff go."""
    if not cutoffs:
        return 0
    with engine.begin() as conn:
        clause = or_(*(and_(case_events.c.level == lvl, case_events.c.day < day) for lvl, day in cutoffs.items()))
        return conn.execute(delete(case_events).where(clause)).rowcount or 0


def followup_rows(engine: Engine, kommun: str, year: int, insats_id: str | None = None) -> list:
    """The kommun's carrying-out events of a year with what each case allows to count by (age band, gender)."""
    from iub_audit.domain.followup import EventRow, band_and_gender
    from iub_audit.schema import cases

    q = (select(case_events, cases.c.personnummer, cases.c.age_band, cases.c.legal_gender)
         .select_from(case_events.outerjoin(cases, cases.c.case_id == case_events.c.case_id))
         .where(case_events.c.kommun == kommun, case_events.c.day >= dt.date(year, 1, 1),
                case_events.c.day <= dt.date(year, 12, 31)))
    if insats_id:
        q = q.where(case_events.c.insats_id == insats_id)
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q):
            day = r.day if isinstance(r.day, dt.date) else dt.date.fromisoformat(str(r.day))
            details = json.loads(r.details)
            if r.level == "individual":
                band, gender = band_and_gender(r.personnummer, day)
            else:  # 14 kap 5 §: as documented in the decision record, carried on the event row
                band = details.pop("age_band", None) or r.age_band or "okänd"
                gender = details.pop("legal_gender", None) or r.legal_gender or "okänt"
            out.append(EventRow(case_id=r.case_id, insats_id=r.insats_id, unit=r.unit, level=r.level, kind=r.kind,
                                day=day, details=details, age_band=band, gender=gender))
    return out


def individual_ends(engine: Engine) -> list[tuple[str, str, str, str, dt.date]]:
    """(kommun, personnummer, insats, unit, end day) of every documented 14 kap 3 § end (not never_started)."""
    from iub_audit.schema import cases

    q = (select(case_events.c.kommun, cases.c.personnummer, case_events.c.insats_id, case_events.c.unit,
                case_events.c.day, case_events.c.details)
         .select_from(case_events.join(cases, cases.c.case_id == case_events.c.case_id))
         .where(case_events.c.kind == "end", case_events.c.level == "individual", cases.c.personnummer.is_not(None)))
    with engine.connect() as conn:
        return [(r.kommun, r.personnummer, r.insats_id, r.unit,
                 r.day if isinstance(r.day, dt.date) else dt.date.fromisoformat(str(r.day)))
                for r in conn.execute(q) if json.loads(r.details).get("end") != "never_started"]
