"""From a received request to the decision message: the eligibility service's one pure step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iub_contracts.calendar import request_day
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import Decision
from iub_contracts.facts import RecordedEnd
from iub_contracts.messages import DecisionMade, RequestReceived
from iub_eligibility.domain.age import legal_gender_from_personnummer, resolve_age
from iub_eligibility.domain.decide import decide


def evaluate_request(catalog: Catalog, request: RequestReceived, now: dt.datetime,
                     history: Sequence[RecordedEnd] = ()) -> DecisionMade:
    """Decide one request and wrap the result in the contract published to audit and intake.

    ``history``: the person's 14 kap 3 § end records in the kommun, read from audit's index.
    """
    on = request_day(request.received_at)
    result = decide(catalog, request.kommun, request.insats_id, request.facts, on, history)
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
