"""'Can I get this?': the evaluation a request would get, without creating one (pure)."""

from __future__ import annotations

import datetime as dt

from iub_contracts.api import PreviewIn, PreviewOut
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import Decision
from iub_eligibility.domain.decide import decide_version
from iub_intake.domain.admission import Refusal, check_age, check_fact_keys, find_version, to_facts
from iub_intake.domain.minimise import minimise_facts


def preview(catalog: Catalog, body: PreviewIn, personnummer12: str | None, on: dt.date) -> PreviewOut | Refusal:
    """The decision for these facts on a day, minimised exactly as intake would before eligibility.

    Unlike a request, identity is not required here even for 14:3 insatser: the app asks before
    the person identifies. ``anonymous_allowed`` tells whether the request may then stay anonymous.
    """
    found = find_version(catalog, body.kommun, body.insats_id, on)
    if isinstance(found, Refusal):
        return found
    kommun, version = found
    if (refused := check_fact_keys(kommun, version, body.facts)) is not None:
        return refused
    facts = to_facts(body.facts, personnummer12)
    if (refused := check_age(facts, on)) is not None:
        return refused
    villkor = [*version.villkor, *(kommun.kommun_villkor if version.kommun_villkor_apply else [])]
    facts, _ = minimise_facts(facts, version.documentation.level, on, villkor)
    decision: Decision = decide_version(catalog, kommun, version, body.insats_id, facts, on)
    return PreviewOut(decision=decision, anonymous_allowed=version.anonymous_allowed)
