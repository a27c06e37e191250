"""The provider (utförare) API on the audit service: inbox, case view, and villkor and consent facts.

A provider credential is scoped to one kommun, its units and provider:read / provider:write. A
case of another unit or kommun answers exactly like one that does not exist (404, same body).
The durable store is the source of truth (streams are trimmed after 72 h; an insats runs for
months). A provider never sets an outcome: the facts go to eligibility, which decides again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from iub_audit import cases
from iub_audit.cases import CaseRow, EventConflict
from iub_audit.domain.cases import CaseFacts, apply_consents, check_facts, child_consent_villkor
from iub_audit.insyn import AuthFirstRoute, Guard, Problem, problem_responses
from iub_contracts import streams
from iub_contracts.api import FieldProblem
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import Decision
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, ProviderFactsRecorded, VillkorConfirmation
from iub_contracts.provider import (
    CaseConsent,
    CaseEvent,
    CasePerson,
    CaseStatus,
    CaseSummary,
    ChecklistItem,
    FactsAccepted,
    GuardianConsent,
    ProviderCase,
    ProviderFactsIn,
    ProviderInbox,
    Revision,
)
from iub_runtime.auth import ClientConfig, Operation

log = structlog.get_logger("iub.audit.provider")
NOT_FOUND = "Ärendet finns inte"

# carrying-out events of a case, in order (p10life: start, contacts, end); none until that is built
EventSource = Callable[[Engine, CaseRow], list[CaseEvent]]


def no_events(_engine: Engine, _row: CaseRow) -> list[CaseEvent]:
    """No carrying-out events."""
    return []


def visible(who: ClientConfig, row: CaseRow | None) -> CaseRow:
    """The case when the provider may see it; else 404 exactly as for a case that does not exist."""
    if row is None or not who.sees_unit(row.kommun, row.unit):
        raise Problem(404, NOT_FOUND)
    return row


def _case_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise Problem(404, NOT_FOUND) from None


def insats_name(catalog: Catalog, row: CaseRow) -> str:
    """The insats's name in the version in force on the request's day."""
    v = catalog.version_in_force(row.kommun, row.insats_id, row.request_day)
    return v.name if v else row.insats_id


def summary(catalog: Catalog, row: CaseRow) -> CaseSummary:
    """One inbox line."""
    return CaseSummary(case_id=uuid.UUID(row.case_id), kommun=row.kommun, insats_id=row.insats_id,
                       insats_name=insats_name(catalog, row), unit=row.unit, level=DocumentationLevel(row.level),
                       status=CaseStatus(row.status), outcome=row.outcome, revision=row.revision,
                       request_day=row.request_day, updated_at=row.updated_at)


def case_view(catalog: Catalog, row: CaseRow, revisions: list[dict[str, Any]],
              events: list[CaseEvent]) -> ProviderCase:
    """The case as the provider sees it: only what the documentation level allows."""
    level = DocumentationLevel(row.level)
    decision = Decision.model_validate(row.decision) if row.decision else None
    individual = level is DocumentationLevel.INDIVIDUAL
    checklist = []
    for v in decision.villkor if decision else []:
        rec = row.confirmations.get(v.villkor_id) or {}
        checklist.append(ChecklistItem(
            villkor_id=v.villkor_id, kind=v.kind, scope=v.scope, status=v.status.value, confirm_by=v.confirm_by,
            explanation=v.explanation if individual else None,
            recorded=None if not rec else ("confirmed" if rec["confirmed"] else "refuted"),
            recorded_confirm_by=rec.get("confirm_by"), recorded_by=rec.get("staff_id"), recorded_at=rec.get("at")))
    facts = ApplicantFacts.model_validate(row.facts) if row.facts else None
    consent = CaseConsent(
        required=decision.consent.required if decision else None, state=decision.consent.state if decision else None,
        missing_from=decision.consent.missing_from if decision else [],
        guardians=[GuardianConsent(guardian=f"vårdnadshavare {i}", label=g.label if individual else None,
                                   given=g.consent, recorded_by=g.recorded_by, recorded_at=g.recorded_at)
                   for i, g in enumerate(facts.guardians or [], start=1)] if facts else [],
        child_consent=row.child_consent)
    if individual:
        person = CasePerson(personnummer=row.personnummer)
    elif level is DocumentationLevel.ANONYMISED:
        person = CasePerson(age_band=row.age_band, legal_gender=row.legal_gender, reason_codes=row.reason_codes)
    else:
        person = None  # 14 kap 4 §: nothing personal
    return ProviderCase(**summary(catalog, row).model_dump(), checklist=checklist, consent=consent, person=person,
                        revisions=[Revision(**r) for r in revisions], events=events,
                        right_to_apply=decision.right_to_apply if decision else None)


def body_digest(body: ProviderFactsIn) -> str:
    """The content an event id stands for (a retry with other content is a conflict)."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def facts_message(row: CaseRow, body: ProviderFactsIn, revision: int, now: dt.datetime) -> ProviderFactsRecorded:
    """What crosses the provider facts stream for eligibility: the case's kept facts and every confirmation."""
    confirmations = [VillkorConfirmation(villkor_id=k, confirmed=c["confirmed"], confirm_by=c["confirm_by"],
                                         staff_id=c["staff_id"], at=c["at"]) for k, c in row.confirmations.items()]
    return ProviderFactsRecorded(
        correlation_id=uuid.UUID(row.case_id), occurred_at=now, event_id=body.event_id,
        case_id=uuid.UUID(row.case_id), revision=revision, previous_outcome=row.outcome, kommun=row.kommun,
        insats_id=row.insats_id, level=DocumentationLevel(row.level), channel=Channel(row.channel),
        language=row.language, request_day=row.request_day,
        facts=ApplicantFacts.model_validate(row.facts or {}), confirmations=confirmations)


def build_router(get_svc: Callable[[], Any], guard: Guard, events: EventSource = no_events) -> APIRouter:
    """Inbox, case view and facts, each authenticated before the body is read."""
    router = APIRouter(tags=["utförare"], route_class=AuthFirstRoute)

    @router.get("/v1/provider/requests", response_model=ProviderInbox,
                responses=problem_responses(401, 403, 422, 429, 503))
    async def inbox(status: CaseStatus | None = None, page: int = Query(1, ge=1, le=100_000),
                    page_size: int = Query(50, ge=1, le=200),
                    who: ClientConfig = Depends(guard.require(Operation.PROVIDER_READ))) -> JSONResponse:
        """The cases of the provider's units, newest first, optionally of one status."""
        out = await provider_inbox(get_svc(), who, status, page, page_size)
        return JSONResponse(out.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    @router.get("/v1/provider/requests/{case_id}", response_model=ProviderCase,
                responses=problem_responses(401, 403, 404, 429, 503))
    async def case(case_id: str, who: ClientConfig = Depends(guard.require(Operation.PROVIDER_READ))) -> JSONResponse:
        """One case: decision with checklist, consent, revisions, events, and the person as the level allows."""
        view = await provider_case(get_svc(), who, case_id, events)
        return JSONResponse(view.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    @router.post("/v1/provider/requests/{case_id}/facts", status_code=202, response_model=FactsAccepted,
                 responses=problem_responses(401, 403, 404, 409, 413, 422, 429, 503))
    async def facts(case_id: str, body: ProviderFactsIn,
                    who: ClientConfig = Depends(guard.require(Operation.PROVIDER_WRITE))) -> JSONResponse:
        """Villkor confirmed or refuted, consents per guardian; eligibility then decides again (a revision)."""
        out = await record_provider_facts(get_svc(), who, case_id, body)
        return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Cache-Control": "no-store"})

    return router


async def record_provider_facts(svc: Any, who: ClientConfig, case_id: str, body: ProviderFactsIn) -> FactsAccepted:
    """Check, keep (once per event id) and hand on a provider's facts; the web page calls this too.

    Raises ``Problem`` (404 not visible or unknown, 409, 422 naming fields) having written nothing.
    """
    engine = svc.store.engine
    row = visible(who, await asyncio.to_thread(cases.get_case, engine, _case_id(case_id)))
    now = svc.rt.clock()
    digest = body_digest(body)
    seen = await asyncio.to_thread(cases.find_event, engine, str(body.event_id))
    if seen is None:
        if row.status in (CaseStatus.STARTED.value, CaseStatus.ENDED.value):
            raise Problem(409, "Insatsen har påbörjats: villkor och samtycke prövas inte om",
                          [FieldProblem(field="case_id", problem="insatsen har påbörjats")])
        decision = Decision.model_validate(row.decision) if row.decision else None
        child = child_consent_villkor(svc.catalog.version_in_force(row.kommun, row.insats_id, row.request_day))
        problems = check_facts(CaseFacts(row.request_day, row.status, decision), body, now,
                               child_consent_asked=child is not None)
        if problems:
            raise Problem(422, "Ogiltig begäran", problems)
        if row.facts is None:
            raise Problem(409, "Ärendet saknar uppgifter att pröva om", [FieldProblem(field="case_id",
                                                                                        problem="avslutat")])
        kept = apply_consents(ApplicantFacts.model_validate(row.facts), body)
        confirmations = dict(row.confirmations)
        for c in body.villkor:
            confirmations[c.key] = {"confirmed": c.result == "confirmed", "confirm_by": c.confirm_by,
                                    "staff_id": body.staff_id, "at": now.isoformat()}
        if child is not None and body.child_consent is not None:  # the child's own consent, obtained in person
            confirmations[child.id] = {"confirmed": body.child_consent, "confirm_by": child.confirm_by[0],
                                       "staff_id": body.staff_id, "at": now.isoformat()}
        try:
            revision, duplicate = await asyncio.to_thread(
                cases.record_facts, engine, case_id=row.case_id, event_id=str(body.event_id), body_sha256=digest,
                facts=kept.model_dump(mode="json"), confirmations=confirmations,
                child_consent=body.child_consent, now=now)
        except EventConflict:
            raise Problem(409, "Händelse-id:t är redan använt för andra uppgifter",
                          [FieldProblem(field="event_id", problem="redan använt")]) from None
        row = await asyncio.to_thread(cases.get_case, engine, row.case_id)
    else:
        if seen["case_id"] != row.case_id or seen["body_sha256"] != digest or seen["kind"] != "facts":
            raise Problem(409, "Händelse-id:t är redan använt för andra uppgifter",
                          [FieldProblem(field="event_id", problem="redan använt")])
        revision, duplicate = int(seen["revision"]), True
    # once per event id: a retry after a lost answer (or a crash before this publish) hands it on once
    await svc.rt.writer.publish(streams.PROVIDER_FACTS, facts_message(row, body, revision, now),
                                once_key=f"provider-facts:{body.event_id}")
    log.info("provider_facts_recorded", client_id=who.id, level=row.level, revision=revision, duplicate=duplicate,
             villkor=len(body.villkor), consents=len(body.consents))
    return FactsAccepted(case_id=uuid.UUID(row.case_id), event_id=body.event_id, revision=revision,
                         duplicate=duplicate)


async def provider_inbox(svc: Any, who: ClientConfig, status: CaseStatus | None = None, page: int = 1,
                         page_size: int = 50) -> ProviderInbox:
    """The provider's inbox (the web page calls this too)."""
    rows, total = await asyncio.to_thread(cases.list_cases, svc.store.engine, who.kommuner[0], who.units,
                                          status.value if status else None, page, page_size)
    return ProviderInbox(items=[summary(svc.catalog, r) for r in rows], page=page, page_size=page_size, total=total)


async def provider_case(svc: Any, who: ClientConfig, case_id: str, events: EventSource = no_events) -> ProviderCase:
    """One case as the provider may see it; Problem 404 exactly as for a missing one (the web page calls this too)."""
    engine = svc.store.engine
    row = visible(who, await asyncio.to_thread(cases.get_case, engine, _case_id(case_id)))
    revisions = await asyncio.to_thread(cases.revisions_of, engine, row.case_id)
    evs = await asyncio.to_thread(events, engine, row)
    return case_view(svc.catalog, row, revisions, evs)
