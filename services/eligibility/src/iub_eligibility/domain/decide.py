"""The eligibility decision for one kommun, insats, person and date.

Målgrupp is never read here: it is self-identified and never a reason to deny (11 kap 5 §
SoL, DOMAIN.md). A "no" is always "not without needs assessment — you can apply" (11 kap 1 §).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from iub_contracts.catalog import InsatsVersion, KommunCatalog, Reading
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import (
    RIGHT_TO_APPLY,
    ConsentResult,
    ConsentState,
    Decision,
    DecisionError,
    DecisionErrorCode,
    Outcome,
    ReadingRef,
    VillkorResult,
    VillkorStatus,
)
from iub_contracts.facts import ApplicantFacts, RecordedEnd
from iub_eligibility.domain.age import resolve_age
from iub_eligibility.domain.consent import evaluate_consent
from iub_eligibility.domain.villkor import evaluate_villkor_until

_MAX_ID_IN_MESSAGE = 60


def _safe_id(value: str) -> str:
    """An id echoed in an error message, cut short (ids are not personal data, but be brief)."""
    return value if len(value) <= _MAX_ID_IN_MESSAGE else value[:_MAX_ID_IN_MESSAGE] + "…"


def _error(
    code: DecisionErrorCode, kommun: str, insats_id: str, message: str, catalog: Catalog
) -> DecisionError:
    return DecisionError.model_construct(
        code=code,
        kommun=kommun,
        insats_id=insats_id,
        message=message,
        catalog_version=catalog.version,
    )


def decide_outcome(villkor: list[VillkorResult], consent: ConsentResult) -> Outcome:
    """Outcome by precedence: not met > unknown (incl. consent) > consent missing > eligible."""
    statuses = {r.status for r in villkor}
    if VillkorStatus.NOT_MET in statuses:
        return Outcome.NOT_ELIGIBLE
    if VillkorStatus.UNKNOWN in statuses or consent.state is ConsentState.UNKNOWN:
        return Outcome.NEEDS_FACTS
    if consent.state is ConsentState.MISSING:
        return Outcome.NEEDS_CONSENT
    return Outcome.ELIGIBLE


def _quoted(results: list[VillkorResult], status: VillkorStatus) -> str:
    return " ".join(r.explanation for r in results if r.status is status)


def _summary(
    name: str,
    outcome: Outcome,
    villkor: list[VillkorResult],
    consent: ConsentResult,
    valid_until: dt.date | None,
    limited: tuple[str, ...] = (),
) -> str:
    if outcome is Outcome.ELIGIBLE:
        text = f"Du kan få insatsen {name} utan individuell behovsprövning."
        if villkor:
            text += " Villkoren är uppfyllda."
        if consent.state is ConsentState.GIVEN:
            text += " Vårdnadshavares samtycke finns."
        if limited:
            # why it is time-limited, until when, and what a longer stay needs (Akutboendet 4.1.1)
            text += "".join(f" {why}" for why in limited)
        elif valid_until is not None:
            text += f" Utan behovsprövning gäller det till och med {valid_until.isoformat()}."
        return text
    if outcome is Outcome.NOT_ELIGIBLE:
        return (
            f"Du kan inte få insatsen {name} utan behovsprövning eftersom ett eller flera "
            f"villkor inte är uppfyllda. {_quoted(villkor, VillkorStatus.NOT_MET)} "
            "Du kan alltid ansöka om insatsen och få ditt behov prövat."
        )
    if outcome is Outcome.NEEDS_FACTS:
        missing = _quoted(villkor, VillkorStatus.UNKNOWN)
        if consent.state in (ConsentState.UNKNOWN, ConsentState.MISSING):
            missing = f"{missing} {consent.explanation}".strip()
        return (
            f"Uppgifter saknas för att avgöra om du kan få insatsen {name} utan "
            f"behovsprövning. {missing} Utföraren kontrollerar uppgifterna på ett enkelt sätt, "
            "utan behovsbedömning."
        )
    return (
        f"Villkoren för insatsen {name} är uppfyllda, men vårdnadshavares samtycke behövs "
        f"innan insatsen kan ges. {consent.explanation}"
    )


def open_readings(
    kommun_catalog: KommunCatalog, version: InsatsVersion, insats_id: str, age: int | None
) -> list[ReadingRef]:
    """The readings still awaiting the board that a decision on this insats version rests on."""
    found: list[Reading] = kommun_catalog.readings_for(insats_id, version)
    out: list[ReadingRef] = []
    for r in found:
        if r.is_open and r.applies_to_age(age):
            out.append(
                ReadingRef.model_construct(
                    id=r.id, topic=r.topic, reading=r.reading, status=r.status.value
                )
            )
    return out


def decide_version(
    catalog: Catalog,
    kommun_catalog: KommunCatalog,
    version: InsatsVersion,
    insats_id: str,
    facts: ApplicantFacts,
    on: dt.date,
    confirmed: Mapping[str, bool] | None = None,
    history: Sequence[RecordedEnd] = (),
) -> Decision:
    """The decision for an insats version already picked (the body of ``decide``).

    ``confirmed``: villkor the utförare confirmed (True) or refuted (False) summarily, by id; such
    a villkor takes that status whatever the stated facts said (the provider checks, e.g. an ID card).
    """
    results: list[VillkorResult] = []
    limits: list[dt.date] = []
    limited: list[str] = []
    scoped = (
        [("kommun", v) for v in kommun_catalog.kommun_villkor]
        if version.kommun_villkor_apply
        else []
    )
    scoped += [("insats", v) for v in version.villkor]
    for scope, v in scoped:
        result, until = evaluate_villkor_until(v, facts, on, scope, history)  # type: ignore[arg-type]
        if confirmed and result.villkor_id in confirmed:
            result = confirmed_result(result, confirmed[result.villkor_id])
        results.append(result)
        if until is not None and result.status is VillkorStatus.MET:
            limits.append(until)
            limited.append(result.explanation)

    age = resolve_age(facts, on)
    consent = evaluate_consent(version.consent, age, facts.guardians)
    outcome = decide_outcome(results, consent)
    # The earliest limit of a time-limited villkor (e.g. Akutboendet without folkbokföring).
    # A person who gets nothing without needs assessment has no such last day.
    valid_until = min(limits) if limits and outcome is not Outcome.NOT_ELIGIBLE else None

    checklist: list[str] = []
    for r in results:
        for item in r.confirm_by:
            if item not in checklist:
                checklist.append(item)

    documentation = version.documentation
    return Decision.model_construct(
        outcome=outcome,
        kommun=kommun_catalog.kommun,
        insats_id=insats_id,
        insats_name=version.name,
        decided_on=on,
        villkor=results,
        consent=consent,
        documentation_level=documentation.level,
        legal_basis=documentation.legal_basis,
        valid_until=valid_until,
        catalog_version=catalog.version,
        summary=_summary(version.name, outcome, results, consent, valid_until, tuple(limited)),
        right_to_apply=None if outcome is Outcome.ELIGIBLE else RIGHT_TO_APPLY,
        checklist=checklist,
        readings=open_readings(kommun_catalog, version, insats_id, age),
        insats_version_from=version.valid_from,
        staff_note=None,
    )


def confirmed_result(result: VillkorResult, met: bool) -> VillkorResult:
    """A villkor as the utförare found it summarily: met or not met, said so in the explanation."""
    said = ("Utföraren har kontrollerat villkoret och det är uppfyllt." if met
            else "Utföraren har kontrollerat villkoret och det är inte uppfyllt.")
    return result.model_copy(update={"status": VillkorStatus.MET if met else VillkorStatus.NOT_MET,
                                     "explanation": f"{result.explanation} {said}".strip()})


def decide(
    catalog: Catalog, kommun: str, insats_id: str, facts: ApplicantFacts, on: dt.date,
    confirmed: Mapping[str, bool] | None = None,
    history: Sequence[RecordedEnd] = (),
) -> Decision | DecisionError:
    """Decide whether a person can get an insats without needs assessment on a date.

    ``history``: the person's own 14 kap 3 § end records in the kommun (has_had_insats villkor).
    """
    kommun_catalog = catalog.kommun(kommun)
    if kommun_catalog is None:
        return _error(
            DecisionErrorCode.UNKNOWN_KOMMUN,
            kommun,
            insats_id,
            f"Kommunen ”{_safe_id(kommun)}” finns inte i katalogen över insatser utan "
            "individuell behovsprövning.",
            catalog,
        )
    insats = kommun_catalog.insats(insats_id)
    if insats is None:
        return _error(
            DecisionErrorCode.UNKNOWN_INSATS,
            kommun,
            insats_id,
            f"Insatsen ”{_safe_id(insats_id)}” finns inte i katalogen för "
            f"{kommun_catalog.name} över insatser utan individuell behovsprövning.",
            catalog,
        )
    version = insats.in_force(on)
    if version is None:
        return _error(
            DecisionErrorCode.NOT_IN_FORCE,
            kommun,
            insats_id,
            f"Insatsen ”{_safe_id(insats_id)}” erbjuds inte utan individuell behovsprövning "
            f"den {on.isoformat()}.",
            catalog,
        )
    return decide_version(catalog, kommun_catalog, version, insats_id, facts, on, confirmed, history)
