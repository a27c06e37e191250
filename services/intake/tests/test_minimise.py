"""Data minimisation at the door: what travels on the stream for 14:4 and 14:5 insatser."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from intake_support import CATALOG_DIR

from iub_contracts.api import FactsIn, RequestIn
from iub_contracts.catalog_loader import load_catalog
from iub_intake.domain.admission import Admitted, Refusal, admit, to_facts
from iub_intake.domain.minimise import minimise_facts

NOW = dt.datetime(2025, 9, 5, 10, 0, tzinfo=dt.UTC)
CATALOG = load_catalog(CATALOG_DIR)
PNR, PHONE, MAIL = "198112189876", "0701234567", "anna@example.se"


def facts_with_canaries(typed: bool = False) -> FactsIn:
    data = {
        "personnummer": PNR,
        "guardians": [{"label": "mamma", "consent": True, "recorded_by": MAIL}],
    }
    if typed:  # free text in keys no villkor asks about: refused at the door (issue 11)
        data |= {
            "previous_insatser": [{"ref": f"ref-{PHONE}"}],
            "current_insatser": [f"x-{PHONE}"],
            "other_facts": {f"k{PHONE}": True},
        }
    return FactsIn.model_validate(data)


@pytest.mark.parametrize(
    ("kommun", "insats"),
    [("mellerud", "radgivningssamtal"), ("jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta")],
    ids=["advisory 14 kap 4 §", "anonymised 14 kap 5 §"],
)
def test_nothing_a_client_typed_travels_on_for_insatser_without_personal_data(kommun, insats):
    admitted = admit(CATALOG, RequestIn(kommun=kommun, insats_id=insats, facts=facts_with_canaries()),
                     PNR, request_id=uuid.uuid4(), now=NOW)
    assert isinstance(admitted, Admitted)
    assert admitted.personnummer_dropped
    wire = admitted.request.model_dump_json()
    for canary in (PNR, PNR[2:], PHONE, MAIL, "mamma"):
        assert canary not in wire
    assert admitted.request.facts.stated_age == 43  # what the villkor need survives: the age


@pytest.mark.parametrize(
    ("kommun", "insats"),
    [("mellerud", "radgivningssamtal"), ("jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta")],
    ids=["advisory 14 kap 4 §", "anonymised 14 kap 5 §"],
)
def test_free_text_facts_no_villkor_asks_about_are_refused_naming_keys_never_values(kommun, insats):
    refused = admit(CATALOG, RequestIn(kommun=kommun, insats_id=insats, facts=facts_with_canaries(typed=True)),
                    PNR, request_id=uuid.uuid4(), now=NOW)
    assert isinstance(refused, Refusal) and refused.status == 422
    names = [refused.field, *refused.more_fields]
    assert "facts.previous_insatser" in names and "facts.current_insatser" in names
    assert "facts.other_facts.k…" in names  # the digits of the typed key are masked
    assert PHONE not in repr(refused) and MAIL not in repr(refused)


def test_minimising_drops_free_text_no_villkor_asks_about():
    kc = CATALOG.kommuner["mellerud"]
    version = kc.insats("radgivningssamtal").versions[0]
    facts = to_facts(facts_with_canaries(typed=True), PNR)
    minimal, dropped = minimise_facts(facts, version.documentation.level, NOW.date(), version.villkor)
    assert dropped
    wire = minimal.model_dump_json()
    for canary in (PNR, PHONE, MAIL, "mamma"):
        assert canary not in wire


def test_the_individual_level_keeps_the_facts_the_person_gave():
    admitted = admit(CATALOG, RequestIn(kommun="ostersund", insats_id="akutboendet",
                                        facts=FactsIn(personnummer=PNR, folkbokford_i_kommunen=True)),
                     PNR, request_id=uuid.uuid4(), now=NOW)
    assert admitted.request.facts.personnummer == PNR
    assert not admitted.personnummer_dropped
