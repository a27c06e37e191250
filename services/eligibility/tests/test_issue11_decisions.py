"""Issue 11 (1): four decisions that were wrong, each against the words of its source document."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from iub_contracts.catalog_loader import load_catalog
from iub_contracts.decision import RIGHT_TO_APPLY, Outcome
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_eligibility.domain.decide import decide

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "catalog")
FRIDAY = dt.date(2025, 9, 5)


def test_akutboendet_unknown_folkbokforing_gives_an_adult_a_bed_until_the_next_weekday():
    # 003 4.1.1: "Plats tillhandahålls för personer som är folkbokförda i Östersunds kommun, samt en
    # natt, eventuellt till nästkommande vardag, för personer som inte är folkbokförda i Östersunds
    # kommun." and "För längre tid än till nästkommande vardag ska man vara folkbokförd i Östersunds
    # kommun." Not knowing must not leave a homeless person without a bed at night.
    d = decide(CATALOG, "ostersund", "akutboendet", ApplicantFacts(stated_age=52), FRIDAY)
    assert d.outcome is Outcome.ELIGIBLE
    assert d.valid_until == dt.date(2025, 9, 8)  # Friday → Monday
    assert "För längre tid än så krävs att du är folkbokförd i kommunen." in d.summary
    folk = next(v for v in d.villkor if v.kind == "folkbokford")
    assert "folkbokförd" in folk.explanation and "2025-09-08" in folk.explanation
    assert d.right_to_apply is None
    # a minor still does not meet "Personer som har fyllt 18 år."
    young = decide(CATALOG, "ostersund", "akutboendet", ApplicantFacts(stated_age=17), FRIDAY)
    assert young.outcome is Outcome.NOT_ELIGIBLE and young.valid_until is None
    # folkbokförd: no time limit
    resident = ApplicantFacts(stated_age=52, folkbokford_i_kommunen=True)
    assert decide(CATALOG, "ostersund", "akutboendet", resident, FRIDAY).valid_until is None


def test_tradet_children_placed_by_ostersund_or_in_ostersund_by_another_kommun_are_both_eligible():
    # 003 4.4.6: "Barn placerade av Östersunds kommun utanför egna hemmet och barn placerade utanför
    # egna hemmet i Östersunds kommun"
    consent = [Guardian(label="vårdnadshavare 1", consent=True)]
    by = ApplicantFacts(stated_age=9, placerad_av_kommunen=True, guardians=consent)
    in_ = ApplicantFacts(stated_age=9, placerad_av_kommunen=False, placerad_i_kommunen=True, guardians=consent)
    for facts in (by, in_):
        assert decide(CATALOG, "ostersund", "stodgrupp-tradet", facts, FRIDAY).outcome is Outcome.ELIGIBLE
    neither = ApplicantFacts(stated_age=9, placerad_av_kommunen=False, placerad_i_kommunen=False, guardians=consent)
    d = decide(CATALOG, "ostersund", "stodgrupp-tradet", neither, FRIDAY)
    assert d.outcome is Outcome.NOT_ELIGIBLE and d.right_to_apply == RIGHT_TO_APPLY


def test_lotsen_is_met_by_living_in_mellerud_or_in_bengtsfors():
    # 002 7.2.1: "Individen tillhör insatsens målgrupp och är bosatt eller vistas stadigvarande i
    # Melleruds / Bengtsfors kommun."
    mellerud = ApplicantFacts(stated_age=40, bosatt_eller_vistas_i_kommunen=True)
    assert decide(CATALOG, "mellerud", "aktivitetshusen-lotsen", mellerud, FRIDAY).outcome is Outcome.ELIGIBLE
    bengtsfors = ApplicantFacts(stated_age=40, bosatt_eller_vistas_i_kommunen=False,
                                other_facts={"bosatt_eller_vistas_i_bengtsfors": True})
    assert decide(CATALOG, "mellerud", "aktivitetshusen-lotsen", bengtsfors, FRIDAY).outcome is Outcome.ELIGIBLE
    elsewhere = ApplicantFacts(stated_age=40, bosatt_eller_vistas_i_kommunen=False,
                               other_facts={"bosatt_eller_vistas_i_bengtsfors": False})
    d = decide(CATALOG, "mellerud", "aktivitetshusen-lotsen", elsewhere, FRIDAY)
    assert d.outcome is Outcome.NOT_ELIGIBLE


def test_medling_for_an_offender_under_12_is_never_eligible_and_carries_the_right_to_apply():
    # 001 section 4 and Bilaga 1, Medling: "Om gärningspersonen är under tolv år får medling ske
    # endast om det finns synnerliga skäl." Synnerliga skäl needs an assessment.
    both = [Guardian(label="vårdnadshavare 1", consent=True), Guardian(label="vårdnadshavare 2", consent=True)]
    facts = ApplicantFacts(stated_age=11, folkbokford_i_kommunen=True, guardians=both,
                           other_facts={"garningspersonen_har_fyllt_12_ar": False})
    d = decide(CATALOG, "sala", "medling", facts, FRIDAY)
    assert d.outcome is Outcome.NOT_ELIGIBLE
    assert d.right_to_apply == RIGHT_TO_APPLY
    assert "synnerliga skäl" in d.summary
    # not knowing the offender's age is never eligible either
    unknown = ApplicantFacts(stated_age=30, folkbokford_i_kommunen=True)
    assert decide(CATALOG, "sala", "medling", unknown, FRIDAY).outcome is Outcome.NEEDS_FACTS
