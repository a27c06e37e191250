"""Evaluating one villkor against the facts: met, not met, or unknown — never guessed.

Villkor must be summary and easy to establish (11 kap 5 § SoL); each evaluator only reads the
one fact its kind names. A fact that was not given (None) makes the villkor UNKNOWN.
Explanations carry no personal data (no age, no identity): they may be shown and logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal, NamedTuple

from iub_contracts.catalog import (
    AgeVillkor,
    AnyOfVillkor,
    BosattVillkor,
    CurrentlyHasVillkor,
    FactVillkor,
    FolkbokfordVillkor,
    HasHadInsatsVillkor,
    LegalGenderVillkor,
    PlacedVillkor,
    Villkor,
)
from iub_contracts.decision import VillkorResult, VillkorStatus
from iub_contracts.facts import ApplicantFacts
from iub_eligibility.domain.age import legal_gender_from_personnummer, resolve_age
from iub_eligibility.domain.weekdays import next_weekday

Scope = Literal["insats", "kommun"]

MET, NOT_MET, UNKNOWN = VillkorStatus.MET, VillkorStatus.NOT_MET, VillkorStatus.UNKNOWN


class Verdict(NamedTuple):
    """What one evaluator found: status, Swedish explanation, last valid day if time-limited."""

    status: VillkorStatus
    explanation: str
    valid_until: dt.date | None = None


def age_range_text(min_years: int | None, max_years: int | None) -> str:
    """The age range of an age villkor in Swedish, e.g. '15–17 år' or '18 år och uppåt'."""
    if min_years is not None and max_years is not None:
        return f"{min_years}–{max_years} år"
    if min_years is not None:
        return f"{min_years} år och uppåt"
    return f"högst {max_years} år"


def _age(v: AgeVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    rng = age_range_text(v.min_years, v.max_years)
    age = resolve_age(facts, on)
    if age is None:
        return Verdict(UNKNOWN, f"Åldern är inte känd. Villkoret gäller {rng}.")
    # Both bounds inclusive (catalog.AgeVillkor): "15 år och uppåt" includes 15.
    inside = (v.min_years is None or age >= v.min_years) and (
        v.max_years is None or age <= v.max_years
    )
    if inside:
        return Verdict(MET, f"Åldern uppfyller villkoret {rng}.")
    return Verdict(NOT_MET, f"Åldern uppfyller inte villkoret {rng}.")


def _folkbokford(v: FolkbokfordVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    if v.subject == "child":
        value, who, reg = facts.barnet_folkbokfort_i_kommunen, "Barnet", "folkbokfört"
    else:
        value, who, reg = facts.folkbokford_i_kommunen, "Du", "folkbokförd"
    if value is True:
        return Verdict(MET, f"{who} är {reg} i kommunen.")
    if v.without_it_until_next_weekday:
        # Östersund, Akutboendet 4.1.1: "Den som inte är folkbokförd i kommunen kan få plats fram
        # till nästkommande vardag." Without folkbokföring (not registered, or not known yet) the
        # villkor holds until the next weekday; a longer stay needs folkbokföring.
        until = next_weekday(on)
        state = (
            f"Det är inte känt om {who.lower()} är {reg} i kommunen."
            if value is None
            else f"{who} är inte {reg} i kommunen."
        )
        return Verdict(
            MET,
            f"{state} Utan folkbokföring kan insatsen ges till och med nästkommande vardag, "
            f"{until.isoformat()}. För längre tid än så krävs att du är folkbokförd i kommunen.",
            until,
        )
    if value is None:
        return Verdict(UNKNOWN, f"Det är inte känt om {who.lower()} är {reg} i kommunen.")
    return Verdict(NOT_MET, f"{who} är inte {reg} i kommunen.")


def _bosatt(v: BosattVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    # A separate fact from folkbokförd (Mellerud: "bosatt eller vistas stadigvarande").
    value = facts.bosatt_eller_vistas_i_kommunen
    if value is None:
        return Verdict(
            UNKNOWN, "Det är inte känt om du är bosatt eller vistas stadigvarande i kommunen."
        )
    if value:
        return Verdict(MET, "Du är bosatt eller vistas stadigvarande i kommunen.")
    return Verdict(NOT_MET, "Du är inte bosatt och vistas inte stadigvarande i kommunen.")


def _legal_gender(v: LegalGenderVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    gender = facts.legal_gender
    if gender is None and facts.personnummer is not None:
        gender = legal_gender_from_personnummer(facts.personnummer)
    wanted = f"{v.gender} i juridisk mening"
    if gender is None:
        return Verdict(UNKNOWN, f"Juridiskt kön är inte känt. Villkoret gäller {wanted}.")
    if gender == v.gender:
        return Verdict(MET, f"Villkoret {wanted} är uppfyllt.")
    return Verdict(NOT_MET, f"Villkoret {wanted} är inte uppfyllt.")


def _has_had_insats(v: HasHadInsatsVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    if facts.previous_insatser is None:
        return Verdict(UNKNOWN, f"Det är inte känt om du har haft {v.insats_name}.")
    matching = [p for p in facts.previous_insatser if p.ref == v.insats_ref]
    if not matching:
        return Verdict(NOT_MET, f"Du har inte haft {v.insats_name}.")
    if v.ended_within_days is None:
        return Verdict(MET, f"Du har haft {v.insats_name}.")
    # Östersund: "inom ett år efter avslutad insats". An ongoing insats (no end date, or an
    # end date after the request date) counts as met; otherwise the end must lie no more
    # than ended_within_days days before the request date (inclusive).
    for p in matching:
        if p.ended_on is None or p.ended_on >= on:
            return Verdict(MET, f"Du har {v.insats_name} pågående.")
        if (on - p.ended_on).days <= v.ended_within_days:
            return Verdict(
                MET, f"Du har haft {v.insats_name} som avslutades inom {v.ended_within_days} dagar."
            )
    return Verdict(
        NOT_MET,
        f"Du har haft {v.insats_name}, men den avslutades för mer än "
        f"{v.ended_within_days} dagar sedan.",
    )


def _currently_has(v: CurrentlyHasVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    if facts.current_insatser is None:
        return Verdict(UNKNOWN, f"Det är inte känt om du har {v.name} just nu.")
    if v.ref in facts.current_insatser:
        return Verdict(MET, f"Du har {v.name}.")
    return Verdict(NOT_MET, f"Du har inte {v.name}.")


_PLACED_FACT = {"by": "placerad_av_kommunen", "in": "placerad_i_kommunen"}
_PLACED_WORD = {"by": "av kommunen", "in": "i kommunen"}


def _placed(v: PlacedVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    # Östersund, Trädet 4.4.6: placed BY the kommun (anywhere) or IN the kommun (by any kommun);
    # either way meets it.
    values = {w: getattr(facts, _PLACED_FACT[w]) for w in v.by_or_in}
    ways = " eller ".join(_PLACED_WORD[w] for w in v.by_or_in)
    met = [w for w, val in values.items() if val is True]
    if met:
        return Verdict(MET, f"Barnet är placerat utanför hemmet {_PLACED_WORD[met[0]]}.")
    if any(val is None for val in values.values()):
        return Verdict(UNKNOWN, f"Det är inte känt om barnet är placerat utanför hemmet {ways}.")
    return Verdict(NOT_MET, f"Barnet är inte placerat utanför hemmet {ways}.")


def _fact(v: FactVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    value = facts.other_facts.get(v.fact)
    if value is None:
        return Verdict(UNKNOWN, f"Svaret på frågan ”{v.question}” är inte känt.")
    if value:
        return Verdict(MET, f"Svaret på frågan ”{v.question}” är ja.")
    why = f" {v.when_not_met}" if v.when_not_met else ""
    return Verdict(NOT_MET, f"Svaret på frågan ”{v.question}” är nej.{why}")


def _any_of(v: AnyOfVillkor, facts: ApplicantFacts, on: dt.date) -> Verdict:
    # Met when any option is met; not met only when every option is not met; else unknown.
    verdicts = [_EVALUATORS[o.kind](o, facts, on) for o in v.options]
    for verdict in verdicts:
        if verdict.status is MET:
            return verdict
    if all(verdict.status is NOT_MET for verdict in verdicts):
        return Verdict(NOT_MET, f"Villkoret ”{v.text.rstrip('.')}” är inte uppfyllt.")
    return Verdict(UNKNOWN, f"Det är inte känt om villkoret ”{v.text.rstrip('.')}” är uppfyllt.")


_EVALUATORS: dict[str, Callable[..., Verdict]] = {
    "age": _age,
    "folkbokford": _folkbokford,
    "bosatt_eller_vistas": _bosatt,
    "legal_gender": _legal_gender,
    "has_had_insats": _has_had_insats,
    "currently_has": _currently_has,
    "placed_outside_home": _placed,
    "fact": _fact,
    "any_of": _any_of,
}


def evaluate_villkor_until(
    villkor: Villkor, facts: ApplicantFacts, on: dt.date, scope: Scope
) -> tuple[VillkorResult, dt.date | None]:
    """Evaluate one villkor; also return the last valid day when it is met only for a time."""
    try:
        evaluator = _EVALUATORS[villkor.kind]
    except KeyError:
        raise ValueError(f"unknown villkor kind {villkor.kind!r}") from None
    verdict = evaluator(villkor, facts, on)
    # model_construct: every field is built here from validated inputs; skip re-validation.
    result = VillkorResult.model_construct(
        villkor_id=villkor.id,
        kind=villkor.kind,
        scope=scope,
        status=verdict.status,
        explanation=verdict.explanation,
        confirm_by=list(villkor.confirm_by),
        source=villkor.source,
    )
    return result, verdict.valid_until


def evaluate_villkor(
    villkor: Villkor, facts: ApplicantFacts, on: dt.date, scope: Scope
) -> VillkorResult:
    """Evaluate one villkor against the facts on a date: met, not met or unknown."""
    return evaluate_villkor_until(villkor, facts, on, scope)[0]
