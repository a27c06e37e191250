"""has_had_insats villkor answered from the records (issue 10, point 5): references, windows, sources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from iub_contracts.catalog import HasHadInsatsVillkor, KommunCatalog
from iub_contracts.catalog_loader import CatalogError, default_catalog_dir, load_catalog, parse_catalog_text
from iub_contracts.decision import Outcome
from iub_contracts.facts import ApplicantFacts, PreviousInsats, RecordedEnd
from iub_eligibility.domain.decide import decide

CATALOG = load_catalog(default_catalog_dir())
BRYGGAN = "Enhet Familjestöd Bryggan (sektor Öppenvård)"
NEXUS = "Enhet Nexus (sektor Öppenvård)"
ON = dt.date(2026, 3, 2)
ADULT = ApplicantFacts(personnummer="198001019802", folkbokford_i_kommunen=True)


def _decide(insats: str, history=(), facts: ApplicantFacts = ADULT):
    return decide(CATALOG, "ostersund", insats, facts, ON, history=history)


def test_booster_bryggan_after_biffsamtal_four_months_ago_is_eligible_from_the_records():
    ended = ON - dt.timedelta(days=121)
    d = _decide("booster-bryggan", [RecordedEnd(insats_id="biffsamtal", unit=BRYGGAN, ended_on=ended)])
    assert d.outcome is Outcome.ELIGIBLE
    text = d.villkor[0].explanation
    assert "kommunens dokumentation" in text and ended.isoformat() in text


def test_nexus_booster_after_spelbehandling_is_eligible_without_a_question():
    d = _decide("booster-nexus", [RecordedEnd(insats_id="spelbehandling", unit=NEXUS, ended_on=dt.date(2025, 9, 1))])
    assert d.outcome is Outcome.ELIGIBLE
    assert all(v.status.value == "met" for v in d.villkor)


def test_12_steg_eftervard_after_the_group_treatment_is_eligible():
    d = _decide("12-steg-eftervard",
                [RecordedEnd(insats_id="12-steg-grupp-primarbehandling", unit=NEXUS, ended_on=dt.date(2026, 2, 1))])
    assert d.outcome is Outcome.ELIGIBLE


def test_an_insats_of_another_unit_does_not_meet_a_unit_reference():
    d = _decide("booster-bryggan", [RecordedEnd(insats_id="spelbehandling", unit=NEXUS, ended_on=ON)])
    assert d.outcome is Outcome.NEEDS_FACTS  # nothing in the records: the person is asked


@pytest.mark.parametrize(("days", "outcome"), [(364, Outcome.ELIGIBLE), (365, Outcome.ELIGIBLE),
                                               (366, Outcome.NOT_ELIGIBLE)])
def test_the_window_edges_from_the_records(days, outcome):
    ended = ON - dt.timedelta(days=days)
    d = _decide("booster-bryggan", [RecordedEnd(insats_id="biffsamtal", unit=BRYGGAN, ended_on=ended)])
    assert d.outcome is outcome
    assert ended.isoformat() in d.villkor[0].explanation


@pytest.mark.parametrize(("days", "outcome"), [(364, Outcome.ELIGIBLE), (365, Outcome.ELIGIBLE),
                                               (366, Outcome.NOT_ELIGIBLE)])
def test_the_window_edges_from_stated_history(days, outcome):
    facts = ADULT.model_copy(update={"previous_insatser": [
        PreviousInsats(ref="insats-bryggan-inom-ett-ar", ended_on=ON - dt.timedelta(days=days))]})
    d = _decide("booster-bryggan", facts=facts)
    assert d.outcome is outcome
    assert "dina uppgifter" in d.villkor[0].explanation


def test_a_recent_record_wins_over_an_old_statement():
    facts = ADULT.model_copy(update={"previous_insatser": [
        PreviousInsats(ref="insats-bryggan-inom-ett-ar", ended_on=ON - dt.timedelta(days=800))]})
    d = _decide("booster-bryggan", [RecordedEnd(insats_id="biffsamtal", unit=BRYGGAN, ended_on=ON)], facts)
    assert d.outcome is Outcome.ELIGIBLE and "kommunens dokumentation" in d.villkor[0].explanation


def test_an_end_after_the_request_day_is_not_history_yet():
    v = next(v for v in CATALOG.kommun("ostersund").insats("booster-bryggan").versions[0].villkor
             if isinstance(v, HasHadInsatsVillkor))
    assert v.accepts("biffsamtal", BRYGGAN) and not v.accepts("biffsamtal", NEXUS)
    d = _decide("booster-bryggan", [RecordedEnd(insats_id="biffsamtal", unit=BRYGGAN,
                                                ended_on=ON + dt.timedelta(days=1))])
    assert d.outcome is Outcome.NEEDS_FACTS


def _ostersund_data() -> dict:
    return yaml.safe_load((Path(default_catalog_dir()) / "ostersund.yaml").read_text(encoding="utf-8"))


def test_validate_fails_on_a_reference_that_resolves_to_nothing():
    data = _ostersund_data()
    data["external_insatser"] = [e for e in data["external_insatser"] if e["id"] != "bostad-forst"]
    with pytest.raises(CatalogError) as err:
        parse_catalog_text("ostersund.yaml", yaml.safe_dump(data, allow_unicode=True))
    assert "bostad-forst" in str(err.value) and "external_insatser" in str(err.value)


def test_validate_fails_on_an_unknown_unit():
    data = _ostersund_data()
    booster = next(i for i in data["insatser"] if i["id"] == "booster-bryggan")
    booster["versions"][0]["villkor"][0]["unit"] = "Enhet Som Inte Finns"
    with pytest.raises(CatalogError, match="no insats of unit"):
        parse_catalog_text("ostersund.yaml", yaml.safe_dump(data, allow_unicode=True))


def test_external_references_are_declared_with_their_source():
    k: KommunCatalog = CATALOG.kommun("ostersund")
    assert {e.id for e in k.external_insatser} == {"bostad-forst", "12-steg-primarbehandling-annan"}
    assert all(e.source.quote for e in k.external_insatser)
