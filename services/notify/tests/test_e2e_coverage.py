"""End to end, as real processes: every request gets the information or an explicit, dead-lettered failure."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from notify_receiver import Receiver
from redis.asyncio import Redis

from iub_contracts import streams
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, RequestReceived
from iub_notify.coverage import read_coverage
from iub_notify.queue import set_wait_days
from iub_runtime.processes import RedisServer, System, free_port
from iub_runtime.webhooks import verify

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

SECRET = "e2e-signing-secret"
ENV = {"IUB_CLAIM_IDLE_MS": "1000", "IUB_MAX_DELIVERIES": "5", "IUB_LOG_JSON": "true",
       "IUB_DELIVERY_RETRIES": "2", "IUB_DELIVERY_BASE_DELAY_S": "0.05", "IUB_SIGNING_SECRET": SECRET,
       "IUB_AUTH_DISABLED": "true",  # intake in its explicit development mode
       "IUB_CALLBACK_ALLOWED_NETWORKS": "[\"127.0.0.0/8\"]"}  # the test receivers are local (explicit)


def requests_to_send(ok_url: str, bad_url: str) -> list[tuple[str, dict]]:
    """(what it shows, request body): eligible, refused, consent, queue, fallback, failing callback."""
    app_ok = {"kind": "app_callback", "callback_url": ok_url}
    return [
        ("eligible until the next weekday", {
            "kommun": "ostersund", "insats_id": "akutboendet",
            "facts": {"personnummer": "19811218-9876", "folkbokford_i_kommunen": False}}),
        ("refused by eligibility", {"kommun": "ostersund", "insats_id": "arbetsmarknadsinsatser",
                                    "facts": {"personnummer": "19500101-2383", "folkbokford_i_kommunen": True},
                                    "delivery": app_ok}),
        ("both guardians' consent missing", {"kommun": "sala", "insats_id": "krisstod", "delivery": app_ok,
                                             "facts": {"stated_age": 12, "folkbokford_i_kommunen": True,
                                                       "guardians": [{"label": "vårdnadshavare 1", "consent": True},
                                                                     {"label": "vårdnadshavare 2"}]}}),
        ("in a long queue, in English", {"kommun": "sala", "insats_id": "foraldraprogram-abc", "language": "en",
                                         "facts": {"stated_age": 35, "folkbokford_i_kommunen": True},
                                         "delivery": app_ok}),
        ("in Finnish, which falls back", {"kommun": "mellerud", "insats_id": "radgivningssamtal", "language": "fi",
                                          "facts": {"bosatt_eller_vistas_i_kommunen": True}}),
        ("to an app backend that is down", {"kommun": "mellerud", "insats_id": "radgivningssamtal",
                                            "facts": {"bosatt_eller_vistas_i_kommunen": True},
                                            "delivery": {"kind": "app_callback", "callback_url": bad_url}}),
    ]


async def until(predicate, timeout: float, what: str) -> None:
    """Wait for an async condition with a deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_coverage_is_complete_after_a_mixed_end_to_end_run():
    tmp = Path(tempfile.mkdtemp(prefix="iub-notify-e2e-"))
    server = RedisServer(data_dir=tmp / "redis").start()
    port = free_port()
    redis = Redis.from_url(server.url)
    system = None
    try:
        async with Receiver((200,)) as ok, Receiver((500,)) as bad:
            await set_wait_days(redis, "sala", "foraldraprogram-abc", 60)
            system = System(redis_url=server.url, env={**ENV, "IUB_VAR_DIR": str(tmp)}, http_port=port,
                            processes_per_service=1, log_dir=tmp / "logs").start()
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                await until(lambda: _healthy(client), 60, "intake /health")
                sent = {}
                for label, body in requests_to_send(ok.url + "/cb", bad.url + "/cb"):
                    r = await client.post("/v1/requests", json={**body, "channel": "app"})
                    assert r.status_code == 202, (label, r.text)
                    sent[label] = r.json()["request_id"]
                # a request for an insats not in the catalogue that reached the stream anyway
                rid = uuid.uuid4()
                now = dt.datetime.now(dt.UTC)
                await redis.xadd(streams.REQUESTS, {"__data__": RequestReceived(
                    correlation_id=rid, occurred_at=now, request_id=rid, kommun="sala", insats_id="finns-inte",
                    channel=Channel.APP, facts=ApplicantFacts(), received_at=now).model_dump_json()})
                sent["unknown insats"] = str(rid)
                today = now.astimezone(dt.UTC).date().isoformat()
                await until(lambda: _complete(redis, len(sent)), 90, "information for every request")
                report = await read_coverage(redis, None, None, None)
                statuses = {label: (await client.get(f"/v1/requests/{rid}")).json() for label, rid in sent.items()
                            if label != "unknown insats"}
        print("\nE2E COVERAGE", today, json.dumps({
            "received": report.received, "delivered": report.delivered, "failed": report.failed,
            "dead_lettered": report.dead_lettered, "pending": report.pending,
            "delivered_pct": report.delivered_pct, "accounted_pct": report.accounted_pct}))
        assert (report.received, report.delivered, report.failed, report.pending) == (7, 6, 1, 0)
        assert report.failed_without_dead_letter == 0 and report.accounted_pct == 100.0
        assert report.failed_ids == (sent["to an app backend that is down"],)
        assert len(bad.requests) == 3  # first attempt + 2 retries, then dead-lettered
        assert len(ok.requests) == 3  # one POST per app request, never twice
        for req in ok.requests:
            verify(SECRET, req.headers["webhook-id"], req.headers["webhook-timestamp"],
                   req.headers["webhook-signature"], req.body, now=time.time())
        texts = {json.loads(r.body)["request_id"]: json.loads(r.body)["text"] for r in ok.requests}
        assert "hindrar inte att du ansöker" in texts[sent["refused by eligibility"]]
        assert "Samtycke behövs från alla dina vårdnadshavare" in texts[sent["both guardians' consent missing"]]
        assert "currently about 60 days" in texts[sent["in a long queue, in English"]]
        assert "till och med" in statuses["eligible until the next weekday"]["information"]
        assert statuses["to an app backend that is down"]["status"] == "information_failed"
        assert all(s["status"] == "informed" for label, s in statuses.items() if "down" not in label)
    finally:
        if system is not None:
            system.stop()
        await redis.aclose()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def _complete(redis: Redis, n: int) -> bool:
    report = await read_coverage(redis, None, None, None)
    return report.received == n and report.complete
