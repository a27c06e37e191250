"""The pure parts of intake: catalogue view texts, preview parity with the pipeline, telephony mapping, admission."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from intake_support import CATALOG_DIR

from iub_contracts.api import AgentFormSubmitted, FactsIn, PreviewIn, RequestIn
from iub_contracts.catalog import ConsentPolicy, ConsentRequirement, DocumentationLevel
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.messages import Channel
from iub_eligibility.domain.request import evaluate_request
from iub_intake.domain.admission import Admitted, admit, check_age
from iub_intake.domain.catalog_view import ANONYMOUS, consent_text, insatser_view, kommun_view
from iub_intake.domain.preview import preview
from iub_intake.domain.telephony import form_to_request

CATALOG = load_catalog(CATALOG_DIR)
NOW = dt.datetime(2025, 9, 5, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("policy", "under", "teen"),
    [(ConsentPolicy(), "en vårdnadshavare", "en vårdnadshavare"),
     (ConsentPolicy(under_15=ConsentRequirement.ALL_GUARDIANS), "alla vårdnadshavare", "en vårdnadshavare"),
     (ConsentPolicy(age_15_17=ConsentRequirement.NONE, suitable_15_17_without_consent=True), "en vårdnadshavare",
      "lämplig"),
     (ConsentPolicy(under_15=ConsentRequirement.NONE, age_15_17=ConsentRequirement.NONE,
                    exemption_reason="rådgivningssamtal är inte en programinsats"), "inte en programinsats",
      "inte en programinsats")],
    ids=["the law's default", "both guardians under 15 (Sala)", "the board's lämplighetsbedömning for 15–17",
         "an exemption for an advisory insats (Mellerud)"],
)
def test_consent_rules_are_shown_in_plain_swedish_per_age_band(policy, under, teen):
    text = consent_text(policy)
    assert under in text.under_15
    assert teen in text.age_15_17
    assert "18" in text.from_18


@pytest.mark.parametrize("kommun", sorted(CATALOG.kommuner))
def test_every_insats_says_you_can_be_anonymous_exactly_when_its_level_allows_it(kommun):
    for insats in insatser_view(CATALOG.kommun(kommun), TODAY).insatser:
        anonymous = insats.documentation.level is not DocumentationLevel.INDIVIDUAL
        assert insats.documentation.explanation.startswith(ANONYMOUS) is anonymous
        assert insats.documentation.anonymous_allowed is anonymous
        assert insats.malgrupp and insats.contact.how_to_apply


def test_kommun_wide_villkor_are_shown_with_each_insats_they_apply_to():
    sala = insatser_view(CATALOG.kommun("sala"), TODAY)
    budget = next(i for i in sala.insatser if i.id == "budgetradgivning")
    assert [v.applies_to for v in budget.villkor] == ["kommun"]


def test_a_kommun_lists_its_ways_to_get_in_touch():
    view = kommun_view(CATALOG.kommun("ostersund"), TODAY)
    assert "Använd appen Mitt val mitt stöd." in view.contact.ways
    assert view.insatser_url == "/v1/kommuner/ostersund/insatser"


@pytest.mark.parametrize(
    ("kommun", "insats", "facts"),
    [("sala", "budgetradgivning", {"personnummer": "191212121212", "folkbokford_i_kommunen": True}),
     ("sala", "oppen-ingang-foraldrar", {"stated_age": 12, "guardians": [{"label": "mamma", "consent": True}]}),
     ("ostersund", "akutboendet", {"personnummer": "191212121212", "folkbokford_i_kommunen": False}),
     ("mellerud", "radgivningssamtal", {"stated_age": 12, "bosatt_eller_vistas_i_kommunen": True})],
    ids=["an advisory insats with identity", "a child with one guardian's consent", "akutboendet without folkbokföring",
         "Mellerud's rådgivningssamtal for a 12-year-old"],
)
def test_the_preview_gives_the_decision_the_pipeline_would_give(kommun, insats, facts):
    facts_in = FactsIn.model_validate(facts)
    pnr = facts.get("personnummer")
    previewed = preview(CATALOG, PreviewIn(kommun=kommun, insats_id=insats, facts=facts_in), pnr, TODAY)
    admitted = admit(CATALOG, RequestIn(kommun=kommun, insats_id=insats, facts=facts_in), pnr,
                     request_id=uuid.uuid4(), now=NOW)
    assert isinstance(admitted, Admitted)
    made = evaluate_request(CATALOG, admitted.request, NOW)
    assert previewed.decision.model_dump() == made.decision.model_dump()


def test_the_preview_of_an_unknown_insats_points_to_the_list():
    result = preview(CATALOG, PreviewIn(kommun="sala", insats_id="finns-inte"), None, TODAY)
    assert (result.status, result.title, result.field, result.see) == (
        404, "Okänd insats", "insats_id", "/v1/kommuner/sala/insatser")
    # 11 kap 6 §: even a contact intake cannot take on is told of the right to apply, with Sala's routes
    assert "11 kap. 1 §" in result.information
    assert "0224-74 70 00" in result.information


def test_an_agent_form_becomes_a_telephony_request_to_the_call():
    event = AgentFormSubmitted.model_validate({
        "type": "agent.form_submitted", "call_ref": "line-9", "occurred_at": "2025-09-05T10:00:00+00:00",
        "form": {"kommun": "sala", "insats_id": "krisstod", "language": "en", "facts": {"stated_age": 30}}})
    req = form_to_request(event)
    assert (req.channel, req.delivery.kind, req.delivery.call_ref, req.language) == (
        Channel.TELEPHONY, "telephony", "line-9", "en")


@pytest.mark.parametrize(
    ("facts", "refused"),
    [({"birth_date": "2030-01-01"}, True), ({"birth_date": "1890-01-01"}, True),
     ({"birth_date": "1990-01-01"}, False), ({}, False)],
    ids=["born after the request day", "older than 130", "an ordinary adult", "no birth date at all"],
)
def test_a_birth_date_that_cannot_be_right_is_refused(facts, refused):
    from iub_intake.domain.admission import to_facts

    assert (check_age(to_facts(FactsIn.model_validate(facts), None), TODAY) is not None) is refused
