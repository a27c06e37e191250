"""Per level, random requests carrying random PII never leave that PII where the level forbids it.

The facts are *not* minimised first (intake's job): audit must hold the line on its own. Every
free-text place a client controls carries a canary personnummer, phone number or e-mail
address; after documenting the decision and the information, every column of every stored
row is searched for the canaries.
"""

from __future__ import annotations

import string
import uuid

import pytest
from audit_support import (
    ADVISORY,
    ANONYMISED,
    CATALOG,
    FIGURES,
    INDIVIDUAL,
    KEYS,
    LEVEL_OF,
    NOW,
    decision,
    information,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from iub_audit.domain.documenting import Prepared, document_decision, document_information, prepare
from iub_audit.domain.pii_guard import PiiRefused, check_no_pii
from iub_contracts.facts import ApplicantFacts, Guardian, PreviousInsats
from iub_contracts.messages import AuditStep, Channel, DeliveryTarget
from iub_contracts.records import AdvisoryRecord, AnonymisedRecord, InformationPart

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _luhn(digits9: str) -> str:
    total = 0
    for i, ch in enumerate(digits9):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


@st.composite
def canaries(draw) -> dict[str, str]:
    """A valid personnummer, a mobile number and an e-mail address, all random."""
    year, month, day = draw(st.integers(1930, 2012)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    serial = draw(st.integers(0, 999))
    nine = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    return {
        "pnr": f"{year}{month:02d}{day:02d}{serial:03d}{_luhn(nine)}",
        "phone": "07" + "".join(draw(st.lists(st.sampled_from(string.digits), min_size=8, max_size=8))),
        "email": draw(st.sampled_from(["anna", "bo", "carl", "dana"])) + str(draw(st.integers(10, 999)))
        + "@" + draw(st.sampled_from(["example.se", "post.example.com"])),
    }


def forms(c: dict[str, str]) -> list[str]:
    """Every way a canary could appear in a stored row."""
    pnr = c["pnr"]
    return [pnr, pnr[2:], f"{pnr[2:8]}-{pnr[8:]}", f"{pnr[:8]}-{pnr[8:]}", c["phone"], c["email"]]


def facts_with(c: dict[str, str], *, guardians_carry_pii: bool) -> ApplicantFacts:
    """Facts where every free-text place a client controls carries a canary."""
    labels = [f"mamma {c['phone']}", c["email"]] if guardians_carry_pii else ["vårdnadshavare 1", "vårdnadshavare 2"]
    return ApplicantFacts(
        personnummer=c["pnr"], folkbokford_i_kommunen=True, bosatt_eller_vistas_i_kommunen=True,
        guardians=[Guardian(label=lbl, consent=True, recorded_by=c["email"] if guardians_carry_pii else "hl-7",
                            recorded_at=NOW) for lbl in labels],
        previous_insatser=[PreviousInsats(ref=c["phone"])], current_insatser=[c["email"], c["phone"]],
        other_facts={f"x{c['phone']}": True, c["email"]: False},
    )


def delivery_with(c: dict[str, str], channel: Channel) -> DeliveryTarget:
    if channel is Channel.TELEPHONY:
        return DeliveryTarget(kind="telephony", call_ref=f"samtal {c['phone']} {c['email']}")
    return DeliveryTarget(kind="app_callback", callback_url=f"https://app.example/cb?u={c['email']}&t={c['phone']}")


def stored_rows(store) -> str:
    """Every column of every stored row, as text."""
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_records")).all()
    return "\n".join(" ".join("" if v is None else str(v) for v in r) for r in rows)


def document(store, msg) -> list[Prepared]:
    """The decision and then the information, as the handlers document them."""
    done = []
    d = document_decision(CATALOG, msg, KEYS).record
    assert isinstance(d, Prepared)
    store.append(d.body, personnummer=d.personnummer, now=NOW)
    done.append(d)
    decided = store.decisions_for([str(msg.request_id)], KEYS)
    i = document_information(CATALOG, information(msg), decided.get(str(msg.request_id)), KEYS)
    assert isinstance(i, Prepared)
    store.append(i.body, personnummer=i.personnummer, now=NOW)
    done.append(i)
    for p in done:
        FIGURES[f"records written: {p.level}"] += 1
    return done


@pytest.mark.parametrize("kommun_insats", [ANONYMISED, ADVISORY], ids=["anonymised 14 kap 5 §", "advisory 14 kap 4 §"])
@PROPERTY
@given(c=canaries(), channel=st.sampled_from(list(Channel)))
def test_levels_without_personal_data_store_none_of_the_canaries(store, kommun_insats, c, channel):
    msg = decision(*kommun_insats, facts=facts_with(c, guardians_carry_pii=True), channel=channel,
                   delivery=delivery_with(c, channel))
    records = document(store, msg)
    assert {r.level for r in records} == {LEVEL_OF[kommun_insats]}
    assert all(r.personnummer is None for r in records)
    rows = stored_rows(store)
    found = [f for f in forms(c) if f in rows]
    FIGURES["canary values searched"] += len(forms(c))
    FIGURES["canary values found"] += len(found)
    assert found == []


@PROPERTY
@given(c=canaries(), channel=st.sampled_from(list(Channel)))
def test_the_individual_level_keeps_identity_and_nothing_else_the_client_sent(store, c, channel):
    msg = decision(*INDIVIDUAL, facts=facts_with(c, guardians_carry_pii=False), channel=channel,
                   delivery=delivery_with(c, channel))
    records = document(store, msg)
    assert [r.personnummer for r in records] == [c["pnr"], c["pnr"]]
    rows = stored_rows(store)
    assert c["pnr"] in rows  # 14 kap 3 §: identity is documented, and partsinsyn finds it
    assert [r["request_id"] for r in store.export_person(c["pnr"])][-2:] == [str(msg.request_id)] * 2
    contact = [c["phone"], c["email"]]  # contact details, other_facts keys, refs: not documentation
    found = [f for f in contact if f in rows]
    FIGURES["canary values searched"] += len(contact)
    FIGURES["canary values found"] += len(found)
    assert found == []


def _texts_of(body: dict, path: str = "") -> list[str]:
    out = []
    for k, v in body.items():
        p = f"{path}.{k}" if path else k
        if isinstance(v, dict):
            out += _texts_of(v, p)
        elif isinstance(v, str) and p not in ("request_id", "day", "information.text_sha256", "level", "step"):
            out.append(p)
    return out


def _record(level: str, with_information: bool):
    common = dict(request_id=uuid.uuid4(), step=AuditStep.DECISION, kommun="sala", insats_id="krisstod",
                  day=NOW.date(), channel=Channel.APP,
                  information=InformationPart(status="delivered", template="information/sv@0a1b2c3d4e5f",
                                              language="sv", text_sha256="ab" * 32, delivered_via="poll", attempts=1)
                  if with_information else None)
    if level == "advisory":
        return AdvisoryRecord(**common, topic="kris")
    return AnonymisedRecord(**common, age_band="15-17", legal_gender="kvinna", outcome="eligible",
                            reason_codes=["consent:missing"])


@PROPERTY
@given(c=canaries(), level=st.sampled_from(["anonymised", "advisory"]), kind=st.sampled_from(["pnr", "phone", "email"]),
       data=st.data())
def test_the_pii_guard_refuses_personal_data_in_any_text_field_and_names_no_value(c, level, kind, data):
    body = _record(level, with_information=True).model_dump(mode="json")
    path = data.draw(st.sampled_from(_texts_of(body)))
    target = body
    *parents, leaf = path.split(".")
    for p in parents:
        target = target[p]
    target[leaf] = f"{target[leaf]} {c[kind]}"
    with pytest.raises(PiiRefused) as exc:
        check_no_pii(body)
    assert c[kind] not in str(exc.value) and c[kind][2:] not in str(exc.value)
    assert exc.value.path == path


@pytest.mark.parametrize(
    "text_value",
    ["ring 070-123 45 67", "anna@example.se", "19811218-9876", "811218-9876", "+46701234567"],
    ids=["a phone number", "an e-mail address", "a 12-digit personnummer", "a 10-digit personnummer",
         "an international phone number"],
)
def test_the_pii_guard_looks_at_keys_too(text_value):
    with pytest.raises(PiiRefused) as exc:
        check_no_pii({"level": "advisory", "extra": {text_value: True}})
    assert text_value not in str(exc.value)


def test_typed_identifiers_that_look_like_numbers_are_not_mistaken_for_personal_data():
    body = _record("advisory", with_information=True).model_dump(mode="json")
    body["request_id"] = "12345678-1234-4234-8234-123456789012"
    body["information"]["text_sha256"] = "0701234567" + "0" * 54
    body["information"]["template"] = "information/sv@070123456789"
    check_no_pii(body)


def test_a_record_model_refuses_free_text_where_only_codes_belong():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        AdvisoryRecord(request_id=uuid.uuid4(), step=AuditStep.DECISION, kommun="sala", insats_id="anna@example.se",
                       day=NOW.date(), channel=Channel.APP, topic="kris")
    with pytest.raises(ValidationError):
        AnonymisedRecord(request_id=uuid.uuid4(), step=AuditStep.DECISION, kommun="sala", insats_id="krisstod",
                         day=NOW.date(), channel=Channel.APP, age_band="15-17", legal_gender="kvinna",
                         reason_codes=["ring 0701234567"])
    with pytest.raises(ValidationError):
        prepare(AdvisoryRecord(request_id=uuid.uuid4(), step=AuditStep.DECISION, kommun="sala", insats_id="krisstod",
                               day=NOW.date(), channel=Channel.APP, topic="kris", personnummer="198112189876"))
