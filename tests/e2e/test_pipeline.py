"""The four services as real processes: a request flows through all of them, in order."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis

from iub_audit.store import AuditStore, make_engine
from iub_contracts import streams
from iub_runtime.processes import wait_until
from tests.e2e.helpers import dead_letters, entry_ids, total_pending

pytestmark = pytest.mark.e2e

PNR = "19811218-9876"


def test_a_request_produces_a_decision_a_notification_and_its_documentation_in_order(running, api_headers):
    body = {"kommun": "ostersund", "insats_id": "akutboendet", "channel": "app",
            "facts": {"personnummer": PNR, "folkbokford_i_kommunen": False}}
    r = httpx.post(f"{running.base_url}/v1/requests", json=body, headers=api_headers, timeout=10)
    assert r.status_code == 202, r.text
    rid = r.json()["request_id"]
    assert r.headers["location"] == f"/v1/requests/{rid}"

    def informed() -> bool:
        s = httpx.get(f"{running.base_url}/v1/requests/{rid}", headers=api_headers, timeout=5).json()
        return s["status"] == "informed"

    wait_until(informed, 30, what="information delivered")
    status = httpx.get(f"{running.base_url}/v1/requests/{rid}", headers=api_headers, timeout=5).json()
    assert status["decision"]["outcome"] == "eligible"
    assert status["decision"]["valid_until"] is not None  # Akutboendet without folkbokföring
    assert "11 kap. 1 §" in status["information"]

    client = redis.Redis.from_url(running.redis.url)
    decided = entry_ids(client, streams.DECISIONS, rid)
    informed_ids = entry_ids(client, streams.INFORMATION, rid)
    assert len(decided) == len(informed_ids) == 1
    assert client.xlen(streams.RECORDED) == 0  # informing no longer goes through audit
    # stream entry ids are time-ordered: decision, then notification
    as_tuple = lambda i: tuple(int(x) for x in i.split("-"))  # noqa: E731
    assert as_tuple(decided[0]) < as_tuple(informed_ids[0])

    store = AuditStore(make_engine(running.audit_db_url))
    wait_until(lambda: store.count(request_id=rid) == 2, 15, what="decision and information documented")
    assert store.count(request_id=rid, step="decision", level="individual") == 1
    # the chain shows both, decision first
    steps = [r["step"] for r in store.export_person(PNR.replace("-", ""))]
    assert steps[-2:] == ["decision", "information"]
    wait_until(lambda: total_pending(client) == 0, 15, what="nothing pending")
    assert dead_letters(client) == 0


def test_an_unknown_insats_on_the_stream_still_gets_the_information(running):
    """A request that bypassed intake's 404 (e.g. a catalogue change) is answered, not dead-lettered."""
    import datetime as dt

    from iub_contracts.facts import ApplicantFacts
    from iub_contracts.messages import Channel, RequestReceived

    rid = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    msg = RequestReceived(correlation_id=rid, occurred_at=now, request_id=rid, kommun="sala",
                          insats_id="finns-inte", channel=Channel.APP, facts=ApplicantFacts(), received_at=now)
    client = redis.Redis.from_url(running.redis.url)
    client.xadd(streams.REQUESTS, {"__data__": msg.model_dump_json()})
    wait_until(lambda: len(entry_ids(client, streams.INFORMATION, str(rid))) == 1, 30, what="information")
    assert dead_letters(client) == 0
