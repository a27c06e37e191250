"""The provider cases in the audit store: written when audit documents a decision or a revision,
read by the provider API (inbox, case view), facts recorded once per event id.

The durable store is the source of truth for the inbox: Redis streams are trimmed after 72 h,
an insats can run for months.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from iub_audit.domain.cases import CARRIED_OUT
from iub_audit.schema import case_revisions, cases, provider_events
from iub_contracts.provider import CaseStatus

__all__ = ["CaseRow", "EventConflict", "find_event", "get_case", "insert_cases", "list_cases", "record_facts",
           "record_revision", "revisions_of", "set_case_status"]


class EventConflict(Exception):
    """The event id was used before for different content (409)."""


@dataclass(frozen=True)
class CaseRow:
    """One row of audit_cases, decoded."""

    case_id: str
    kommun: str
    insats_id: str
    unit: str
    level: str
    status: str
    revision: int
    outcome: str | None
    request_day: dt.date
    channel: str
    language: str
    updated_at: dt.datetime
    personnummer: str | None
    age_band: str | None
    legal_gender: str | None
    reason_codes: list[str]
    facts: dict | None
    decision: dict | None
    confirmations: dict[str, dict]
    child_consent: bool | None


def _row(r) -> CaseRow:
    day = r.request_day if isinstance(r.request_day, dt.date) else dt.date.fromisoformat(str(r.request_day))
    return CaseRow(case_id=r.case_id, kommun=r.kommun, insats_id=r.insats_id, unit=r.unit, level=r.level,
                   status=r.status, revision=r.revision, outcome=r.outcome, request_day=day, channel=r.channel,
                   language=r.language, updated_at=r.updated_at, personnummer=r.personnummer,
                   age_band=r.age_band, legal_gender=r.legal_gender,
                   reason_codes=json.loads(r.reason_codes) if r.reason_codes else [],
                   facts=json.loads(r.facts) if r.facts else None,
                   decision=json.loads(r.decision) if r.decision else None,
                   confirmations=json.loads(r.confirmations or "{}"), child_consent=r.child_consent)


def stamp(level: str, now: dt.datetime) -> dt.datetime:
    """updated_at as kept: to the second at 14 kap 3 §, the day's start otherwise (no arrival order)."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    return now if level == "individual" else dt.datetime.combine(now.date(), dt.time(0), dt.UTC)


def insert_cases(engine: Engine, items: list[tuple[dict[str, Any], dt.date]], now: dt.datetime) -> int:
    """The cases of first decisions (revision 0), each once, in one transaction; returns how many were new."""
    if not items:
        return 0
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                ids = [v["case_id"] for v, _ in items]
                have = {r[0] for r in conn.execute(select(cases.c.case_id).where(cases.c.case_id.in_(ids)))}
                new = 0
                for values, decided_on in items:
                    if values["case_id"] in have:
                        continue
                    have.add(values["case_id"])
                    conn.execute(insert(cases).values(**values, updated_at=stamp(values["level"], now)))
                    conn.execute(insert(case_revisions).values(case_id=values["case_id"], revision=0,
                                                               outcome=values.get("outcome"), decided_on=decided_on))
                    new += 1
                return new
        except IntegrityError:  # another audit process wrote one of them first: look again
            continue
    return 0


def record_revision(engine: Engine, case_id: str, revision: int, values: dict[str, Any], decided_on: dt.date,
                    event_id: str | None) -> bool:
    """A revision of the case's decision; the earlier ones stay in audit_case_revisions. Idempotent.

    The case row takes the revision only when it is newer than what it shows (revisions may be
    handled out of order); a case being carried out keeps its status.
    """
    with engine.begin() as conn:
        if conn.execute(select(case_revisions.c.revision).where(case_revisions.c.case_id == case_id,
                                                                case_revisions.c.revision == revision)).first():
            return False
        conn.execute(insert(case_revisions).values(case_id=case_id, revision=revision, outcome=values.get("outcome"),
                                                   decided_on=decided_on, event_id=event_id))
        current = conn.execute(select(cases.c.revision, cases.c.status).where(cases.c.case_id == case_id)).first()
        if current is not None and current.revision < revision:
            if current.status in CARRIED_OUT:
                values = {k: v for k, v in values.items() if k != "status"}
            conn.execute(update(cases).where(cases.c.case_id == case_id).values(revision=revision, **values))
        return True


def get_case(engine: Engine, case_id: str) -> CaseRow | None:
    """One case, or None."""
    with engine.connect() as conn:
        r = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
    return None if r is None else _row(r)


def get_cases(engine: Engine, case_ids: list[str]) -> dict[str, CaseRow]:
    """Several cases by id (one query)."""
    if not case_ids:
        return {}
    with engine.connect() as conn:
        return {r.case_id: _row(r) for r in conn.execute(select(cases).where(cases.c.case_id.in_(case_ids)))}


def revisions_of(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    """The case's decisions in order (0: the first)."""
    with engine.connect() as conn:
        rows = conn.execute(select(case_revisions).where(case_revisions.c.case_id == case_id)
                            .order_by(case_revisions.c.revision)).all()
    return [{"revision": r.revision, "outcome": r.outcome, "decided_on": r.decided_on, "event_id": r.event_id}
            for r in rows]


def list_cases(engine: Engine, kommun: str, units: list[str], status: str | None = None, page: int = 1,
               page_size: int = 50) -> tuple[list[CaseRow], int]:
    """A page of the cases of a kommun's units (optionally one status), newest first, and the total."""
    where = [cases.c.kommun == kommun, cases.c.unit.in_(units)]
    if status is not None:
        where.append(cases.c.status == status)
    q = (select(cases).where(*where)
         .order_by(cases.c.request_day.desc(), cases.c.updated_at.desc(), cases.c.case_id)
         .limit(page_size).offset((page - 1) * page_size))
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(cases).where(*where)).scalar() or 0)
        return [_row(r) for r in conn.execute(q)], total


def set_case_status(conn_or_engine: Connection | Engine, case_id: str, status: CaseStatus | str,
                    now: dt.datetime | None = None) -> bool:
    """Set a case's status (carrying out: started, ended). At the end the facts kept for re-deciding go.

    Takes a connection (to join the caller's transaction) or an engine; False when there is no such case.
    """
    status = CaseStatus(status).value
    now = now or dt.datetime.now(dt.UTC)

    def run(conn: Connection) -> bool:
        level = conn.execute(select(cases.c.level).where(cases.c.case_id == case_id)).scalar()
        if level is None:
            return False
        values: dict[str, Any] = {"status": status, "updated_at": stamp(level, now)}
        if status == CaseStatus.ENDED.value:
            values["facts"] = None
        conn.execute(update(cases).where(cases.c.case_id == case_id).values(**values))
        return True

    if isinstance(conn_or_engine, Connection):
        return run(conn_or_engine)
    with conn_or_engine.begin() as conn:
        return run(conn)


def find_event(engine: Engine, event_id: str) -> dict[str, Any] | None:
    """A provider event already recorded under this id, or None."""
    with engine.connect() as conn:
        r = conn.execute(select(provider_events).where(provider_events.c.event_id == event_id)).first()
    return None if r is None else dict(r._mapping)


def record_facts(engine: Engine, *, case_id: str, event_id: str, body_sha256: str, facts: dict,
                 confirmations: dict[str, dict], child_consent: bool | None, now: dt.datetime) -> tuple[int, bool]:
    """Keep a provider's facts once per event id, in one transaction with the case's facts.

    Returns (the revision they lead to, whether the event was recorded before). The same event
    id with other content raises EventConflict; nothing is written then.
    """
    with engine.begin() as conn:
        seen = conn.execute(select(provider_events).where(provider_events.c.event_id == event_id)).first()
        if seen is not None:
            if seen.case_id != case_id or seen.body_sha256 != body_sha256 or seen.kind != "facts":
                raise EventConflict("event_id")
            return int(seen.revision), True
        before = int(conn.execute(select(func.count()).select_from(provider_events).where(
            provider_events.c.case_id == case_id, provider_events.c.kind == "facts")).scalar() or 0)
        revision = before + 1
        conn.execute(insert(provider_events).values(event_id=event_id, case_id=case_id, kind="facts",
                                                    body_sha256=body_sha256, revision=revision,
                                                    recorded_day=now.date()))
        level = conn.execute(select(cases.c.level).where(cases.c.case_id == case_id)).scalar()
        values: dict[str, Any] = {"facts": json.dumps(facts), "confirmations": json.dumps(confirmations),
                                  "updated_at": stamp(level or "individual", now)}
        if child_consent is not None:
            values["child_consent"] = child_consent
        conn.execute(update(cases).where(cases.c.case_id == case_id).values(**values))
        return revision, False


def documented_revisions(engine: Engine, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], tuple]:
    """(case id, revision) → (level, personnummer, request day) for revisions already documented."""
    if not wanted:
        return {}
    ids = sorted({c for c, _ in wanted})
    with engine.connect() as conn:
        q = select(case_revisions.c.case_id, case_revisions.c.revision).where(case_revisions.c.case_id.in_(ids))
        have = {(r.case_id, r.revision) for r in conn.execute(q)}
        rows = {r.case_id: r for r in conn.execute(select(cases.c.case_id, cases.c.level, cases.c.personnummer,
                                                          cases.c.request_day).where(cases.c.case_id.in_(ids)))}
    out = {}
    for key in wanted:
        if key in have and key[0] in rows:
            r = rows[key[0]]
            day = r.request_day if isinstance(r.request_day, dt.date) else dt.date.fromisoformat(str(r.request_day))
            out[key] = (r.level, r.personnummer, day)
    return out


def purge_cases(engine: Engine, cutoffs: dict[str, dt.date]) -> int:
    """Gallring of cases: a case whose request day is past its level's retention goes, with its revisions
    and provider events (the documentation of what happened stays in the chain until its own gallring)."""
    gone = 0
    with engine.begin() as conn:
        for level, day in cutoffs.items():
            ids = [r[0] for r in conn.execute(select(cases.c.case_id).where(cases.c.level == level,
                                                                            cases.c.request_day < day))]
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                conn.execute(delete(case_revisions).where(case_revisions.c.case_id.in_(part)))
                conn.execute(delete(provider_events).where(provider_events.c.case_id.in_(part)))
                gone += conn.execute(delete(cases).where(cases.c.case_id.in_(part))).rowcount or 0
    return gone
