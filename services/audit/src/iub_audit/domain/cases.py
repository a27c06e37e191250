"""The provider's case of a request (pure): what is kept per level, and a provider's facts checked and applied.

What re-deciding needs, and where it is kept (issue 10, point 3). Eligibility decides again from
the facts of the request, the provider's villkor confirmations and the consents. The case row
keeps only what the insats's documentation level allows:

- 14 kap 3 §: the facts as received (identity included, as in the individual records);
- 14 kap 5 § and 4 §: the facts intake already minimised for the level (no personnummer, no
  birth date, guardians relabelled 'vårdnadshavare N', recorders dropped, only the free-text
  keys a villkor asks about) with the age *generalised to the insats's own limits*: the age is
  replaced by the lowest age that every age villkor and consent rule of the insats treats the
  same way, so re-deciding gives the same answer while the exact age is not kept.

The facts are emptied when the case ends (``set_case_status``): nothing is kept for re-deciding
once there is nothing left to decide.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from iub_audit.domain.records import reason_codes
from iub_contracts.api import FieldProblem
from iub_contracts.catalog import (
    AgeVillkor,
    DocumentationLevel,
    FactVillkor,
    InsatsVersion,
    LegalGenderVillkor,
    leaf_villkor,
)
from iub_contracts.decision import Decision, Outcome
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_contracts.messages import DecisionMade
from iub_contracts.provider import CaseStatus, ProviderFactsIn

# the child's own consent, where the catalogue asks for it, is a fact villkor (Sala's drogscreening:
# "Barnets samtycke är en förutsättning för att insatsen ska genomföras") the provider obtains
CHILD_CONSENT_FACTS = frozenset({"barnet_samtycker"})

OUTCOME_STATUS = {Outcome.NEEDS_FACTS: CaseStatus.NEEDS_FACTS, Outcome.NEEDS_CONSENT: CaseStatus.NEEDS_CONSENT,
                  Outcome.ELIGIBLE: CaseStatus.ELIGIBLE, Outcome.NOT_ELIGIBLE: CaseStatus.NOT_ELIGIBLE}
CARRIED_OUT = (CaseStatus.STARTED.value, CaseStatus.ENDED.value)
CONSENT_AGES = (15, 18)  # 21 kap 2 §: under 15, 15–17, adult


def _age_limits(villkor) -> set[int]:
    out: set[int] = set()
    for v in leaf_villkor(list(villkor)):
        if isinstance(v, AgeVillkor):
            if v.min_years is not None:
                out.add(v.min_years)
            if v.max_years is not None:
                out.add(v.max_years + 1)
    return out


def generalised_age(age: int | None, villkor) -> int | None:
    """The lowest age the insats's age villkor and the consent ages treat like ``age`` (None stays None)."""
    if age is None:
        return None
    below = [b for b in (_age_limits(villkor) | set(CONSENT_AGES)) if b <= age]
    return max(below) if below else 0


def kept_facts(facts: ApplicantFacts, level: DocumentationLevel, version: InsatsVersion | None,
               kommun_villkor=()) -> ApplicantFacts:
    """The facts kept for re-deciding at the level (see the module docstring)."""
    if level is DocumentationLevel.INDIVIDUAL:
        return facts
    villkor = [*(version.villkor if version else []), *kommun_villkor]
    # legal gender only where a villkor asks for it (Östersund's "kvinna i juridisk mening")
    asks_gender = any(isinstance(v, LegalGenderVillkor) for v in leaf_villkor(villkor))
    return facts.model_copy(update={"personnummer": None, "birth_date": None,
                                    "stated_age": generalised_age(facts.stated_age, villkor),
                                    "legal_gender": facts.legal_gender if asks_gender else None})


def child_consent_villkor(version: InsatsVersion | None):
    """The insats's villkor that is the child's own consent, or None when the catalogue does not ask for it."""
    for v in leaf_villkor(list(version.villkor if version else [])):
        if isinstance(v, FactVillkor) and v.fact in CHILD_CONSENT_FACTS:
            return v
    return None


def status_of(outcome: Outcome | None, current: str | None = None) -> str:
    """The case status for a decision's outcome; a case being carried out keeps its status."""
    if current in CARRIED_OUT:
        return current
    return OUTCOME_STATUS[outcome].value if outcome else CaseStatus.NOT_ELIGIBLE.value


@dataclass(frozen=True)
class CaseFacts:
    """What a case holds for deciding again."""

    request_day: dt.date
    status: str
    decision: Decision | None


def check_facts(case: CaseFacts, body: ProviderFactsIn, now: dt.datetime,
                child_consent_asked: bool = False) -> list[FieldProblem]:
    """Problems with a provider's facts for a case, naming fields, never values (empty: fine)."""
    problems: list[FieldProblem] = []
    if case.decision is None:
        return [FieldProblem(field="case_id", problem="ärendet har inget beslut att pröva om")]
    if not (body.villkor or body.consents or body.child_consent is not None):
        problems.append(FieldProblem(field="body", problem="inga villkor eller samtycken att registrera"))
    by_id = {v.villkor_id: v for v in case.decision.villkor}
    seen: set[str] = set()
    for i, c in enumerate(body.villkor):
        v = by_id.get(c.key)
        if v is None:
            problems.append(FieldProblem(field=f"villkor.{i}.key", problem="ärendet har inget sådant villkor"))
            continue
        if c.key in seen:
            problems.append(FieldProblem(field=f"villkor.{i}.key", problem="villkoret finns två gånger"))
        seen.add(c.key)
        if c.confirm_by not in v.confirm_by:
            problems.append(FieldProblem(field=f"villkor.{i}.confirm_by",
                                         problem="inte ett av villkorets sätt att kontrollera"))
    labels: set[str] = set()
    for i, g in enumerate(body.consents):
        if g.guardian in labels:
            problems.append(FieldProblem(field=f"consents.{i}.guardian", problem="vårdnadshavaren finns två gånger"))
        labels.add(g.guardian)
        day = g.recorded_at.astimezone(dt.UTC)
        if day > now + dt.timedelta(minutes=5):
            problems.append(FieldProblem(field=f"consents.{i}.recorded_at", problem="ligger i framtiden"))
        elif day.date() < case.request_day - dt.timedelta(days=1):  # a day's slack for time zones
            problems.append(FieldProblem(field=f"consents.{i}.recorded_at", problem="ligger före begäran"))
    if body.child_consent is not None and not child_consent_asked:
        problems.append(FieldProblem(field="child_consent", problem="insatsen efterfrågar inte barnets samtycke"))
    return problems


def apply_consents(facts: ApplicantFacts, body: ProviderFactsIn) -> ApplicantFacts:
    """The facts with each recorded consent set on its guardian ('vårdnadshavare N' is the N-th)."""
    if not body.consents:
        return facts
    guardians = list(facts.guardians or [])
    for g in sorted(body.consents, key=lambda c: c.guardian):
        n = int(g.guardian.rsplit(" ", 1)[1])
        while len(guardians) < n:
            guardians.append(Guardian(label=f"vårdnadshavare {len(guardians) + 1}"))
        old = guardians[n - 1]
        guardians[n - 1] = old.model_copy(update={"consent": g.given, "recorded_by": g.recorded_by,
                                                  "recorded_at": g.recorded_at})
    return facts.model_copy(update={"guardians": guardians})


def case_values(msg: DecisionMade, record: dict, version: InsatsVersion, kommun_villkor=()) -> dict:
    """The audit_cases row of a documented decision (revision 0), from its record at the insats's level.

    ``updated_at`` is set by the store. Identity only at 14 kap 3 §; age band, gender and reason
    codes only at 14 kap 5 §; nothing personal at 14 kap 4 §.
    """
    level = DocumentationLevel(record["level"])
    d = msg.decision
    values = {
        "case_id": str(record["request_id"]), "kommun": msg.kommun, "insats_id": msg.insats_id,
        "unit": version.unit, "level": level.value, "status": status_of(d.outcome if d else None),
        "revision": 0, "outcome": d.outcome.value if d else None, "request_day": record["day"]
        if isinstance(record["day"], dt.date) else dt.date.fromisoformat(record["day"]),
        "channel": msg.channel.value, "language": msg.language,
        "facts": kept_facts(msg.facts, level, version, kommun_villkor).model_dump_json(),
        "decision": decision_kept(d, level).model_dump_json() if d else None, "confirmations": "{}",
    }
    if level is DocumentationLevel.INDIVIDUAL:
        values["personnummer"] = msg.facts.personnummer
    elif level is DocumentationLevel.ANONYMISED:
        values |= {"age_band": record.get("age_band"), "legal_gender": record.get("legal_gender"),
                   "reason_codes": json.dumps(record.get("reason_codes") or [])}
    return values


def decision_kept(d: Decision, level: DocumentationLevel) -> Decision:
    """The decision as the case keeps it: at 14 kap 4–5 § without the texts that may describe the person."""
    if level is DocumentationLevel.INDIVIDUAL:
        return d
    villkor = [v.model_copy(update={"explanation": ""}) for v in d.villkor]
    return d.model_copy(update={"villkor": villkor, "summary": "", "staff_note": None,
                                "consent": d.consent.model_copy(update={"explanation": ""})})


def revision_values(msg: DecisionMade, level: DocumentationLevel) -> dict:
    """What a revision changes in its case: outcome, status, decision (and reason codes at 14 kap 5 §)."""
    d = msg.decision
    values = {"outcome": d.outcome.value if d else None, "status": status_of(d.outcome if d else None),
              "decision": decision_kept(d, level).model_dump_json() if d else None}
    if level is DocumentationLevel.ANONYMISED:
        values["reason_codes"] = json.dumps(reason_codes(msg))
    return values
