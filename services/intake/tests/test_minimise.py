"""Data minimisation at the door: what travels on the stream for 14:4 and 14:5 insatser."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from intake_support import CATALOG_DIR

from iub_contracts.api import FactsIn, RequestIn
from iub_contracts.catalog_loader import load_catalog
from iub_intake.domain.admission import Admitted, admit

NOW = dt.datetime(2025, 9, 5, 10, 0, tzinfo=dt.UTC)
CATALOG = load_catalog(CATALOG_DIR)
PNR, PHONE, MAIL = "198112189876", "0701234567", "anna@example.se"


def facts_with_canaries() -> FactsIn:
    return FactsIn.model_validate({
        "personnummer": PNR,
        "bosatt_eller_vistas_i_kommunen": True,
        "previous_insatser": [{"ref": f"ref-{PHONE}"}],
        "current_insatser": [f"x-{PHONE}"],
        "other_facts": {f"k{PHONE}": True},
        "guardians": [{"label": "mamma", "consent": True, "recorded_by": MAIL}],
    })


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


def test_the_individual_level_keeps_the_facts_the_person_gave():
    admitted = admit(CATALOG, RequestIn(kommun="ostersund", insats_id="akutboendet",
                                        facts=FactsIn(personnummer=PNR, folkbokford_i_kommunen=True)),
                     PNR, request_id=uuid.uuid4(), now=NOW)
    assert admitted.request.facts.personnummer == PNR
    assert not admitted.personnummer_dropped
