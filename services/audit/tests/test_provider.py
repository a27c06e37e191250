"""Providers (utförare): scoped credentials, inbox and case view from the store, facts → a revision (issue 10).

Handler and API tests on SQLite and PostgreSQL: the audit consumers over TestRedisBroker, the
provider API over TestClient, eligibility's pure revision step in between (as its consumer does).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from audit_support import ADVISORY, CATALOG, INDIVIDUAL, KEYS, NOW, PNR, decision, information
from fastapi.testclient import TestClient
from faststream.redis import TestRedisBroker
from sqlalchemy import func, select

from iub_audit import cases
from iub_audit.app import create_api
from iub_audit.schema import provider_events
from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_contracts import streams
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_contracts.messages import ProviderFactsRecorded
from iub_eligibility.domain.request import evaluate_revision
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key
from iub_runtime.testing import RecordingWriter

MEDLING = ("sala", "medling")
MEDLING_UNIT = "Social- och arbetsmarknadskontoret, Sala kommun"
KEYS_HTTP = {"sala-medling": "key-sala-medling-provider", "sala-other": "key-sala-other-unit",
             "ostersund": "key-ostersund-provider", "reader": "key-provider-read-only", "insyn": "key-insyn"}


def _unit(kommun: str, insats: str) -> str:
    return CATALOG.version_in_force(kommun, insats, NOW.date()).unit


REGISTRY = ClientRegistry([
    ClientConfig(id="sala-medling", name="Sala SAK", key_sha256=[hash_key(KEYS_HTTP["sala-medling"])],
                 kommuner=["sala"], units=[MEDLING_UNIT],
                 operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="sala-other", name="Sala annan enhet", key_sha256=[hash_key(KEYS_HTTP["sala-other"])],
                 kommuner=["sala"], units=["Familjecentralen"],
                 operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="ostersund", name="Östersund", key_sha256=[hash_key(KEYS_HTTP["ostersund"])],
                 kommuner=["ostersund"], units=[_unit(*INDIVIDUAL)],
                 operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="reader", name="Bara läsa", key_sha256=[hash_key(KEYS_HTTP["reader"])],
                 kommuner=["sala"], units=[MEDLING_UNIT], operations=[Operation.PROVIDER_READ]),
    ClientConfig(id="insyn", name="Handläggare", key_sha256=[hash_key(KEYS_HTTP["insyn"])],
                 kommuner=["sala"], operations=[Operation.INSYN]),
])


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS_HTTP[who]}"}


def medling_14() -> ApplicantFacts:
    """A 14-year-old asking for Medling, as intake passes a 14 kap 5 § request on: no identity."""
    return ApplicantFacts(stated_age=14, legal_gender="man", folkbokford_i_kommunen=True,
                          other_facts={"garningspersonen_har_fyllt_12_ar": True},
                          guardians=[Guardian(label="vårdnadshavare 1"), Guardian(label="vårdnadshavare 2")])


@pytest.fixture
def svc(store, tmp_path):
    service = build_service(AuditSettings(var_dir=str(tmp_path)))
    service.state.update(catalog=CATALOG, store=store, link_keys=KEYS)
    service.rt.writer = RecordingWriter()
    return service


@pytest.fixture
def api(svc, tmp_path):
    return TestClient(create_api(AuditSettings(var_dir=str(tmp_path)), registry=REGISTRY, service=svc))


async def publish(svc, *pairs) -> None:
    async with TestRedisBroker(svc.broker) as br:
        for stream, msg in pairs:
            await br.publish(msg.model_dump(mode="json"), stream=stream)


async def medling_case(svc) -> tuple[str, object]:
    msg = decision(*MEDLING, facts=medling_14())
    assert msg.decision.outcome.value == "needs_consent"
    await publish(svc, (streams.DECISIONS, msg))
    case_id = str(KEYS.record_id(msg.request_id, "decision"))
    return case_id, msg


def consent_body(event_id: uuid.UUID | None = None, **over) -> dict:
    at = (NOW + dt.timedelta(days=1)).isoformat()
    body = {"event_id": str(event_id or uuid.uuid4()), "staff_id": "sak-anna",
            "villkor": [{"key": "garningsperson-fyllt-12", "result": "confirmed", "confirm_by": "ID-handling"}],
            "consents": [{"guardian": "vårdnadshavare 1", "given": True, "recorded_by": "sak-anna", "recorded_at": at},
                         {"guardian": "vårdnadshavare 2", "given": True, "recorded_by": "sak-anna", "recorded_at": at}]}
    return body | over


def n_events(svc) -> int:
    with svc.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(provider_events)).scalar())


async def test_medling_for_a_14_year_old_turns_eligible_with_both_guardians_consent(svc, api):
    case_id, msg = await medling_case(svc)
    # the case id is the keyed record id, never the request id the client got
    assert case_id != str(msg.request_id)
    inbox = api.get("/v1/provider/requests", params={"status": "needs_consent"}, headers=auth("sala-medling"))
    assert inbox.status_code == 200, inbox.text
    assert [i["case_id"] for i in inbox.json()["items"]] == [case_id]
    view = api.get(f"/v1/provider/requests/{case_id}", headers=auth("sala-medling")).json()
    assert view["level"] == "anonymised" and view["status"] == "needs_consent"
    # 14 kap 5 §: age band, gender and reason codes; no identity, no explanation texts
    assert view["person"] == {"personnummer": None, "age_band": "13-14", "legal_gender": "man",
                              "reason_codes": ["consent:missing"]}
    item = next(c for c in view["checklist"] if c["villkor_id"] == "garningsperson-fyllt-12")
    assert "ID-handling" in item["confirm_by"] and item["explanation"] is None
    assert view["consent"]["required"] == "all_guardians" and view["consent"]["state"] == "missing"

    r = api.post(f"/v1/provider/requests/{case_id}/facts", json=consent_body(), headers=auth("sala-medling"))
    assert r.status_code == 202, r.text
    assert r.json()["revision"] == 1 and r.json()["duplicate"] is False
    [facts] = svc.rt.writer.on(streams.PROVIDER_FACTS)
    assert isinstance(facts, ProviderFactsRecorded)
    # only what may be kept at 14 kap 5 §: no identity, the age generalised to the insats's limits
    assert facts.facts.personnummer is None and facts.facts.birth_date is None
    assert facts.facts.stated_age < 14 and PNR not in facts.model_dump_json()
    assert facts.facts.legal_gender is None  # no villkor of Medling asks for it

    revised = evaluate_revision(CATALOG, facts, NOW)  # what eligibility's consumer does
    assert revised.decision.outcome.value == "eligible" and revised.previous_outcome.value == "needs_consent"
    await publish(svc, (streams.REVISIONS, revised), (streams.REVISIONS, revised))
    view = api.get(f"/v1/provider/requests/{case_id}", headers=auth("sala-medling")).json()
    assert view["status"] == "eligible" and view["revision"] == 1
    assert [(v["revision"], v["outcome"]) for v in view["revisions"]] == [(0, "needs_consent"), (1, "eligible")]
    assert view["person"]["age_band"] == "13-14"  # the case's band, not the generalised age's
    assert {g["guardian"]: g["given"] for g in view["consent"]["guardians"]} == {"vårdnadshavare 1": True,
                                                                                 "vårdnadshavare 2": True}
    # the earlier decision is kept; the revision is its own record at the insats's level, once
    assert svc.store.count(step="decision") == 1 and svc.store.count(step="decision:r1", level="anonymised") == 1

    # informed again (notify) → the information of the revision is documented once the revision is
    info = information(revised).model_copy(update={"revision": 1, "case_id": revised.case_id})
    await publish(svc, (streams.INFORMATION, info), (streams.INFORMATION, info))
    assert svc.store.count(step="information:r1", level="anonymised") == 1


async def test_a_retried_post_documents_once_and_another_body_under_the_same_event_id_is_refused(svc, api):
    case_id, _ = await medling_case(svc)
    body = consent_body()
    first = api.post(f"/v1/provider/requests/{case_id}/facts", json=body, headers=auth("sala-medling"))
    again = api.post(f"/v1/provider/requests/{case_id}/facts", json=body, headers=auth("sala-medling"))
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() | {"duplicate": True}
    assert n_events(svc) == 1 and len(svc.rt.writer.on(streams.PROVIDER_FACTS)) == 1
    other = api.post(f"/v1/provider/requests/{case_id}/facts", json=body | {"staff_id": "sak-bo"},
                     headers=auth("sala-medling"))
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "event_id"
    assert n_events(svc) == 1


async def test_another_unit_or_kommun_gets_exactly_the_answer_of_a_case_that_does_not_exist(svc, api):
    case_id, _ = await medling_case(svc)
    missing = api.get(f"/v1/provider/requests/{uuid.uuid4()}", headers=auth("sala-medling"))
    for who in ("sala-other", "ostersund"):
        r = api.get(f"/v1/provider/requests/{case_id}", headers=auth(who))
        assert (r.status_code, r.json()) == (missing.status_code, missing.json()) == (404, missing.json())
        post = api.post(f"/v1/provider/requests/{case_id}/facts", json=consent_body(), headers=auth(who))
        assert (post.status_code, post.json()) == (404, missing.json())
        assert api.get("/v1/provider/requests", headers=auth(who)).json()["total"] == 0
    assert api.get("/v1/provider/requests/not-a-uuid", headers=auth("sala-medling")).json() == missing.json()
    assert n_events(svc) == 0


async def test_credentials_and_operations(svc, api):
    case_id, _ = await medling_case(svc)
    assert api.get("/v1/provider/requests").status_code == 401
    assert api.get("/v1/provider/requests", headers=auth("insyn")).status_code == 403
    # read-only providers cannot record facts; the body is not even read (401/403 before 422)
    r = api.post(f"/v1/provider/requests/{case_id}/facts", content=b"{not json", headers=auth("reader"))
    assert r.status_code == 403
    assert api.post(f"/v1/provider/requests/{case_id}/facts", content=b"{", headers={}).status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"villkor": [{"key": "no-such-villkor", "result": "confirmed", "confirm_by": "ID-handling"}]}, "villkor.0.key"),
    ({"villkor": [{"key": "garningsperson-fyllt-12", "result": "confirmed", "confirm_by": "hörsägen"}]},
     "villkor.0.confirm_by"),
    ({"consents": [{"guardian": "vårdnadshavare 1", "given": True, "recorded_by": "sak-anna",
                    "recorded_at": "2099-01-01T10:00:00+00:00"}]}, "consents.0.recorded_at"),
    ({"consents": [{"guardian": "vårdnadshavare 1", "given": True, "recorded_by": "sak-anna",
                    "recorded_at": "2025-01-01T10:00:00+00:00"}]}, "consents.0.recorded_at"),
    ({"consents": [{"guardian": "Anna Andersson 811218-9876", "given": True, "recorded_by": "sak-anna",
                    "recorded_at": "2025-09-06T10:00:00+00:00"}]}, "consents.0.guardian"),
    ({"note": "Pojken berättade om 811218-9876"}, "note"),
    ({"outcome": "eligible"}, "outcome"),
    ({"child_consent": True}, "child_consent"),
    ({"staff_id": "811218-9876"}, "staff_id"),
    ({"villkor": [], "consents": []}, "body"),
], ids=["unknown villkor", "confirm_by outside the list", "consent in the future", "consent before the request",
        "a guardian's name", "free text", "an outcome set by hand", "child consent not asked",
        "a personnummer as staff", "nothing to record"])
async def test_bad_input_names_the_field_never_the_value_and_writes_nothing(svc, api, change, field):
    case_id, _ = await medling_case(svc)
    before = cases.get_case(svc.store.engine, case_id)
    r = api.post(f"/v1/provider/requests/{case_id}/facts", json=consent_body() | change, headers=auth("sala-medling"))
    assert r.status_code == 422, r.text
    assert field in {e["field"].removeprefix("body.") for e in r.json()["errors"]}
    for value in ("811218-9876", "hörsägen", "Pojken", "2099", "no-such-villkor"):
        assert value not in r.text
    assert n_events(svc) == 0 and svc.rt.writer.on(streams.PROVIDER_FACTS) == []
    assert cases.get_case(svc.store.engine, case_id) == before


async def test_each_level_shows_only_what_it_allows(svc, api):
    ind = decision(*INDIVIDUAL, facts=ApplicantFacts(personnummer=PNR, folkbokford_i_kommunen=True,
                                                     guardians=[Guardian(label="mamma")]))
    adv = decision(*ADVISORY)
    await publish(svc, (streams.DECISIONS, ind), (streams.DECISIONS, adv))
    view = api.get(f"/v1/provider/requests/{ind.request_id}", headers=auth("ostersund")).json()
    assert view["level"] == "individual" and view["person"]["personnummer"] == PNR
    assert all(c["explanation"] for c in view["checklist"])
    # consent is posted under 'vårdnadshavare N'; at 14 kap 3 § the label the request gave is shown too
    assert [(g["guardian"], g["label"]) for g in view["consent"]["guardians"]] == [("vårdnadshavare 1", "mamma")]
    row = cases.get_case(svc.store.engine, str(KEYS.record_id(adv.request_id, "decision")))
    assert row.level == "advisory" and row.personnummer is None and row.age_band is None
    assert row.reason_codes == [] and PNR not in str(row)


async def test_the_inbox_is_paged_newest_first_and_filtered_by_status(svc, api):
    msgs = [decision(*MEDLING, facts=medling_14(), at=NOW + dt.timedelta(days=i)) for i in range(5)]
    await publish(svc, *[(streams.DECISIONS, m) for m in msgs])
    page1 = api.get("/v1/provider/requests", params={"page_size": 2}, headers=auth("sala-medling")).json()
    page3 = api.get("/v1/provider/requests", params={"page_size": 2, "page": 3}, headers=auth("sala-medling")).json()
    assert page1["total"] == 5 and len(page1["items"]) == 2 and len(page3["items"]) == 1
    days = [i["request_day"] for i in page1["items"]]
    assert days == sorted(days, reverse=True) and days[0] == (NOW + dt.timedelta(days=4)).date().isoformat()
    assert api.get("/v1/provider/requests", params={"status": "eligible"},
                   headers=auth("sala-medling")).json()["total"] == 0
    assert api.get("/v1/provider/requests", params={"status": "nonsense"},
                   headers=auth("sala-medling")).status_code == 422


async def test_set_case_status_is_what_carrying_out_uses_and_the_end_drops_the_kept_facts(svc):
    case_id, _ = await medling_case(svc)
    assert cases.set_case_status(svc.store.engine, case_id, "started")
    assert cases.get_case(svc.store.engine, case_id).status == "started"
    assert cases.set_case_status(svc.store.engine, case_id, "ended")
    row = cases.get_case(svc.store.engine, case_id)
    assert row.status == "ended" and row.facts is None
    assert not cases.set_case_status(svc.store.engine, str(uuid.uuid4()), "ended")


# ----------------------------------------------------------------------------- pure rules

def test_the_age_is_kept_only_as_finely_as_the_insatss_limits_need():
    from iub_audit.domain.cases import generalised_age
    from iub_contracts.catalog import AgeVillkor
    limits = [AgeVillkor(id="a", text="13–20 år", min_years=13, max_years=20, confirm_by=["ID-handling"],
                         source={"file": "x", "section": "y"})]
    # consent ages 15 and 18 and the villkor's 13 and 21 are the only cut points
    assert [generalised_age(a, limits) for a in (None, 5, 12, 13, 14, 15, 17, 18, 20, 21, 64)] == [
        None, 0, 0, 13, 13, 15, 15, 18, 18, 21, 21]


def test_consents_are_set_on_the_nth_guardian_and_missing_guardians_are_added():
    from iub_audit.domain.cases import apply_consents
    from iub_contracts.provider import ProviderFactsIn
    body = ProviderFactsIn.model_validate(consent_body())
    one = ApplicantFacts(guardians=[Guardian(label="vårdnadshavare 1", consent=False)])
    out = apply_consents(one, body)
    assert [(g.label, g.consent, g.recorded_by) for g in out.guardians] == [
        ("vårdnadshavare 1", True, "sak-anna"), ("vårdnadshavare 2", True, "sak-anna")]
    assert apply_consents(ApplicantFacts(), body).guardians[1].label == "vårdnadshavare 2"


@pytest.mark.parametrize("bad", [dict(units=[]), dict(kommuner=["sala", "mellerud"]), dict(kommuner=["*"]),
                                 dict(operations=[Operation.INSYN])],
                         ids=["no unit", "two kommuner", "every kommun", "units without provider operations"])
def test_a_provider_credential_is_one_kommun_and_its_units(bad):
    from pydantic import ValidationError
    good = dict(id="p", name="p", key_sha256=["0" * 64], kommuner=["sala"], units=[MEDLING_UNIT],
                operations=[Operation.PROVIDER_READ])
    ClientConfig(**good)
    with pytest.raises(ValidationError):
        ClientConfig(**(good | bad))


async def test_gallring_removes_cases_past_their_levels_retention_with_their_revisions_and_events(svc, api):
    case_id, _ = await medling_case(svc)
    assert api.post(f"/v1/provider/requests/{case_id}/facts", json=consent_body(),
                    headers=auth("sala-medling")).status_code == 202
    keep = NOW.date()
    assert cases.purge_cases(svc.store.engine, {"anonymised": keep}) == 0
    assert cases.purge_cases(svc.store.engine, {"individual": keep + dt.timedelta(days=1)}) == 0
    assert cases.purge_cases(svc.store.engine, {"anonymised": keep + dt.timedelta(days=1)}) == 1
    assert cases.get_case(svc.store.engine, case_id) is None and cases.revisions_of(svc.store.engine, case_id) == []
    assert n_events(svc) == 0


async def test_the_childs_own_consent_where_the_catalogue_asks_for_it_decides_again(svc, api):
    """Sala's drogscreening: "Barnets samtycke är en förutsättning" — the provider records it; a refusal is a no."""
    msg = decision("sala", "drogscreening-barn-och-unga", facts=ApplicantFacts(
        stated_age=16, legal_gender="kvinna", folkbokford_i_kommunen=True,
        guardians=[Guardian(label="vårdnadshavare 1", consent=True)]))
    await publish(svc, (streams.DECISIONS, msg))
    case_id = str(KEYS.record_id(msg.request_id, "decision"))
    for given, outcome in ((True, "eligible"), (False, "not_eligible_without_needs_assessment")):
        r = api.post(f"/v1/provider/requests/{case_id}/facts",
                     json={"event_id": str(uuid.uuid4()), "staff_id": "sak-bo", "child_consent": given},
                     headers=auth("sala-medling"))
        assert r.status_code == 202, r.text
        revised = evaluate_revision(CATALOG, svc.rt.writer.on(streams.PROVIDER_FACTS)[-1], NOW)
        assert revised.decision.outcome.value == outcome
    view = api.get(f"/v1/provider/requests/{case_id}", headers=auth("sala-medling")).json()
    item = next(c for c in view["checklist"] if c["villkor_id"] == "barnets-samtycke")
    assert item["recorded"] == "refuted" and view["consent"]["child_consent"] is False
