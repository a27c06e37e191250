"""Admitting a request: which insats, which level, what may travel on (pure)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from iub_contracts.api import DeliveryIn, FactsIn, RequestIn
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel, InsatsVersion, KommunCatalog
from iub_contracts.catalog_loader import Catalog
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, DeliveryTarget, RequestReceived
from iub_contracts.questions import allowed_fact_keys, unknown_fact_keys
from iub_eligibility.domain.age import age_on, birth_date_from_personnummer
from iub_intake.domain.minimise import minimise_facts
from iub_runtime import urlpolicy

MAX_AGE = 130


@dataclass(frozen=True)
class Refusal:
    """Why intake cannot accept a request: HTTP status, title, field, where to look."""

    status: int
    title: str
    field: str
    see: str | None = None
    information: str | None = None
    more_fields: tuple[str, ...] = ()


def right_to_apply(kommun: KommunCatalog | None) -> str:
    """The 11 kap 6 § information for a contact intake cannot take on (unknown kommun or insats)."""
    # 11 kap 6 § SoL: everyone who turns to the service is told of the right to apply (11 kap 1 §)
    text = ("Du har alltid rätt att ansöka om insatser hos socialnämnden och få ditt behov prövat "
            "enligt 11 kap. 1 § socialtjänstlagen (2025:400).")
    return f"{text} {kommun.contact.how_to_apply}" if kommun else f"{text} Kontakta socialtjänsten i din kommun."


@dataclass(frozen=True)
class Admitted:
    """A request ready for the stream, whether a personnummer was dropped, and the target kept at intake."""

    request: RequestReceived
    personnummer_dropped: bool
    delivery_target: DeliveryIn | None = None


def to_facts(facts: FactsIn, personnummer12: str | None) -> ApplicantFacts:
    """The contract facts from the HTTP facts (personnummer already normalised)."""
    data = facts.model_dump(exclude={"personnummer"})
    return ApplicantFacts(**data, personnummer=personnummer12)


def find_version(
    catalog: Catalog, kommun: str, insats_id: str, on: dt.date
) -> tuple[KommunCatalog, InsatsVersion] | Refusal:
    """The kommun and the insats version in force on a day, or a 404 naming the list to look at."""
    k = catalog.kommun(kommun)
    if k is None:
        return Refusal(404, "Okänd kommun", "kommun", see="/v1/kommuner", information=right_to_apply(None))
    insats = k.insats(insats_id)
    if insats is None:
        return Refusal(404, "Okänd insats", "insats_id", see=f"/v1/kommuner/{k.kommun}/insatser",
                       information=right_to_apply(k))
    version = insats.in_force(on)
    if version is None:
        return Refusal(404, "Insatsen erbjuds inte utan behovsprövning detta datum", "insats_id",
                       see=f"/v1/kommuner/{k.kommun}/insatser", information=right_to_apply(k))
    return k, version


_DIGITS = re.compile(r"\d{6,}")


def check_fact_keys(kommun: KommunCatalog, version: InsatsVersion, facts: FactsIn) -> Refusal | None:
    """A 422 naming every fact key no villkor (or consent rule) of the insats asks about; never a value.

    Issue 11: a misspelt or foreign key (e.g. ``other_facts.hyreskontrakt``) was silently ignored and
    gave needs_facts; now the client learns which key is wrong (GET …/insatser/{id} lists the right ones).
    """
    bad = unknown_fact_keys(facts.model_dump(exclude_none=True), allowed_fact_keys(kommun, version))
    if not bad:
        return None
    # a key is the client's text: a long run of digits (a personnummer typed as a key) is masked
    names = [_DIGITS.sub("…", b) for b in bad]
    return Refusal(422, "Uppgiften efterfrågas inte för den här insatsen", names[0],
                   see=f"/v1/kommuner/{kommun.kommun}/insatser/{version_id(kommun, version)}",
                   more_fields=tuple(names[1:]))


def version_id(kommun: KommunCatalog, version: InsatsVersion) -> str:
    """The id of the insats a version belongs to."""
    return next((i.id for i in kommun.insatser if any(v is version for v in i.versions)), "")


def check_age(facts: ApplicantFacts, on: dt.date) -> Refusal | None:
    """A birth date (or personnummer) after the day, or an age over 130, cannot be evaluated."""
    field = "facts.birth_date" if facts.birth_date else "facts.personnummer"
    birth = facts.birth_date
    if birth is None and facts.personnummer:
        try:
            birth = birth_date_from_personnummer(facts.personnummer)
        except ValueError:
            return Refusal(422, "Ogiltig begäran", field)
    if birth is not None and (birth > on or age_on(birth, on) > MAX_AGE):
        return Refusal(422, "Födelsedatumet kan inte stämma", field)
    return None


def check_delivery(req: RequestIn, callback_prefixes: list[str] | None) -> Refusal | None:
    """Telephony delivery only for telephony requests; callbacks only under the client's prefixes (no SSRF).

    ``callback_prefixes`` None: development mode without clients, any URL the policy allows.
    The addresses the host resolves to are checked by the caller (I/O), see ``urlpolicy``.
    """
    d = req.delivery
    if d.kind == "telephony" and req.channel is not Channel.TELEPHONY:
        return Refusal(422, "Leverans till telefoni kräver kanalen telephony", "delivery.kind")
    if d.kind == "app_callback" and d.callback_url:
        try:
            urlpolicy.check_static(d.callback_url, callback_prefixes)
        except urlpolicy.UrlRefused as exc:  # fixed texts, never the URL
            return Refusal(422, str(exc), "delivery.callback_url")
    return None


def admit(
    catalog: Catalog,
    req: RequestIn,
    personnummer12: str | None,
    *,
    request_id: uuid.UUID,
    now: dt.datetime,
    callback_prefixes: list[str] | None = None,
    delivery_handle: str | None = None,
) -> Admitted | Refusal:
    """Check kommun and insats exist, require identity for 14:3 insatser, minimise for 14:4/14:5."""
    on = request_day(now)
    found = find_version(catalog, req.kommun, req.insats_id, on)
    if isinstance(found, Refusal):
        return found
    kommun_catalog, version = found
    if (refused := check_delivery(req, callback_prefixes)) is not None:
        return refused
    if (refused := check_fact_keys(kommun_catalog, version, req.facts)) is not None:
        return refused
    level = version.documentation.level
    facts = to_facts(req.facts, personnummer12)
    if (refused := check_age(facts, on)) is not None:
        return refused
    if level is DocumentationLevel.INDIVIDUAL and personnummer12 is None:
        # 14 kap 3 §: documented at individual level, so it cannot be given anonymously
        return Refusal(422, "Insatsen dokumenteras på individnivå och kräver personnummer", "facts.personnummer")
    villkor = [*version.villkor, *(kommun_catalog.kommun_villkor if version.kommun_villkor_apply else [])]
    facts, dropped = minimise_facts(facts, level, on, villkor)
    # the target (URL, call reference) stays at intake: the stream carries only its kind and a handle
    keep = req.delivery.kind != "poll"
    if keep and not delivery_handle:
        raise ValueError("a callback or telephony delivery needs a delivery handle")
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
            delivery=DeliveryTarget(kind=req.delivery.kind, handle=delivery_handle if keep else None),
            received_at=now,
        ),
        personnummer_dropped=dropped,
        delivery_target=req.delivery if keep else None,
    )
