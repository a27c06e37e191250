"""Admitting a request: which insats, which level, what may travel on (pure)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from iub_contracts.api import FactsIn, RequestIn
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import RequestReceived

from iub_intake.domain.minimise import minimise_facts


@dataclass(frozen=True)
class Refusal:
    """Why intake cannot accept a request: HTTP status, title, where to look."""

    status: int
    title: str
    field: str
    see: str | None = None


@dataclass(frozen=True)
class Admitted:
    """A request ready for the stream, and whether a personnummer was dropped."""

    request: RequestReceived
    personnummer_dropped: bool


def to_facts(facts: FactsIn, personnummer12: str | None) -> ApplicantFacts:
    """The contract facts from the HTTP facts (personnummer already normalised)."""
    data = facts.model_dump(exclude={"personnummer"})
    return ApplicantFacts(**data, personnummer=personnummer12)


def admit(
    catalog: Catalog, req: RequestIn, personnummer12: str | None, *, request_id: uuid.UUID, now: dt.datetime
) -> Admitted | Refusal:
    """Check kommun and insats exist, require identity for 14:3 insatser, minimise for 14:4/14:5."""
    kommun = catalog.kommun(req.kommun)
    if kommun is None:
        return Refusal(404, "Okänd kommun", "kommun", see="/v1/kommuner")
    insats = kommun.insats(req.insats_id)
    if insats is None:
        return Refusal(404, "Okänd insats", "insats_id", see=f"/v1/kommuner/{kommun.kommun}/insatser")
    on = request_day(now)
    version = insats.in_force(on)
    if version is None:
        return Refusal(404, "Insatsen erbjuds inte utan behovsprövning detta datum", "insats_id",
                       see=f"/v1/kommuner/{kommun.kommun}/insatser")
    level = version.documentation.level
    facts = to_facts(req.facts, personnummer12)
    if level is DocumentationLevel.INDIVIDUAL and personnummer12 is None:
        # 14 kap 3 §: documented at individual level, so it cannot be given anonymously
        return Refusal(422, "Insatsen dokumenteras på individnivå och kräver personnummer", "facts.personnummer")
    facts, dropped = minimise_facts(facts, level, on)
    return Admitted(
        request=RequestReceived(
            correlation_id=request_id,
            occurred_at=now,
            request_id=request_id,
            kommun=req.kommun,
            insats_id=req.insats_id,
            channel=req.channel,
            language=req.language,
            facts=facts,
            delivery=req.delivery,
            received_at=now,
        ),
        personnummer_dropped=dropped,
    )
