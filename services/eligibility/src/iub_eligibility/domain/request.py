"""From a received request to the decision message: the eligibility service's one pure step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iub_contracts.calendar import request_day
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import Decision
from iub_contracts.facts import RecordedEnd
from iub_contracts.messages import DecisionMade, DeliveryTarget, ProviderFactsRecorded, RequestReceived
from iub_eligibility.domain.age import legal_gender_from_personnummer, resolve_age
from iub_eligibility.domain.decide import decide


def evaluate_request(catalog: Catalog, request: RequestReceived, now: dt.datetime,
                     history: Sequence[RecordedEnd] = ()) -> DecisionMade:
    """Decide one request and wrap the result in the contract published to audit and intake.

    ``history``: the person's 14 kap 3 § end records in the kommun, read from audit's index.
    """
    on = request_day(request.received_at)
    result = decide(catalog, request.kommun, request.insats_id, request.facts, on, history=history)
    decided_day = request_day(now)
    if isinstance(result, Decision) and decided_day != on:
        # A request is decided on the catalogue as it stood on the day it was received, even when
        # it is evaluated later (e.g. across a new insats version's valid_from); say so to staff.
        result = result.model_copy(update={"staff_note": (
            f"Begäran togs emot {on.isoformat()} och bedömdes {decided_day.isoformat()}. Beslutet "
            f"bygger på insatsens version som gällde den dag begäran togs emot (version från "
            f"{result.insats_version_from.isoformat() if result.insats_version_from else 'okänt datum'})."
        )})
    facts = request.facts
    gender = facts.legal_gender or (
        legal_gender_from_personnummer(facts.personnummer) if facts.personnummer else None
    )
    is_decision = isinstance(result, Decision)
    return DecisionMade(
        correlation_id=request.request_id,
        occurred_at=now,
        request_id=request.request_id,
        kommun=request.kommun,
        insats_id=request.insats_id,
        channel=request.channel,
        language=request.language,
        delivery=request.delivery,
        facts=facts,
        received_at=request.received_at,
        age_at_request=resolve_age(facts, on),
        legal_gender=gender,
        decision=result if is_decision else None,
        error=None if is_decision else result,
    )


def evaluate_revision(catalog: Catalog, msg: ProviderFactsRecorded, now: dt.datetime,
                      history: Sequence[RecordedEnd] = ()) -> DecisionMade:
    """Decide a case again from its kept facts and the provider's confirmations (a revision).

    A provider never sets the outcome: only villkor confirmations and consents go in.

    The catalogue version is the one in force on the request's day, as for the first decision.
    The information goes out again by the status (poll): the delivery target of the request was
    deleted once the first information was given.
    """
    on = msg.request_day
    confirmed = {c.villkor_id: c.confirmed for c in msg.confirmations}
    result = decide(catalog, msg.kommun, msg.insats_id, msg.facts, on, confirmed, history=history)
    is_decision = isinstance(result, Decision)
    facts = msg.facts
    gender = facts.legal_gender or (
        legal_gender_from_personnummer(facts.personnummer) if facts.personnummer else None
    )
    return DecisionMade(
        correlation_id=msg.case_id,
        occurred_at=now,
        request_id=msg.case_id,
        kommun=msg.kommun,
        insats_id=msg.insats_id,
        channel=msg.channel,
        language=msg.language,
        delivery=DeliveryTarget(kind="poll"),
        facts=facts,
        # 10:00 UTC is the same Swedish calendar day: the revision is decided on the request's day
        received_at=dt.datetime.combine(on, dt.time(10, 0), dt.UTC),
        age_at_request=resolve_age(facts, on),
        legal_gender=gender,
        decision=result if is_decision else None,
        error=None if is_decision else result,
        revision=msg.revision,
        case_id=msg.case_id,
        previous_outcome=msg.previous_outcome,
    )
