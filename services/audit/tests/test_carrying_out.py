"""Carrying out an insats (issue 10, point 4): events documented at the insats's level, in order,
once per event id; bad input refused naming the field; nothing half-written. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import pytest
import redis.asyncio as aioredis
from audit_support import CATALOG, FIGURES, KEYS, NOW, PNR, decision
from fastapi.testclient import TestClient

from iub_audit import cases
from iub_audit.app import create_api
from iub_audit.domain.documenting import document_decision
from iub_audit.schema import case_events
from iub_audit.service import build_service, first_cases
from iub_audit.settings import AuditSettings
from iub_contracts.facts import ApplicantFacts
from iub_runtime import history
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key

BRYGGAN = "Enhet Familjestöd Bryggan (sektor Öppenvård)"
NOTE = "Kanariefågel-anteckning 7c1e: samtal om boendet"
KEYS_HTTP = {"bryggan": "key-bryggan-provider", "nexus": "key-nexus-provider", "cmv": "key-cmv-provider",
             "mellerud": "key-mellerud-provider", "insyn": "key-insyn-ostersund",
             "board": "key-board-followup"}


def _unit(kommun: str, insats: str) -> str:
    return CATALOG.version_in_force(kommun, insats, NOW.date()).unit


REGISTRY = ClientRegistry([
    ClientConfig(id="bryggan", name="Bryggan", key_sha256=[hash_key(KEYS_HTTP["bryggan"])], kommuner=["ostersund"],
                 units=[BRYGGAN], operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="nexus", name="Nexus", key_sha256=[hash_key(KEYS_HTTP["nexus"])], kommuner=["ostersund"],
                 units=["Enhet Nexus (sektor Öppenvård)"],
                 operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="cmv", name="CMV", key_sha256=[hash_key(KEYS_HTTP["cmv"])], kommuner=["jamtland-lansverksamheter"],
                 units=[_unit("jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta")],
                 operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="mellerud", name="Mellerud", key_sha256=[hash_key(KEYS_HTTP["mellerud"])], kommuner=["mellerud"],
                 units=[_unit("mellerud", "radgivningssamtal")],
                 operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="board", name="Nämnden", key_sha256=[hash_key(KEYS_HTTP["board"])],
                 kommuner=["ostersund", "jamtland-lansverksamheter", "mellerud"], operations=[Operation.FOLLOWUP_READ]),
    ClientConfig(id="insyn", name="Handläggare", key_sha256=[hash_key(KEYS_HTTP["insyn"])], kommuner=["ostersund"],
                 operations=[Operation.INSYN]),
])


def h(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS_HTTP[who]}"}


def open_case(store, kommun: str, insats: str, facts: ApplicantFacts) -> str:
    """Document a decision and its provider case as the audit handler does; the case id."""
    msg = decision(kommun, insats, facts=facts)
    doc = document_decision(CATALOG, msg, KEYS)
    store.append_many([doc.record.item], now=NOW)
    store.flush_staged(NOW, everything=True)
    cases.insert_cases(store.engine, first_cases(CATALOG, [msg], [doc]), NOW)
    return doc.record.body["request_id"]


@pytest.fixture
def svc(store, tmp_path):
    s = build_service(AuditSettings(var_dir=str(tmp_path)))
    s.state.update(catalog=CATALOG, store=store, link_keys=KEYS)
    return s


@pytest.fixture
def client(svc, tmp_path):
    return TestClient(create_api(AuditSettings(var_dir=str(tmp_path)), registry=REGISTRY, service=svc))


ADULT = ApplicantFacts(personnummer=PNR, folkbokford_i_kommunen=True)


def ev(kind: str, date: dt.date, **kw) -> dict:
    return {"event_id": str(uuid.uuid4()), "kind": kind, "date": date.isoformat(), **kw}


D0 = NOW.date()


def test_a_14_3_insats_is_carried_out_and_documented_in_the_chain(client, store):
    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    url = f"/v1/provider/requests/{cid}/events"
    start = ev("start", D0 + dt.timedelta(days=3))
    assert client.post(url, json=start, headers=h("bryggan")).status_code == 201
    for i in range(3):
        r = client.post(url, json=ev("contact", D0 + dt.timedelta(days=4 + i), form="group", minutes=90,
                                     **({"note": NOTE} if i == 0 else {})), headers=h("bryggan"))
        assert r.status_code == 201, r.text
    end = ev("end", D0 + dt.timedelta(days=30), end="completed")
    r = client.post(url, json=end, headers=h("bryggan"))
    assert r.status_code == 201 and r.json()["status"] == "ended"
    # a retried post documents once
    again = client.post(url, json=end, headers=h("bryggan"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    steps = [s for s in (store.count(request_id=cid, step=st) for st in ("start", "end"))]
    assert steps == [1, 1]
    assert store.count(request_id=cid, level="individual") == 1 + 5  # decision, start, 3 contacts, end
    FIGURES["carrying-out events documented: individual"] += 5
    assert all(b is None for b in store.verify().values())
    view = client.get(f"/v1/provider/requests/{cid}", headers=h("bryggan")).json()
    assert [e["kind"] for e in view["events"]] == ["start", "contact", "contact", "contact", "end"]
    assert view["status"] == "ended"
    # partsinsyn shows the note
    insyn = client.post("/v1/insyn", json={"personnummer": PNR}, headers=h("insyn")).json()
    assert NOTE in json.dumps(insyn, ensure_ascii=False)


@pytest.mark.parametrize(("first", "then", "why"), [
    ([], ("contact", {"form": "phone", "minutes": 10}), "kontakt före start"),
    (["start", "end"], ("end", {"end": "completed"}), "avslutad"),
    (["start", "end"], ("start", {}), "avslutad"),
    (["start"], ("start", {}), "påbörjad"),
])
def test_events_out_of_order_are_409(client, store, first, then, why):
    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    url = f"/v1/provider/requests/{cid}/events"
    for kind in first:
        extra = {"end": "completed"} if kind == "end" else {}
        assert client.post(url, json=ev(kind, D0, **extra), headers=h("bryggan")).status_code == 201
    r = client.post(url, json=ev(then[0], D0, **then[1]), headers=h("bryggan"))
    assert r.status_code == 409 and why in r.text
    with store.engine.connect() as conn:
        assert conn.execute(case_events.select().where(case_events.c.case_id == cid)).all().__len__() == len(first)


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "start", "date": "2025-09-01"}, "date"),  # before the request
    ({"kind": "start", "date": "2099-01-01"}, "date"),  # in the future
    ({"kind": "end", "date": "2025-09-06", "end": "ended_early", "reason": "hemlig-orsak"}, "reason"),
    ({"kind": "start", "date": "2025-09-06", "note": "x" * 501}, "note"),
    ({"kind": "start", "date": "2025-09-06", "situation": "arbete-studier"}, "situation"),
])
def test_bad_input_names_the_field_never_the_value_and_writes_nothing(client, store, body, field):
    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    before = store.count(request_id=cid)
    r = client.post(f"/v1/provider/requests/{cid}/events", json={"event_id": str(uuid.uuid4()), **body},
                    headers=h("bryggan"))
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    for v in ("hemlig-orsak", "x" * 501, "arbete-studier", "2099-01-01"):
        assert v not in r.text
    assert store.count(request_id=cid) == before


def test_an_unknown_case_and_another_units_case_answer_alike(client, store):
    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    a = client.post(f"/v1/provider/requests/{uuid.uuid4()}/events", json=ev("start", D0), headers=h("bryggan"))
    b = client.post(f"/v1/provider/requests/{cid}/events", json=ev("start", D0), headers=h("nexus"))
    assert a.status_code == b.status_code == 404 and a.json() == b.json()


def test_a_14_5_insats_documents_codes_only_and_refuses_free_text(client, store):
    cid = open_case(store, "jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta",
                    ApplicantFacts(personnummer=PNR))
    url = f"/v1/provider/requests/{cid}/events"
    bad = client.post(url, json=ev("start", D0, note=NOTE), headers=h("cmv"))
    assert bad.status_code == 422 and NOTE not in bad.text
    ok = client.post(url, json=ev("start", D0, situation="arbetssokande", scales={"maende": 2}), headers=h("cmv"))
    assert ok.status_code == 201, ok.text
    assert client.post(url, json=ev("contact", D0, form="individual", minutes=45), headers=h("cmv")).status_code == 201
    end = ev("end", D0 + dt.timedelta(days=20), end="ended_early", reason="flyttat", situation="arbete-studier",
             scales={"maende": 4})
    assert client.post(url, json=end, headers=h("cmv")).status_code == 201
    store.flush_staged(NOW, everything=True)
    FIGURES["carrying-out events documented: anonymised"] += 3
    with store.engine.connect() as conn:
        bodies = [r[0] for r in conn.exec_driver_sql(
            "SELECT body FROM audit_records WHERE level = 'anonymised'")]
    carried = [json.loads(b) for b in bodies if '"carrying_out"' in b and json.loads(b)["carrying_out"]]
    assert len(carried) == 3
    assert all(PNR not in b for b in bodies)
    assert all(cid not in json.dumps(c) for c in carried)  # the events do not carry the case id either
    assert {c["carrying_out"]["kind"] for c in carried} == {"start", "contact", "end"}


def test_a_14_4_insats_takes_counts_only(client, store):
    cid = open_case(store, "mellerud", "radgivningssamtal", ApplicantFacts(stated_age=30))
    r = client.post(f"/v1/provider/requests/{cid}/events", json=ev("start", D0), headers=h("mellerud"))
    assert r.status_code == 409
    body = {"event_id": str(uuid.uuid4()), "kommun": "mellerud", "insats_id": "radgivningssamtal",
            "date": D0.isoformat(), "topic": "foraldraskap", "channel": "telephony", "form": "phone", "count": 7}
    assert client.post("/v1/provider/advisory-counts", json=body, headers=h("mellerud")).status_code == 201
    assert client.post("/v1/provider/advisory-counts", json=body, headers=h("mellerud")).status_code == 200
    assert client.post("/v1/provider/advisory-counts", json={**body, "count": 8},
                       headers=h("mellerud")).status_code == 409
    assert client.post("/v1/provider/advisory-counts", json={**body, "event_id": str(uuid.uuid4()), "note": "x"},
                       headers=h("mellerud")).status_code == 422
    store.flush_staged(NOW, everything=True)
    assert store.count(step="count") == 1
    FIGURES["carrying-out events documented: advisory (counts)"] += 1
    with store.engine.connect() as conn:
        (rid, body_text), = conn.exec_driver_sql(
            "SELECT request_id, body FROM audit_records WHERE step = 'count'").all()
    assert rid != body["event_id"] and body["event_id"] not in body_text


def test_the_end_of_a_14_3_insats_enters_the_history_index(client, store, svc, clean_redis):
    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    svc.rt.redis = aioredis.Redis.from_url(clean_redis)
    url = f"/v1/provider/requests/{cid}/events"
    client.post(url, json=ev("start", D0), headers=h("bryggan"))
    assert client.post(url, json=ev("end", D0 + dt.timedelta(days=10), end="completed"),
                       headers=h("bryggan")).status_code == 201

    async def read():
        r = aioredis.Redis.from_url(clean_redis)
        secret = history.secret_of(AuditSettings().history_key, False)
        try:
            keys = [k async for k in r.scan_iter("iub:history:*")]
            ends = await history.read_ends(r, secret, "ostersund", PNR)
            return keys, ends, await r.ttl(keys[0])
        finally:
            await r.aclose()

    keys, ends, ttl = asyncio.run(read())
    assert len(keys) == 1 and PNR.encode() not in keys[0]
    assert [(e.insats_id, e.unit, e.ended_on) for e in ends] == [("biffsamtal", BRYGGAN, D0 + dt.timedelta(days=10))]
    assert ttl > 0


def _pnr(year: int, serial: int, woman: bool) -> str:
    """A valid-looking 12-digit personnummer (check digit not needed by the follow-up)."""
    gender_digit = (2 * serial) % 10 if woman else (2 * serial + 1) % 10
    return f"{year}0101{serial % 10}{serial % 10}{gender_digit}0"


def _carry(client, store, kommun, insats, who, facts, events):
    cid = open_case(store, kommun, insats, facts)
    for kind, days, extra in events:
        r = client.post(f"/v1/provider/requests/{cid}/events", json=ev(kind, D0 + dt.timedelta(days=days), **extra),
                        headers=h(who))
        assert r.status_code == 201, r.text
    return cid


def seed_followup(client, store):
    """The follow-up test data: 12 Biffsamtal participants, 6 at CMV (14:5), advisory counts in Mellerud."""
    for i in range(12):
        facts = ApplicantFacts(personnummer=_pnr(1960 + (i % 3) * 15, i, woman=i % 2 == 0),
                               folkbokford_i_kommunen=True)
        if i < 8:
            end = ("end", 40, {"end": "completed"})
        elif i < 11:
            end = ("end", 20, {"end": "ended_early", "reason": "flyttat"})
        else:
            end = None
        evs = [("start", i % 2, {}), ("contact", 5, {"form": "group", "minutes": 90}),
               ("contact", 12, {"form": "group", "minutes": 90})] + ([end] if end else [])
        _carry(client, store, "ostersund", "biffsamtal", "bryggan", facts, evs)
    for i in range(6):
        _carry(client, store, "jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta", "cmv",
               ApplicantFacts(stated_age=30 + i, legal_gender="kvinna"),
               [("start", 0, {"situation": "arbetssokande", "scales": {"maende": 2}}),
                ("contact", 3, {"form": "individual", "minutes": 50}),
                ("end", 30, {"end": "completed", "situation": "arbete-studier" if i < 5 else "arbetssokande",
                             "scales": {"maende": 4 if i < 5 else 2}})])
    for topic, n in (("foraldraskap", 9), ("samlevnad", 3)):
        body = {"event_id": str(uuid.uuid4()), "kommun": "mellerud", "insats_id": "radgivningssamtal",
                "date": D0.isoformat(), "topic": topic, "channel": "telephony", "count": n}
        assert client.post("/v1/provider/advisory-counts", json=body, headers=h("mellerud")).status_code == 201
    store.flush_staged(NOW, everything=True)


def test_the_followup_of_the_test_data_is_suppressed_like_stats(client, store):
    seed_followup(client, store)
    r = client.get("/v1/followup", params={"kommun": "ostersund", "year": 2025, "format": "json"}, headers=h("board"))
    assert r.status_code == 200, r.text
    (biff,) = r.json()["insatser"]
    assert (biff["contacts"], biff["participants"], biff["started"]) == (24, 12, 12)
    assert biff["outcome"]["completed"] == 8
    assert biff["outcome"]["ended_early:flyttat"] == "<5"  # 3, and the 1 ongoing: small
    assert biff["outcome"]["ongoing"] == "<5"
    assert biff["share_completed"] is None  # 3 ended early: a share would reveal it
    assert PNR not in r.text
    cmv = client.get("/v1/followup", params={"kommun": "jamtland-lansverksamheter", "year": 2025, "format": "json"},
                     headers=h("board")).json()["insatser"][0]
    assert cmv["participants"] == 6 and cmv["outcome"]["completed"] == 6 and cmv["share_completed"] == 1.0
    assert cmv["age_gender"]["column_totals"]["kvinna"] == 6  # as the 14:5 decision records documented it
    assert cmv["change_start_to_end"]["skala:maende"]["bättre"] == 5
    assert cmv["change_start_to_end"]["skala:maende"]["oförändrat"] == "<5"
    adv = client.get("/v1/followup", params={"kommun": "mellerud", "year": 2025, "format": "json"},
                     headers=h("board")).json()["insatser"][0]
    assert adv["advisory_by_topic"]["cells"] == {"foraldraskap": "x", "samlevnad": "<5"}
    assert adv["advisory_by_topic"]["total"] == 12
    page = client.get("/v1/followup", params={"kommun": "ostersund", "year": 2025}, headers=h("board"))
    assert page.status_code == 200 and "<svg" in page.text and "Deltagare per månad" in page.text
    assert "http" not in page.text.split("<main>")[1]  # nothing fetched: no CDN, no script
    assert "<script" not in page.text
    # scope: another kommun, another operation
    assert client.get("/v1/followup", params={"kommun": "sala", "year": 2025}, headers=h("board")).status_code == 403
    assert client.get("/v1/followup", params={"kommun": "ostersund", "year": 2025},
                      headers=h("bryggan")).status_code == 403


def test_the_followup_cli_prints_csv(client, store, store_url, monkeypatch):
    from typer.testing import CliRunner

    from iub_cli.main import app

    seed_followup(client, store)
    res = CliRunner().invoke(app, ["audit", "followup", "--kommun", "ostersund", "--year", "2025", "--csv",
                                   "--database-url", store_url])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0] == "kommun,year,insats_id,unit,level,measure,value"
    assert "ostersund,2025,biffsamtal,Enhet Familjestöd Bryggan (sektor Öppenvård),individual,participants,12" in lines
    assert any(",end:ended_early:flyttat,<5" in line for line in lines)
    print("\n".join(lines))  # the follow-up table of the test data (for the issue note)


def test_the_history_index_is_rebuilt_from_the_store(client, store, store_url, clean_redis, monkeypatch):
    from typer.testing import CliRunner

    from iub_cli.main import app

    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    for body in (ev("start", D0), ev("end", D0 + dt.timedelta(days=2), end="completed")):
        assert client.post(f"/v1/provider/requests/{cid}/events", json=body, headers=h("bryggan")).status_code == 201
    monkeypatch.setenv("REDIS_URL", clean_redis)
    res = CliRunner().invoke(app, ["audit", "history-index", "--database-url", store_url])
    assert res.exit_code == 0, res.output
    assert "1 avslut" in res.output

    async def read():
        r = aioredis.Redis.from_url(clean_redis)
        try:
            return await history.read_ends(r, history.secret_of(AuditSettings().history_key, False), "ostersund", PNR)
        finally:
            await r.aclose()

    assert [(e.insats_id, e.ended_on) for e in asyncio.run(read())] == [("biffsamtal", D0 + dt.timedelta(days=2))]


def test_gallring_takes_the_event_index_with_the_records(client, store):
    from iub_audit.carrying_out import purge_events

    cid = open_case(store, "ostersund", "biffsamtal", ADULT)
    client.post(f"/v1/provider/requests/{cid}/events", json=ev("start", D0), headers=h("bryggan"))
    assert purge_events(store.engine, {"individual": D0}) == 0  # the cutoff day itself is kept
    assert purge_events(store.engine, {"individual": D0 + dt.timedelta(days=1)}) == 1
