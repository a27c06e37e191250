"""Evaluating one villkor against the facts: met, not met, or unknown — never guessed.

Villkor must be summary and easy to establish (11 kap 5 § SoL); each evaluator only reads the
one fact its kind names. A fact that was not given (None) makes the villkor UNKNOWN.
Explanations carry no personal data (no age, no identity): they may be shown and logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
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
from iub_contracts.facts import ApplicantFacts, RecordedEnd
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


def _within(v: HasHadInsatsVillkor, ended_on: dt.date | None, on: dt.date) -> bool:
    # Östersund 4.3.2: "inom ett år efter insats". The window counts from the end date: the end
    # may lie at most ended_within_days days before the request date (inclusive); an insats that
    # is ongoing (no end date, or an end after the request date) meets it.
    if v.ended_within_days is None or ended_on is None or ended_on >= on:
        return True
    return (on - ended_on).days <= v.ended_within_days


def _has_had_insats(v: HasHadInsatsVillkor, facts: ApplicantFacts, on: dt.date,
                    history: Sequence[RecordedEnd] = ()) -> Verdict:
    # Sources: the person's own 14 kap 3 § end records in the kommun (audit's history index), then
    # what the person stated. Records are preferred; the explanation names the source and the end.
    window = f" inom {v.ended_within_days} dagar" if v.ended_within_days else ""
    recorded = sorted((e for e in history if v.accepts(e.insats_id, e.unit) and e.ended_on <= on),
                      key=lambda e: e.ended_on, reverse=True)
    for e in recorded:
        if _within(v, e.ended_on, on):
            return Verdict(MET, f"Enligt kommunens dokumentation avslutades {v.insats_name} "
                                f"{e.ended_on.isoformat()}{window and ', alltså' + window + ' före förfrågan'}.")
    stated = [p for p in facts.previous_insatser or []
              if p.ref == v.stated_ref or p.ref in v.referenced_ids]
    for p in stated:
        if _within(v, p.ended_on, on):
            if p.ended_on is None or p.ended_on >= on:
                return Verdict(MET, f"Enligt dina uppgifter har du {v.insats_name} pågående.")
            return Verdict(MET, f"Enligt dina uppgifter avslutades {v.insats_name} "
                                f"{p.ended_on.isoformat()}{window and ', alltså' + window + ' före förfrågan'}.")
    if recorded or stated:
        last = max([e.ended_on for e in recorded] + [p.ended_on for p in stated if p.ended_on])
        source = "kommunens dokumentation" if recorded else "dina uppgifter"
        return Verdict(NOT_MET, f"Enligt {source} avslutades {v.insats_name} {last.isoformat()}, för mer än "
                                f"{v.ended_within_days} dagar sedan.")
    if facts.previous_insatser is None:
        return Verdict(UNKNOWN, f"Det är inte känt om du har haft {v.insats_name}.")
    return Verdict(NOT_MET, f"Du har inte haft {v.insats_name}.")


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


def _any_of(v: AnyOfVillkor, facts: ApplicantFacts, on: dt.date,
            history: Sequence[RecordedEnd] = ()) -> Verdict:
    # Met when any option is met; not met only when every option is not met; else unknown.
    verdicts = [_evaluate(o, facts, on, history) for o in v.options]
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


_WITH_HISTORY = {"has_had_insats", "any_of"}


def _evaluate(v: Villkor, facts: ApplicantFacts, on: dt.date, history: Sequence[RecordedEnd]) -> Verdict:
    try:
        evaluator = _EVALUATORS[v.kind]
    except KeyError:
        raise ValueError(f"unknown villkor kind {v.kind!r}") from None
    return evaluator(v, facts, on, history) if v.kind in _WITH_HISTORY else evaluator(v, facts, on)


def evaluate_villkor_until(
    villkor: Villkor, facts: ApplicantFacts, on: dt.date, scope: Scope,
    history: Sequence[RecordedEnd] = (),
) -> tuple[VillkorResult, dt.date | None]:
    """Evaluate one villkor (history: the person's 14 kap 3 § end records); also the last valid day."""
    verdict = _evaluate(villkor, facts, on, history)
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
