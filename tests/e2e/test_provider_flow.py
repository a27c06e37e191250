"""A provider confirms facts with the services as real processes (issue 10, points 1–3 and 8).

Sala's Medling for a 14-year-old needs both guardians' consent (14 kap 5 §: anonymised). The
request is decided `needs_consent`; the provider (a credential scoped to Sala and the unit)
finds it in the inbox, records both guardians' consent and the villkor checked on an ID card;
eligibility decides again: a revision `eligible`, the earlier decision kept, the person informed
again because the outcome changed, audit documenting the revision at the insats's level. A
retried post documents once, and the personnummer is found nowhere it must not be.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from iub_audit.schema import case_revisions, provider_events
from iub_audit.store import AuditStore, make_engine
from iub_contracts import streams
from iub_runtime.auth import ClientConfig, Operation, hash_key, new_key
from iub_runtime.processes import RedisServer, System, free_port, wait_until
from tests.e2e.conftest import E2E_ENV
from tests.e2e.helpers import dead_letters, total_pending

pytestmark = pytest.mark.e2e

UNIT = "Social- och arbetsmarknadskontoret, Sala kommun"


def luhn_pnr(born: dt.date, serial: str = "238") -> str:
    """A valid 12-digit personnummer (check digit by Luhn) for a birth date."""
    ten = born.strftime("%y%m%d") + serial
    total = 0
    for i, ch in enumerate(ten):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return born.strftime("%Y%m%d") + serial + str((10 - total % 10) % 10)


@pytest.fixture(scope="module")
def system():
    key, other_key, mellerud_key, ops_key = new_key(), new_key(), new_key(), new_key()
    clients = {"clients": [
        ClientConfig(id="sala-sak", name="Sala SAK", key_sha256=[hash_key(key)], kommuner=["sala"], units=[UNIT],
                     operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]).model_dump(mode="json"),
        ClientConfig(id="sala-bryggan", name="Annan enhet", key_sha256=[hash_key(other_key)], kommuner=["sala"],
                     units=["Familjecentralen"], operations=[Operation.PROVIDER_READ]).model_dump(mode="json"),
        ClientConfig(id="mellerud", name="Mellerud", key_sha256=[hash_key(mellerud_key)], kommuner=["mellerud"],
                     units=["Socialtjänsten i Melleruds kommun"],
                     operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]).model_dump(mode="json"),
        ClientConfig(id="ops", name="Drift", key_sha256=[hash_key(ops_key)], kommuner=["*"],
                     operations=[Operation.OPS_READ]).model_dump(mode="json"),
    ]}
    tmp = Path(tempfile.mkdtemp(prefix="iub-e2e-provider-"))
    server = RedisServer(data_dir=tmp / "redis").start()
    port, audit_port = free_port(), free_port()
    sys_ = System(redis_url=server.url, env={**E2E_ENV, "IUB_VAR_DIR": str(tmp)}, http_port=port,
                  audit_port=audit_port, log_dir=tmp / "logs",
                  service_env={"audit": {"IUB_CLIENTS_JSON": json.dumps(clients)}}).start()
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()["ok"], 60, what="intake")
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{audit_port}/health", timeout=1).status_code == 200, 60,
                   what="audit")
        yield {"intake": f"http://127.0.0.1:{port}", "audit": f"http://127.0.0.1:{audit_port}", "key": key,
               "other": other_key, "mellerud": mellerud_key, "ops": ops_key, "redis": server.url, "tmp": tmp}
    finally:
        sys_.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_provider_confirms_consent_and_the_revision_makes_medling_eligible(system):
    today = dt.datetime.now(dt.UTC).date()
    pnr = luhn_pnr(today.replace(year=today.year - 14) - dt.timedelta(days=30))
    body = {"kommun": "sala", "insats_id": "medling", "channel": "app",
            "facts": {"personnummer": pnr, "folkbokford_i_kommunen": True,
                      "other_facts": {"garningspersonen_har_fyllt_12_ar": True},
                      "guardians": [{"label": "mamma"}, {"label": "pappa"}]}}
    r = httpx.post(f"{system['intake']}/v1/requests", json=body, timeout=10)
    assert r.status_code == 202, r.text
    me = {"Authorization": f"Bearer {system['key']}"}
    inbox_url = f"{system['audit']}/v1/provider/requests"

    def listed() -> bool:
        return httpx.get(inbox_url, params={"status": "needs_consent"}, headers=me, timeout=5).json()["total"] == 1

    wait_until(listed, 30, what="case in the inbox")
    [item] = httpx.get(inbox_url, params={"status": "needs_consent"}, headers=me, timeout=5).json()["items"]
    case_id = item["case_id"]
    assert case_id != r.json()["request_id"]  # 14 kap 5 §: the keyed id, never the client's request id
    case = httpx.get(f"{inbox_url}/{case_id}", headers=me, timeout=5)
    assert case.json()["person"]["age_band"] == "13-14" and pnr not in case.text
    # another unit: exactly like a case that does not exist
    other = httpx.get(f"{inbox_url}/{case_id}", headers={"Authorization": f"Bearer {system['other']}"}, timeout=5)
    missing = httpx.get(f"{inbox_url}/{uuid.uuid4()}", headers=me, timeout=5)
    assert (other.status_code, other.json()) == (missing.status_code, missing.json()) == (404, missing.json())

    at = dt.datetime.now(dt.UTC).isoformat()
    facts = {"event_id": str(uuid.uuid4()), "staff_id": "sak-anna",
             "villkor": [{"key": "garningsperson-fyllt-12", "result": "confirmed", "confirm_by": "ID-handling"}],
             "consents": [{"guardian": f"vårdnadshavare {n}", "given": True, "recorded_by": "sak-anna",
                           "recorded_at": at} for n in (1, 2)]}
    bad = httpx.post(f"{inbox_url}/{case_id}/facts", json=facts | {"note": pnr}, headers=me, timeout=5)
    assert bad.status_code == 422 and pnr not in bad.text and "note" in bad.text
    started = time.monotonic()
    posted = httpx.post(f"{inbox_url}/{case_id}/facts", json=facts, headers=me, timeout=5)
    assert posted.status_code == 202, posted.text
    retried = httpx.post(f"{inbox_url}/{case_id}/facts", json=facts, headers=me, timeout=5)
    assert retried.status_code == 202 and retried.json()["duplicate"] is True

    def revised() -> bool:
        v = httpx.get(f"{inbox_url}/{case_id}", headers=me, timeout=5).json()
        return v["status"] == "eligible" and v["revision"] == 1

    wait_until(revised, 30, what="revision eligible")
    revision_s = time.monotonic() - started
    view = httpx.get(f"{inbox_url}/{case_id}", headers=me, timeout=5).json()
    assert [(x["revision"], x["outcome"]) for x in view["revisions"]] == [(0, "needs_consent"), (1, "eligible")]

    store = AuditStore(make_engine(f"sqlite:///{system['tmp'] / 'audit.sqlite3'}"))
    # informed again because the outcome changed; the revision documented at 14 kap 5 §; the first kept
    wait_until(lambda: store.count(step="information:r1", level="anonymised") == 1, 30, what="informed again")
    informed_s = time.monotonic() - started
    assert store.count(step="decision", level="anonymised") == 1
    assert store.count(step="decision:r1", level="anonymised") == 1
    assert store.count(step="information", level="anonymised") == 1
    assert store.count(personnummer=pnr) == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(provider_events)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(case_revisions)).scalar() == 2

    client = redis.Redis.from_url(system["redis"])
    assert client.xlen(streams.PROVIDER_FACTS) == 1 and client.xlen(streams.REVISIONS) == 1
    wait_until(lambda: total_pending(client) == 0, 15, what="nothing pending")
    assert dead_letters(client) == 0
    # the canary: the personnummer in no log line, no stream entry of the new streams, no case row
    logs = "".join(p.read_text(errors="replace") for p in (system["tmp"] / "logs").glob("*"))
    assert logs and pnr not in logs and pnr[2:] not in logs
    for s in (streams.PROVIDER_FACTS, streams.REVISIONS):
        assert all(pnr not in f[b"__data__"].decode() for _, f in client.xrange(s))
    metrics = httpx.get(f"{system['audit']}/metrics", headers={"Authorization": f"Bearer {system['ops']}"}, timeout=5)
    assert metrics.status_code == 200 and 'step="revision"' in metrics.text
    assert pnr not in metrics.text and case_id not in metrics.text
    print(f"\nprovider flow (14 kap 5 §, Sala Medling, 14 år): facts → revision eligible in {revision_s:.2f} s, "
          f"informed again and documented in {informed_s:.2f} s; provider events 1 (retry documented once); "
          f"records decision/decision:r1/information/information:r1 = 1/1/1/1; log lines searched "
          f"{logs.count(chr(10))}, canary found 0")


@pytest.mark.parametrize(("kommun", "insats", "key", "villkor", "confirm_by", "level"), [
    ("sala", "skuldradgivning-och-skuldsanering", "key", "folkbokford-i-sala", "personbevis/folkbokföringsuppgift",
     "individual"),
    ("mellerud", "radgivningssamtal", "mellerud", "bosatt-eller-vistas",
     "hyreskontrakt eller annan uppgift om var personen bor", "advisory"),
], ids=["14 kap 3 §", "14 kap 4 §"])
def test_a_villkor_confirmed_by_the_provider_turns_needs_facts_into_eligible(system, kommun, insats, key, villkor,
                                                                               confirm_by, level):
    pnr = luhn_pnr(dt.date(1981, 12, 18), "987")
    r = httpx.post(f"{system['intake']}/v1/requests", timeout=10, json={
        "kommun": kommun, "insats_id": insats, "channel": "app", "facts": {"personnummer": pnr}})
    assert r.status_code == 202, r.text
    me = {"Authorization": f"Bearer {system[key]}"}
    inbox_url = f"{system['audit']}/v1/provider/requests"

    def listed() -> list:
        return httpx.get(inbox_url, params={"status": "needs_facts"}, headers=me, timeout=5).json()["items"]

    wait_until(lambda: len(listed()) == 1, 30, what="case in the inbox")
    case_id = listed()[0]["case_id"]
    view = httpx.get(f"{inbox_url}/{case_id}", headers=me, timeout=5).json()
    if level == "individual":
        assert case_id == r.json()["request_id"] and view["person"]["personnummer"] == pnr
    else:  # 14 kap 4 §: nothing personal, not even the request id
        assert case_id != r.json()["request_id"] and view["person"] is None and pnr not in json.dumps(view)
    posted = httpx.post(f"{inbox_url}/{case_id}/facts", headers=me, timeout=5, json={
        "event_id": str(uuid.uuid4()), "staff_id": "handl-1",
        "villkor": [{"key": villkor, "result": "confirmed", "confirm_by": confirm_by}]})
    assert posted.status_code == 202, posted.text
    store = AuditStore(make_engine(f"sqlite:///{system['tmp'] / 'audit.sqlite3'}"))
    wait_until(lambda: httpx.get(f"{inbox_url}/{case_id}", headers=me, timeout=5).json()["status"] == "eligible",
               30, what="revision eligible")
    wait_until(lambda: store.count(step="information:r1", level=level, insats_id=insats) == 1, 30,
               what="informed again")
    assert store.count(step="decision", insats_id=insats) == store.count(step="decision:r1", insats_id=insats) == 1
    assert store.count(personnummer=pnr, insats_id=insats) == (4 if level == "individual" else 0)
    logs = "".join(p.read_text(errors="replace") for p in (system["tmp"] / "logs").glob("*"))
    assert pnr not in logs and pnr[2:] not in logs
