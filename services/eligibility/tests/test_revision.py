"""Deciding again after a provider's facts (issue 10): confirmations override stated facts, never the outcome."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from iub_contracts.catalog_loader import load_catalog
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_contracts.messages import ProviderFactsRecorded, VillkorConfirmation
from iub_eligibility.domain.decide import decide
from iub_eligibility.domain.request import evaluate_revision

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "catalog")
DAY = dt.date(2025, 9, 5)
AT = dt.datetime(2025, 9, 6, 9, 0, tzinfo=dt.UTC)


def medling(**over) -> ApplicantFacts:
    base = dict(stated_age=14, legal_gender="man", folkbokford_i_kommunen=True,
                other_facts={"garningspersonen_har_fyllt_12_ar": True},
                guardians=[Guardian(label="vårdnadshavare 1"), Guardian(label="vårdnadshavare 2")])
    return ApplicantFacts(**(base | over))


def facts_msg(facts: ApplicantFacts, confirmations: list[VillkorConfirmation] = (), revision: int = 1):
    cid = uuid.uuid4()
    return ProviderFactsRecorded(correlation_id=cid, occurred_at=AT, event_id=uuid.uuid4(), case_id=cid,
                                 revision=revision, previous_outcome="needs_consent", kommun="sala",
                                 insats_id="medling", level="anonymised", channel="app", request_day=DAY,
                                 facts=facts, confirmations=list(confirmations))


def confirm(villkor_id: str, ok: bool) -> VillkorConfirmation:
    return VillkorConfirmation(villkor_id=villkor_id, confirmed=ok, confirm_by="ID-handling", staff_id="sak-anna",
                               at=AT)


def test_a_refuted_villkor_is_not_met_whatever_was_stated():
    d = decide(CATALOG, "sala", "medling", medling(), DAY, confirmed={"garningsperson-fyllt-12": False})
    assert d.outcome.value == "not_eligible_without_needs_assessment" and d.right_to_apply
    v = next(v for v in d.villkor if v.villkor_id == "garningsperson-fyllt-12")
    assert v.status.value == "not_met" and "Utföraren" in v.explanation


def test_a_confirmed_villkor_is_met_even_when_the_fact_was_not_given():
    unknown = medling(other_facts={})
    assert decide(CATALOG, "sala", "medling", unknown, DAY).outcome.value == "needs_facts"
    d = decide(CATALOG, "sala", "medling", unknown, DAY, confirmed={"garningsperson-fyllt-12": True})
    assert d.outcome.value == "needs_consent"  # consent is still missing: a confirmation is no outcome


@pytest.mark.parametrize(("consents", "outcome"), [
    ((True, None), "needs_consent"), ((True, False), "needs_consent"), ((True, True), "eligible")],
    ids=["one of two", "one refused", "both"])
def test_both_guardians_must_consent_under_15_for_medling(consents, outcome):
    guardians = [Guardian(label=f"vårdnadshavare {i}", consent=c, recorded_by="sak-anna", recorded_at=AT)
                 for i, c in enumerate(consents, start=1)]
    made = evaluate_revision(CATALOG, facts_msg(medling(guardians=guardians)), AT)
    assert made.decision.outcome.value == outcome
    assert made.revision == 1 and made.case_id is not None and made.request_id == made.case_id
    assert made.delivery.kind == "poll" and made.received_at.date() == DAY


def test_a_revision_is_decided_on_the_catalogue_of_the_request_day():
    made = evaluate_revision(CATALOG, facts_msg(medling(), [confirm("garningsperson-fyllt-12", True)]), AT)
    assert made.decision.decided_on == DAY
