"""Carrying out an insats over HTTP (issue 10, point 4): start, contacts and end of a case, and the
advisory counts of 14 kap 4 § insatser.

Each event is documented through audit at the insats's level in the kommun's hash chain (signed,
included in gallring), together with its index row and the case status, in one transaction.
Events out of order answer 409; bad input 422 naming the field, never the value; a retried post
with the same event id documents once. A 14 kap 3 § note is personal data: shown in partsinsyn,
never logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from iub_audit import carrying_out as store_events
from iub_audit import cases
from iub_audit.cases import CaseRow
from iub_audit.domain import carrying_out as domain
from iub_audit.domain.documenting import prepare
from iub_audit.domain.pii_guard import PiiRefused
from iub_audit.insyn import AuthFirstRoute, Guard, Problem, problem_responses
from iub_audit.provider_api import _case_id, visible
from iub_contracts.api import FieldProblem
from iub_contracts.calendar import request_day
from iub_contracts.facts import RecordedEnd
from iub_contracts.provider import (
    AdvisoryCountIn,
    CarryingOutEventIn,
    CaseEvent,
    CaseStatus,
    CountAccepted,
    EventAccepted,
)
from iub_runtime import history
from iub_runtime.auth import ClientConfig, Operation

log = structlog.get_logger("iub.audit.carrying_out")
STATUS_AFTER = {"start": CaseStatus.STARTED, "end": CaseStatus.ENDED, "contact": None}
DECIDED_OK = (CaseStatus.ELIGIBLE.value, CaseStatus.STARTED.value, CaseStatus.ENDED.value)


def case_events(engine: Engine, row: CaseRow) -> list[CaseEvent]:
    """The case view's events (the provider API's event source)."""
    return [CaseEvent(event_id=r["event_id"], kind=r["kind"], date=r["day"], details=r["details"])
            for r in store_events.events_of(engine, row.case_id)]


def _conflict(problem: str, field: str = "kind") -> Problem:
    return Problem(409, "Händelsen kan inte dokumenteras i denna ordning", [FieldProblem(field=field, problem=problem)])


async def document_event(svc: Any, who: ClientConfig, case_id: str, ev: CarryingOutEventIn) -> JSONResponse:
    """Check and document one carrying-out event; the provider web page calls this too."""
    engine = svc.store.engine
    row = visible(who, await asyncio.to_thread(cases.get_case, engine, _case_id(case_id)))
    digest = store_events.digest(ev)
    seen = await asyncio.to_thread(store_events.find, engine, str(ev.event_id))
    if seen is not None:
        if seen["body_sha256"] != digest or seen["case_id"] != row.case_id:
            raise _conflict("redan använt för en annan händelse", "event_id")
        return _accepted(row.case_id, ev, row.status, duplicate=True)
    if row.level == domain.ADVISORY:
        raise _conflict("14 kap 4 §-insatser dokumenteras som antal (advisory-counts)", "case_id")
    prior = await asyncio.to_thread(store_events.events_of, engine, row.case_id)
    if ev.kind == "start" and row.status not in DECIDED_OK:
        raise _conflict("insatsen kan inte påbörjas utan beslut om att den kan ges", "case_id")
    why = domain.order_problem([p["kind"] for p in prior], ev.kind)
    if why:
        raise _conflict(why)
    kommun = svc.catalog.kommun(row.kommun)
    now = svc.rt.clock()
    problems = domain.input_problems(row.level, kommun.followup if kommun else None, row.request_day,
                                     request_day(now), ev, [p["day"] for p in prior])
    if problems:
        raise Problem(422, "Ogiltig begäran", problems)
    band, gender = row.age_band, row.legal_gender
    if row.level == domain.ANONYMISED:  # de-identified facts as the decision record documented them (14 kap 5 §)
        documented = await asyncio.to_thread(store_events.decision_body, engine, row.case_id) or {}
        band, gender = documented.get("age_band", band), documented.get("legal_gender", gender)
    record = domain.event_record(row.level, case_id=row.case_id, kommun=row.kommun, insats_id=row.insats_id,
                                 channel=row.channel, personnummer=row.personnummer, age_band=band,
                                 legal_gender=gender, ev=ev, keys=svc.link_keys)
    try:
        prepared = prepare(record)
    except PiiRefused as exc:  # the path names a field, never a value
        raise Problem(422, "Ogiltig begäran", [FieldProblem(field=exc.path, problem="personuppgifter")]) from None
    index = dict(event_id=str(ev.event_id), case_id=row.case_id, kommun=row.kommun, insats_id=row.insats_id,
                 unit=row.unit, level=row.level, kind=ev.kind, day=ev.date,
                 details=_json(domain.details(ev, row.level) | (
                     {"age_band": band, "legal_gender": gender} if row.level == domain.ANONYMISED else {})),
                 body_sha256=digest)
    status = STATUS_AFTER[ev.kind]
    try:
        created = await asyncio.to_thread(store_events.document, svc.store, row=index, item=prepared.item,
                                          status=status.value if status else None, now=now)
    except store_events.EventReplay:
        raise _conflict("redan använt för en annan händelse", "event_id") from None
    if ev.kind == "end" and row.level == domain.INDIVIDUAL and row.personnummer and ev.end != "never_started":
        await _index_end(svc, row, ev)
    log.info("carrying_out_documented", client_id=who.id, level=row.level, kind=ev.kind, duplicate=not created)
    return _accepted(row.case_id, ev, status or CaseStatus(row.status), duplicate=not created)


async def _index_end(svc: Any, row: CaseRow, ev: CarryingOutEventIn) -> None:
    """The history index for has_had_insats villkor; a failure is logged, the documentation stands."""
    secret = history.secret_of(svc.settings.history_key, svc.settings.development())
    if secret is None:
        return
    keep_until = ev.date + dt.timedelta(days=svc.settings.retention_days()["individual"])
    try:
        await history.record_end(svc.rt.redis, secret, row.kommun, row.personnummer,
                                 RecordedEnd(insats_id=row.insats_id, unit=row.unit, ended_on=ev.date), keep_until)
    except Exception as exc:  # noqa: BLE001 - `iub audit history-index` rebuilds it from the event index
        log.warning("history_index_write_failed", error_type=type(exc).__name__)


def _json(d: dict) -> str:
    import json

    return json.dumps(d, default=str, sort_keys=True, ensure_ascii=False)


def _accepted(case_id: str, ev: CarryingOutEventIn, status: CaseStatus | str, *, duplicate: bool) -> JSONResponse:
    out = EventAccepted(case_id=uuid.UUID(case_id), event_id=ev.event_id, kind=ev.kind, status=CaseStatus(status),
                        duplicate=duplicate)
    return JSONResponse(out.model_dump(mode="json"), status_code=200 if duplicate else 201,
                        headers={"Cache-Control": "no-store"})


async def document_count(svc: Any, who: ClientConfig, body: AdvisoryCountIn) -> JSONResponse:
    """Document one day's advisory count (no case, no person)."""
    version = svc.catalog.version_in_force(body.kommun, body.insats_id, body.date)
    if version is None or not who.sees_unit(body.kommun, version.unit):
        raise Problem(404, "Insatsen finns inte")
    if version.documentation.level.value != domain.ADVISORY:
        raise Problem(409, "Bara 14 kap 4 §-insatser dokumenteras som antal",
                      [FieldProblem(field="insats_id", problem="inte rådgivning")])
    now = svc.rt.clock()
    if body.date > request_day(now):
        raise Problem(422, "Ogiltig begäran", [FieldProblem(field="date", problem="i framtiden")])
    digest = store_events.digest(body)
    seen = await asyncio.to_thread(store_events.find, svc.store.engine, str(body.event_id))
    if seen is not None and seen["body_sha256"] != digest:
        raise _conflict("redan använt för en annan händelse", "event_id")
    created = False
    if seen is None:
        prepared = prepare(domain.count_record(body, svc.link_keys))
        # the index row carries no case: its case_id is the keyed record id (joins nothing)
        index = dict(event_id=str(body.event_id), case_id=prepared.body["request_id"], kommun=body.kommun,
                     insats_id=body.insats_id, unit=version.unit, level=domain.ADVISORY, kind="count", day=body.date,
                     details=_json({"topic": body.topic, "channel": body.channel, "form": body.form,
                                    "count": body.count}), body_sha256=digest)
        try:
            created = await asyncio.to_thread(store_events.document, svc.store, row=index, item=prepared.item,
                                              status=None, now=now)
        except store_events.EventReplay:
            raise _conflict("redan använt för en annan händelse", "event_id") from None
    log.info("advisory_count_documented", client_id=who.id, duplicate=not created)
    return JSONResponse(CountAccepted(event_id=body.event_id, duplicate=not created).model_dump(mode="json"),
                        status_code=201 if created else 200, headers={"Cache-Control": "no-store"})


def build_router(get_svc: Callable[[], Any], guard: Guard) -> APIRouter:
    """Events of a case and advisory counts, each authenticated before the body is read."""
    router = APIRouter(tags=["utförare"], route_class=AuthFirstRoute)

    @router.post("/v1/provider/requests/{case_id}/events", status_code=201, response_model=EventAccepted,
                 responses=problem_responses(401, 403, 404, 409, 413, 422, 429, 503))
    async def event(case_id: str, body: CarryingOutEventIn,
                    who: ClientConfig = Depends(guard.require(Operation.PROVIDER_WRITE))) -> JSONResponse:
        """Start, a contact or the end of the insats, documented at its level (200 for a repeated event id)."""
        return await document_event(get_svc(), who, case_id, body)

    @router.post("/v1/provider/advisory-counts", status_code=201, response_model=CountAccepted,
                 responses=problem_responses(401, 403, 404, 409, 413, 422, 429, 503))
    async def count(body: AdvisoryCountIn,
                    who: ClientConfig = Depends(guard.require(Operation.PROVIDER_WRITE))) -> JSONResponse:
        """14 kap 4 §: contacts per day, topic and channel; no request, case or person."""
        return await document_count(get_svc(), who, body)

    return router
