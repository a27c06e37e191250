"""Issue 13 (4): personal data does not outlive the retention on disk (Redis AOF)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import redis
from redis.asyncio import Redis

from iub_contracts import streams
from iub_runtime import metrics
from iub_runtime.processes import RedisServer
from iub_runtime.settings import RuntimeSettings
from iub_runtime.streams import AOF_REWRITE_KEY, aof_rewrite_done, rewrite_aof_if_due, trim_streams

RETENTION_S = 72 * 3600


def canary(i: int) -> str:
    """A personnummer-shaped marker no other data holds."""
    return f"1912121{i:05d}"


def aof_bytes(data_dir: Path) -> bytes:
    """Every AOF file's content (Redis 7 keeps a base and increments in appendonlydir/)."""
    return b"".join(p.read_bytes() for p in sorted((data_dir / "appendonlydir").iterdir()) if p.is_file())


async def wait_rewritten(r: Redis, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await aof_rewrite_done(r):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the AOF rewrite did not finish")


async def test_canaries_in_trimmed_entries_are_gone_from_the_aof_after_the_rewrite(tmp_path: Path) -> None:
    server = RedisServer(data_dir=tmp_path / "redis").start()  # appendonly yes, appendfsync always
    r = Redis.from_url(server.url)
    try:
        now_ms = int(time.time() * 1000)
        old_ms = now_ms - RETENTION_S * 1000 - 3_600_000  # an hour beyond the retention
        canaries = [canary(i) for i in range(30)]
        for i, value in enumerate(canaries):  # old entries on every stream and a dead-letter stream
            every = (*streams.ALL_STREAMS, *streams.ALL_DEAD_LETTER_STREAMS)
            stream = every[i % len(every)]
            await r.xadd(stream, {"__data__": json.dumps({"facts": {"personnummer": value}})}, id=f"{old_ms + i}-0")
        await r.xadd(streams.REQUESTS, {"__data__": json.dumps({"facts": {"personnummer": "KEEP-ME"}})})
        trimmed = await trim_streams(r, (*streams.ALL_STREAMS, *streams.ALL_DEAD_LETTER_STREAMS), RETENTION_S,
                                     exact=True)
        assert trimmed == 30
        before = aof_bytes(server.data_dir)
        hits_before = sum(c.encode() in before for c in canaries)
        assert hits_before == 30  # trimming alone leaves every canary on disk: what the attack found

        assert await rewrite_aof_if_due(r, every_s=3600) is True
        await wait_rewritten(r)
        assert await rewrite_aof_if_due(r, every_s=3600) is False  # once per period, across processes
        after = aof_bytes(server.data_dir)
        hits_after = sum(c.encode() in after for c in canaries)
        print(f"canaries in the AOF: {hits_before} of 30 after trimming, {hits_after} after the rewrite")
        assert hits_after == 0
        assert b"KEEP-ME" in after  # what is within the retention is still there
    finally:
        await r.aclose()
        server.stop()

    # and the data that stayed survives a restart from the rewritten AOF
    again = RedisServer(data_dir=tmp_path / "redis", port=server.port).start()
    try:
        client = redis.Redis.from_url(again.url)
        assert client.xlen(streams.REQUESTS) == 1
        client.close()
    finally:
        again.stop()


async def test_the_minute_housekeeping_starts_the_rewrite_when_due(tmp_path: Path) -> None:
    server = RedisServer(data_dir=tmp_path / "redis").start()
    r = Redis.from_url(server.url)
    try:
        before = (await r.info("persistence")).get("aof_rewrites")
        await metrics.housekeep(r, RuntimeSettings(aof_rewrite_hours=6))
        await wait_rewritten(r)
        assert 0 < await r.ttl(AOF_REWRITE_KEY) <= 6 * 3600
        info = await r.info("persistence")
        assert info.get("aof_last_bgrewrite_status") == "ok"
        if before is not None:
            assert info["aof_rewrites"] == before + 1
    finally:
        await r.aclose()
        server.stop()


def test_the_rewrite_period_keeps_trimmed_data_within_retention_plus_one_day() -> None:
    assert RuntimeSettings().aof_rewrite_hours <= 24
    assert RuntimeSettings.model_fields["aof_rewrite_hours"].metadata  # bounded by the setting's own limits
    try:
        RuntimeSettings(aof_rewrite_hours=25)
    except ValueError:
        pass
    else:
        raise AssertionError("a rewrite period beyond a day must be refused")


async def test_no_rewrite_is_started_on_a_redis_without_aof(redis_url: str) -> None:
    r = Redis.from_url(redis_url)
    try:
        await r.delete(AOF_REWRITE_KEY)
        assert await rewrite_aof_if_due(r, every_s=60) is False
        assert await r.exists(AOF_REWRITE_KEY) == 0
    finally:
        await r.aclose()
