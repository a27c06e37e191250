"""Partsinsyn over HTTP: authenticated, scoped per kommun, individual records only, no personnummer echoed."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import redis
from audit_support import ADVISORY, ANONYMISED, CATALOG, INDIVIDUAL, PNR, decision, write
from fastapi.testclient import TestClient

from iub_audit.app import create_api
from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_contracts import streams
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key

KEYS = {"ostersund-hl": "key-ostersund-handlaggare", "all-hl": "key-every-kommun", "intake-app": "key-app-backend",
        "operator": "key-operator-prometheus"}
REGISTRY = ClientRegistry([
    ClientConfig(id="ostersund-hl", name="Handläggare Östersund", key_sha256=[hash_key(KEYS["ostersund-hl"])],
                 kommuner=["ostersund"], operations=[Operation.INSYN]),
    ClientConfig(id="all-hl", name="Handläggare alla", key_sha256=[hash_key(KEYS["all-hl"])], kommuner=["*"],
                 operations=[Operation.INSYN]),
    ClientConfig(id="intake-app", name="Appen", key_sha256=[hash_key(KEYS["intake-app"])], kommuner=["*"],
                 operations=[Operation.REQUESTS_CREATE]),
    ClientConfig(id="operator", name="Drift", key_sha256=[hash_key(KEYS["operator"])], kommuner=["*"],
                 operations=[Operation.OPS_READ]),
])
SALA_INDIVIDUAL = ("sala", "skuldradgivning-och-skuldsanering")


@pytest.fixture
def client(store, tmp_path):
    """The audit API over the parametrised store, lifespan not run (no broker needed)."""
    svc = build_service(AuditSettings(var_dir=str(tmp_path)))
    svc.state.update(catalog=CATALOG, store=store)
    write(store, INDIVIDUAL, 2)
    write(store, SALA_INDIVIDUAL, 1)
    write(store, ANONYMISED, 2)
    write(store, ADVISORY, 1)
    return TestClient(create_api(AuditSettings(var_dir=str(tmp_path)), registry=REGISTRY, service=svc))


def auth(client_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[client_id]}"}


def test_a_case_worker_gets_the_persons_individual_records_in_their_kommun_only(client):
    r = client.post("/v1/insyn", json={"personnummer": "811218-9876"}, headers=auth("ostersund-hl"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2
    assert {(rec["kommun"], rec["level"]) for rec in body["records"]} == {("ostersund", "individual")}
    assert r.headers["cache-control"] == "no-store"


def test_a_case_worker_for_every_kommun_sees_every_individual_record_and_never_another_level(client):
    r = client.post("/v1/insyn", json={"personnummer": PNR}, headers={"X-API-Key": KEYS["all-hl"]})
    assert r.json()["count"] == 3
    assert {rec["level"] for rec in r.json()["records"]} == {"individual"}


@pytest.mark.parametrize(
    ("headers", "payload", "status"),
    [
        ({}, {"personnummer": PNR}, 401),
        ({"Authorization": "Bearer wrong-key"}, {"personnummer": PNR}, 401),
        ({"Authorization": f"Bearer {KEYS['intake-app']}"}, {"personnummer": PNR}, 403),
        ({"Authorization": f"Bearer {KEYS['ostersund-hl']}"}, {"personnummer": PNR, "kommuner": ["sala"]}, 403),
        ({"Authorization": f"Bearer {KEYS['ostersund-hl']}"}, {"personnummer": "19811218-9875"}, 422),
        ({"Authorization": f"Bearer {KEYS['ostersund-hl']}"}, {"personnummer": PNR, "namn": "Anna"}, 422),
    ],
    ids=["no key", "an unknown key", "a client without audit:insyn", "a kommun outside the client's scope",
         "an invalid personnummer", "an unknown field"],
)
def test_insyn_is_refused_without_echoing_anything_sent(client, headers, payload, status):
    r = client.post("/v1/insyn", json=payload, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert payload["personnummer"] not in r.text and payload["personnummer"][2:] not in r.text
    assert "Anna" not in r.text


def test_the_personnummer_cannot_travel_in_the_url(client):
    assert client.get(f"/v1/insyn/{PNR}", headers=auth("all-hl")).status_code == 404
    assert client.get("/v1/insyn", params={"personnummer": PNR}, headers=auth("all-hl")).status_code == 405


def test_no_log_line_holds_the_personnummer(client, monkeypatch, caplog):
    from structlog.testing import CapturingLogger

    from iub_audit import insyn

    captured = CapturingLogger()
    monkeypatch.setattr(insyn, "log", captured)  # what the code hands the logger, before any redaction
    client.post("/v1/insyn", json={"personnummer": PNR}, headers=auth("ostersund-hl"))
    client.post("/v1/insyn", json={"personnummer": "19811218-9875"}, headers=auth("ostersund-hl"))
    client.post("/v1/insyn", json={"personnummer": PNR}, headers={})
    text = repr(captured.calls) + caplog.text
    assert [c.args[0] for c in captured.calls] == ["insyn_lookup", "insyn_unauthenticated"]
    assert "ostersund-hl" in text
    assert PNR not in text and PNR[2:] not in text and "9875" not in text


def test_without_configured_clients_insyn_is_unavailable_rather_than_open(store, tmp_path):
    svc = build_service(AuditSettings(var_dir=str(tmp_path)))
    svc.state.update(catalog=CATALOG, store=store)
    api = create_api(AuditSettings(var_dir=str(tmp_path)), registry=None, service=svc)
    r = TestClient(api).post("/v1/insyn", json={"personnummer": PNR}, headers=auth("all-hl"))
    assert r.status_code == 503


def test_metrics_need_the_operator_credential(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth("all-hl")).status_code == 403
    r = client.get("/metrics", headers=auth("operator"))
    assert r.status_code == 200 and "iub_audit_records_total" in r.text


def test_the_openapi_document_describes_insyn_as_a_post(client):
    doc = client.get("/openapi.json", headers=auth("all-hl")).json()
    assert list(doc["paths"]["/v1/insyn"]) == ["post"]


@pytest.mark.redis
def test_the_service_starts_its_consumers_in_the_lifespan_and_documents_from_real_redis(clean_redis, tmp_path):
    """uvicorn's lifespan: broker started, /health ok, a decision on the real stream gets documented."""
    settings = AuditSettings(redis_url=clean_redis, var_dir=str(tmp_path), claim_idle_ms=1000,
                             database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    api = create_api(settings, registry=REGISTRY)
    msg = decision(*INDIVIDUAL)
    with TestClient(api) as c:
        health = c.get("/health")
        assert health.status_code == 200, health.text
        r = redis.Redis.from_url(clean_redis)
        r.xadd(streams.DECISIONS, {"__data__": msg.model_dump_json()})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and r.xpending(streams.DECISIONS, streams.GROUP_AUDIT)["pending"] \
                + (0 if r.get(f"iub:audit:decided:{msg.request_id}") else 1) > 0:
            time.sleep(0.05)
        assert r.get(f"iub:audit:decided:{msg.request_id}") == b"individual"
        found = c.post("/v1/insyn", json={"personnummer": PNR}, headers=auth("ostersund-hl")).json()
        assert found["count"] == 1 and found["records"][0]["request_id"] == str(msg.request_id)
        r.close()
    assert dt.datetime.now(dt.UTC)  # the lifespan closed without error
