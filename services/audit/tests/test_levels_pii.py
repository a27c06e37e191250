"""Per level, random requests with random PII never leave that PII where the level forbids it."""

from __future__ import annotations

import string

import pytest
from audit_support import ADVISORY, ANONYMISED, CATALOG, INDIVIDUAL, NOW, decision, guardian
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from iub_audit.app import level_and_topic, prepare_record
from iub_audit.domain.pii_guard import PiiRefused, check_no_pii
from iub_audit.domain.records import build_decision_record
from iub_contracts.facts import ApplicantFacts, PreviousInsats
from iub_contracts.messages import DeliveryTarget
from iub_intake.domain.minimise import minimise_facts

FOUND: dict[str, int] = {"records": 0, "canaries_searched": 0, "canaries_found": 0}


def luhn_pnr(draw) -> str:
    year = draw(st.integers(1930, 2020))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    serial = draw(st.integers(0, 999))
    digits = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return f"{year}{month:02d}{day:02d}{serial:03d}{(10 - total % 10) % 10}"


@st.composite
def pii(draw) -> dict[str, str]:
    """A canary personnummer, phone number and e-mail address."""
    return {
        "pnr": luhn_pnr(draw),
        "phone": "07" + "".join(draw(st.lists(st.sampled_from(string.digits), min_size=8, max_size=8))),
        "email": draw(st.sampled_from(["anna", "bo", "carl"])) + str(draw(st.integers(10, 999))) + "@example.se",
    }


def facts_with(p: dict[str, str]) -> ApplicantFacts:
    """Facts where every free-text place a client controls carries a canary."""
    return ApplicantFacts(
        personnummer=p["pnr"], folkbokford_i_kommunen=True, bosatt_eller_vistas_i_kommunen=True,
        guardians=[guardian(f"mamma {p['phone']}"), guardian(p["email"])],
        previous_insatser=[PreviousInsats(ref=p["pnr"])], current_insatser=[p["email"]],
        other_facts={f"x{p['phone']}": True},
    )


def stored_text(store) -> str:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT body, coalesce(personnummer, '') FROM audit_records")).all()
    return "\n".join(" ".join(r) for r in rows)


@pytest.mark.parametrize("kommun_insats", [ANONYMISED, ADVISORY], ids=["anonymised 14 kap 5 §", "advisory 14 kap 4 §"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=pii())
def test_levels_without_personal_data_store_none_of_the_canaries(store, kommun_insats, p):
    kommun, insats = kommun_insats
    level, topic = level_and_topic(CATALOG, kommun, insats, NOW.date())
    # intake minimises before the stream (personnummer, birth date, guardian labels go)
    minimal, dropped = minimise_facts(facts_with(p), level, NOW.date())
    assert dropped
    msg = decision(kommun, insats, facts=minimal,
                   delivery=DeliveryTarget(kind="telephony", call_ref=f"call {p['phone']}"))
    record = build_decision_record(msg, level, topic)
    try:
        body, pnr = prepare_record(record)
    except PiiRefused:
        return  # refused rather than stored: nothing was written
    store.append(body, personnummer=pnr, now=NOW)
    FOUND["records"] += 1
    stored = stored_text(store)
    for canary in (p["pnr"], p["pnr"][2:], p["phone"], p["email"]):
        FOUND["canaries_searched"] += 1
        FOUND["canaries_found"] += canary in stored
        assert canary not in stored


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=pii())
def test_the_individual_level_keeps_identity_and_nothing_the_person_did_not_give(store, p):
    level, topic = level_and_topic(CATALOG, *INDIVIDUAL, NOW.date())
    msg = decision(*INDIVIDUAL, facts=ApplicantFacts(personnummer=p["pnr"], folkbokford_i_kommunen=True))
    body, pnr = prepare_record(build_decision_record(msg, level, topic))
    assert pnr == p["pnr"]
    s = store.append(body, personnummer=pnr, now=NOW)
    assert store.export_person(p["pnr"])[-1]["request_id"] == str(msg.request_id)
    assert s.created


@pytest.mark.parametrize(
    "text_value",
    ["ring 070-123 45 67", "anna@example.se", "19811218-9876", "811218-9876"],
    ids=["a phone number", "an e-mail address", "a 12-digit personnummer", "a 10-digit personnummer"],
)
def test_the_pii_guard_refuses_a_record_and_names_only_the_kind(text_value):
    body = {"level": "advisory", "topic": "radgivning", "insats_id": text_value, "request_id": "x"}
    with pytest.raises(PiiRefused) as exc:
        check_no_pii(body)
    assert text_value not in str(exc.value)
    assert "insats_id" in str(exc.value)


def test_report_canary_figures():
    """Prints the figures for the issue note (runs after the property tests in this module)."""
    print(f"\naudit PII canaries: {FOUND}")
    assert FOUND["canaries_found"] == 0
