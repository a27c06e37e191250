"""Nothing of audit's HTTP side answers without a key that should not (issue 13, point 6).

401 before the body is parsed, /metrics for operators only (or on its own port), the API
description private by default, insyn rate-limited per client, and every lookup recorded
(who, when, which requests) with the person only as a keyed hash.
"""

from __future__ import annotations

import json
import stat

import pytest
import redis
from audit_support import CATALOG, INDIVIDUAL, PNR, write
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_api import REGISTRY, auth

from iub_audit import insyn_log
from iub_audit.app import create_api
from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key


def api_for(store, tmp_path, **settings) -> TestClient:
    svc = build_service(AuditSettings(var_dir=str(tmp_path), **settings))
    svc.state.update(catalog=CATALOG, store=store)
    return TestClient(create_api(AuditSettings(var_dir=str(tmp_path), **settings), registry=REGISTRY, service=svc))


MALFORMED = [b"{", b'{"personnummer": ', b"[]", b'{"personnummer": 5}', b'{"nope": 1}', b"\xff\xfe", b""]


@pytest.mark.parametrize("raw", MALFORMED)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}])
def test_an_unauthenticated_malformed_body_gets_401_not_422(store, tmp_path, raw, headers):
    client = api_for(store, tmp_path)
    r = client.post("/v1/insyn", content=raw, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_client_without_insyn_gets_403_before_its_malformed_body_is_read(store, tmp_path):
    r = api_for(store, tmp_path).post("/v1/insyn", content=b"{", headers=auth("intake-app"))
    assert r.status_code == 403


def test_an_authenticated_malformed_body_gets_422(store, tmp_path):
    r = api_for(store, tmp_path).post("/v1/insyn", content=b"{", headers=auth("all-hl"))
    assert r.status_code == 422


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_the_api_description_is_private_by_default_and_public_by_setting(store, tmp_path, path):
    private = api_for(store, tmp_path)
    assert private.get(path).status_code == 401
    assert private.get(path, headers=auth("all-hl")).status_code == 200
    assert api_for(store, tmp_path, docs_public=True).get(path).status_code == 200
    assert api_for(store, tmp_path, dev_mode=True).get(path).status_code == 200
    assert api_for(store, tmp_path, dev_mode=True, docs_public=False).get(path).status_code == 401


def test_metrics_on_their_own_port_are_not_on_the_api_port(store, tmp_path):
    client = api_for(store, tmp_path, metrics_port=0)
    assert client.get("/metrics", headers=auth("operator")).status_code == 404


def test_every_lookup_is_recorded_with_who_when_which_requests_and_never_the_personnummer(store, tmp_path):
    write(store, INDIVIDUAL, 2)
    client = api_for(store, tmp_path)
    with store.engine.connect() as conn:
        insyn_log.ensure_table(store.engine)
        before = conn.execute(select(func.count()).select_from(insyn_log.lookups)).scalar_one()
    first = client.post("/v1/insyn", json={"personnummer": "811218-9876", "requested_by": "hl-4711"},
                        headers=auth("ostersund-hl"))
    assert first.status_code == 200
    assert client.post("/v1/insyn", json={"personnummer": PNR, "kommuner": ["sala"]},
                       headers=auth("ostersund-hl")).status_code == 403
    key = insyn_log.load_key(None, tmp_path / "insyn-log.key")
    assert stat.S_IMODE((tmp_path / "insyn-log.key").stat().st_mode) == 0o600
    rows = insyn_log.lookups_about(store.engine, key, PNR)[-2:]
    assert [(r["client_id"], r["outcome"], r["records"]) for r in rows] == [("ostersund-hl", "shown", 2),
                                                                           ("ostersund-hl", "refused_scope", 0)]
    shown = client.post("/v1/insyn", json={"personnummer": PNR}, headers=auth("ostersund-hl")).json()["records"]
    assert sorted(rows[0]["request_ids"]) == sorted(rec["request_id"] for rec in shown)
    assert len(rows[0]["request_ids"]) == 2
    assert rows[0]["kommuner"] == ["ostersund"] and rows[0]["at"] is not None
    assert (rows[0]["requested_by"], rows[1]["requested_by"]) == ("hl-4711", None)
    with store.engine.connect() as conn:
        everything = conn.execute(select(insyn_log.lookups)).all()
    assert len(everything) == before + 3
    dumped = json.dumps([list(map(str, r)) for r in everything])
    for form in (PNR, PNR[2:], "811218-9876", "19811218-9876"):
        assert form not in dumped
    # another key names nobody: the subject cannot be recomputed without the key
    assert insyn_log.lookups_about(store.engine, insyn_log.LookupKey(b"x" * 32), PNR) == []


@pytest.mark.redis
def test_insyn_is_rate_limited_per_client_across_the_window(clean_redis, tmp_path):
    settings = AuditSettings(redis_url=clean_redis, var_dir=str(tmp_path), insyn_rate_per_minute=3,
                             database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    other = ClientConfig(id="other-hl", name="x", key_sha256=[hash_key("key-other-hl")], kommuner=["*"],
                         operations=[Operation.INSYN])
    api = create_api(settings, registry=ClientRegistry([*REGISTRY.clients, other]))
    with TestClient(api) as c:
        codes = [c.post("/v1/insyn", json={"personnummer": PNR}, headers=auth("all-hl")).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.post("/v1/insyn", json={"personnummer": PNR}, headers=auth("all-hl"))
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["content-type"] == "application/problem+json"
        assert c.post("/v1/insyn", json={"personnummer": PNR},
                      headers={"X-API-Key": "key-other-hl"}).status_code == 200
        r = redis.Redis.from_url(clean_redis)
        assert 0 < r.pttl("iub:insyn-rate:audit:insyn:all-hl") <= 60_000
        r.close()


def test_a_body_over_the_limit_is_refused_before_parsing_and_405_names_the_allowed_methods(store, tmp_path):
    client = api_for(store, tmp_path)
    big = client.post("/v1/insyn", content=b"{" + b" " * 20_000 + b"}", headers=auth("all-hl"))
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    wrong = client.request("TRACE", "/health")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert wrong.headers["content-type"] == "application/problem+json"


def test_every_documented_problem_is_problem_json_with_its_headers(store, tmp_path):
    doc = api_for(store, tmp_path, docs_public=True).get("/openapi.json").json()
    responses = doc["paths"]["/v1/insyn"]["post"]["responses"]
    for status in ("401", "403", "413", "422", "429", "503"):
        assert "application/problem+json" in responses[status]["content"], status
    assert "WWW-Authenticate" in responses["401"]["headers"] and "Retry-After" in responses["429"]["headers"]
    assert "503" in doc["paths"]["/health"]["get"]["responses"]
