"""202 only once a replica holds the request (WAIT, IUB_MIN_REPLICAS_ACK); else 503 with Retry-After.

On real redis-server processes: a primary without its replica cannot get a request acknowledged,
so intake answers 503 and nothing it answered 202 for can be lost in a failover. Once the replica
is back, the same Idempotency-Key gets its 202 (the first request, not a second one). The same in
the sharded layout (one stream per kommun, every key of the script in the kommun's slot).
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis as redis_sync
from intake_support import bearer, make_settings, registry, started

from iub_contracts import streams
from iub_intake.app import create_api
from iub_runtime.processes import RedisServer, wait_until

pytestmark = pytest.mark.timeout(120)
BODY = {"kommun": "sala", "insats_id": "budgetradgivning", "facts": {}, "channel": "app"}


@pytest.mark.parametrize("shards", ["shared", "kommun"])
async def test_no_202_without_a_replica_then_the_same_key_gets_one_request(tmp_path, shards):
    primary = RedisServer(data_dir=tmp_path / "primary", durable=False).start()
    replica = None
    try:
        api = create_api(make_settings(primary.url, min_replicas_ack=1, replicas_ack_timeout_ms=200,
                                       stream_shards=shards), registry())
        stream = streams.named(streams.REQUESTS, "sala" if shards == "kommun" else None)
        r = redis_sync.Redis.from_url(primary.url)
        async with started(api) as http:
            headers = {**bearer("app-sala"), "Idempotency-Key": "k-1"}
            first = await http.post("/v1/requests", json=BODY, headers=headers)
            assert first.status_code == 503 and int(first.headers["retry-after"]) > 0
            assert first.headers["content-type"].startswith("application/problem+json")
            # the write is on the primary, unacknowledged; the key stands for it
            assert r.xlen(stream) == 1
            replica = RedisServer(data_dir=tmp_path / "replica", durable=False,
                                  extra=["--replicaof", "127.0.0.1", str(primary.port)]).start()
            wait_until(lambda: replica.client().info("replication").get("master_link_status") == "up", 30)
            # a client retries with the same key as Retry-After says; a replica that has only just
            # synced may take a moment to acknowledge, so allow a few retries within a deadline
            deadline = time.monotonic() + 15
            while (again := await http.post("/v1/requests", json=BODY, headers=headers)).status_code == 503 \
                    and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert again.status_code == 202
            assert r.xlen(stream) == 1, "the retry is the first request, not a second one"
            assert replica.client().xlen(stream) == 1, "the replica holds it"
            rid = again.json()["request_id"]
            status = await http.get(f"/v1/requests/{rid}", headers=bearer("app-sala"))
            assert status.status_code == 200
            fresh = await http.post("/v1/requests", json=BODY, headers={**bearer("app-sala"), "Idempotency-Key": "k-2"})
            assert fresh.status_code == 202 and r.xlen(stream) == 2
        r.close()
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()
