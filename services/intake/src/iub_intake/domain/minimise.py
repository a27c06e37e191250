"""Data minimisation at the door (14 kap 4–5 § SoL): identity never travels for insatser without it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iub_contracts.catalog import (
    CurrentlyHasVillkor,
    DocumentationLevel,
    FactVillkor,
    HasHadInsatsVillkor,
    Villkor,
    leaf_villkor,
)
from iub_contracts.facts import ApplicantFacts
from iub_eligibility.domain.age import legal_gender_from_personnummer, resolve_age


def minimise_facts(
    facts: ApplicantFacts, level: DocumentationLevel, on: dt.date, villkor: Sequence[Villkor] | None = None
) -> tuple[ApplicantFacts, bool]:
    """Facts fit for the level, and whether a personnummer was dropped.

    Individual level keeps everything. Anonymised and advisory levels keep only what villkor
    and consent need: personnummer and birth date become an age (and legal gender), guardian
    labels become 'vårdnadshavare N' and who recorded a consent is dropped, so nothing that
    identifies anyone reaches the stream or the audit store. Given the insats's villkor, the
    free-text facts (earlier and current insatser, other facts) keep only the keys a villkor asks
    about, so nothing a client typed into them travels on.
    """
    if level is DocumentationLevel.INDIVIDUAL:
        return facts, False
    gender = facts.legal_gender
    if gender is None and facts.personnummer:
        gender = legal_gender_from_personnummer(facts.personnummer)
    guardians = None
    if facts.guardians is not None:
        guardians = [
            g.model_copy(update={"label": f"vårdnadshavare {i}", "recorded_by": None})
            for i, g in enumerate(facts.guardians, start=1)
        ]
    extra: dict = {}
    if villkor is not None:
        villkor = leaf_villkor(list(villkor))
        had = {r for v in villkor if isinstance(v, HasHadInsatsVillkor) for r in (v.stated_ref, *v.referenced_ids)}
        has = {v.ref for v in villkor if isinstance(v, CurrentlyHasVillkor)}
        asked = {v.fact for v in villkor if isinstance(v, FactVillkor)}
        extra = {
            "previous_insatser": None if facts.previous_insatser is None
            else [p for p in facts.previous_insatser if p.ref in had],
            "current_insatser": None if facts.current_insatser is None
            else [c for c in facts.current_insatser if c in has],
            "other_facts": {k: v for k, v in facts.other_facts.items() if k in asked},
        }
    minimal = facts.model_copy(
        update={**extra,
            "personnummer": None,
            "birth_date": None,
            "stated_age": resolve_age(facts, on),
            "legal_gender": gender,
            "guardians": guardians,
        }
    )
    return minimal, facts.personnummer is not None
