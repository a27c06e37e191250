"""Reliable delivery on a real Redis: retries by the claimer, dead letters after N, poison, exactly-once effects."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid

import pytest
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from iub_contracts.messages import DeadLetter, Envelope
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.settings import RuntimeSettings
from iub_runtime.streams import StreamWriter, ensure_groups

pytestmark = pytest.mark.redis

STREAM, GROUP = "iub.test.work.v1", "worker"
NOW = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


class Work(Envelope):
    """A test message."""

    n: int


async def until(predicate, timeout=15.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(interval)
    raise AssertionError("condition not met before the deadline")


async def run_consumer(url: str, handle, *, max_deliveries=3):
    settings = RuntimeSettings(redis_url=url, claim_idle_ms=200, max_deliveries=max_deliveries,
                               polling_interval_ms=20)
    rt = Runtime(settings=settings, service="test")
    broker = RedisBroker(url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    register_consumer(broker, rt, stream=STREAM, group=GROUP, model=Work, handle=handle, description="test")
    await rt.connect()
    await ensure_groups(rt.redis, [(STREAM, GROUP)])
    await rt.prepare_streams()
    await broker.start()
    return rt, broker


async def publish(redis: Redis, n: int) -> None:
    w = Work(correlation_id=uuid.uuid4(), occurred_at=NOW, n=n)
    await redis.xadd(STREAM, {"__data__": w.model_dump_json()})


async def pending(redis: Redis) -> int:
    return (await redis.xpending(STREAM, GROUP))["pending"]


async def test_a_message_published_before_the_group_exists_is_still_consumed(clean_redis):
    redis = Redis.from_url(clean_redis)
    await publish(redis, 1)
    seen = []

    async def handle(w: Work):
        seen.append(w.n)

    rt, broker = await run_consumer(clean_redis, handle)
    try:
        await until(lambda: _true(seen == [1]))
        await until(lambda: _eq(pending(redis), 0))
    finally:
        await broker.stop()
        await rt.close()
        await redis.aclose()


async def test_group_creation_is_idempotent(clean_redis):
    redis = Redis.from_url(clean_redis)
    await ensure_groups(redis, [(STREAM, GROUP)])
    await ensure_groups(redis, [(STREAM, GROUP)])
    groups = await redis.xinfo_groups(STREAM)
    assert [g["name"] for g in groups] == [GROUP.encode()]
    await redis.aclose()


async def test_a_failing_handler_is_retried_by_the_claimer_until_it_succeeds(clean_redis):
    redis = Redis.from_url(clean_redis)
    calls = []

    async def handle(w: Work):
        calls.append(w.n)
        if len(calls) < 3:
            raise ConnectionError("transient")

    rt, broker = await run_consumer(clean_redis, handle, max_deliveries=5)
    try:
        await publish(redis, 7)
        await until(lambda: _true(len(calls) >= 3))
        await until(lambda: _eq(pending(redis), 0))
        assert calls == [7, 7, 7]
        assert await redis.xlen(STREAM + ".dlq") == 0
    finally:
        await broker.stop()
        await rt.close()
        await redis.aclose()


async def test_a_message_that_always_fails_is_dead_lettered_after_n_deliveries_with_its_error_type(clean_redis):
    redis = Redis.from_url(clean_redis)
    calls = []

    async def handle(w: Work):
        calls.append(w.n)
        raise KeyError("always")

    rt, broker = await run_consumer(clean_redis, handle, max_deliveries=3)
    try:
        await publish(redis, 9)
        await until(lambda: _eq(redis.xlen(STREAM + ".dlq"), 1))
        await until(lambda: _eq(pending(redis), 0))
        assert len(calls) == 3
        [(_, fields)] = await redis.xrange(STREAM + ".dlq")
        letter = DeadLetter.model_validate_json(fields[b"__data__"])
        assert letter.error_type == "KeyError"
        assert letter.deliveries == 3
        assert json.loads(letter.payload)["n"] == 9
    finally:
        await broker.stop()
        await rt.close()
        await redis.aclose()


async def test_a_poison_message_is_dead_lettered_and_does_not_block_the_messages_behind_it(clean_redis):
    redis = Redis.from_url(clean_redis)
    seen = []

    async def handle(w: Work):
        seen.append(w.n)

    rt, broker = await run_consumer(clean_redis, handle, max_deliveries=3)
    try:
        await redis.xadd(STREAM, {"__data__": b"\xff\x00 not json"})
        for n in range(5):
            await publish(redis, n)
        await until(lambda: _true(sorted(seen) == [0, 1, 2, 3, 4]), timeout=5)
        await until(lambda: _eq(redis.xlen(STREAM + ".dlq"), 1))
        await until(lambda: _eq(pending(redis), 0))
        [(_, fields)] = await redis.xrange(STREAM + ".dlq")
        assert DeadLetter.model_validate_json(fields[b"__data__"]).error_type == "ValidationError"
    finally:
        await broker.stop()
        await rt.close()
        await redis.aclose()


async def test_publish_once_writes_a_keyed_message_exactly_once(clean_redis):
    redis = Redis.from_url(clean_redis)
    writer = StreamWriter(redis, retention_s=3600, dedupe_ttl_s=3600)
    w = Work(correlation_id=uuid.uuid4(), occurred_at=NOW, n=1)
    first = await writer.publish("iub.test.out.v1", w, once_key="step:1")
    second = await writer.publish("iub.test.out.v1", w, once_key="step:1")
    assert first is not None and second is None
    assert await redis.xlen("iub.test.out.v1") == 1
    results = await writer.publish_many([("iub.test.out.v1", w, "step:2"), ("iub.test.out.v1", w, "step:2")])
    assert results[0] is not None and results[1] is None
    await redis.aclose()


async def test_streams_are_trimmed_to_the_retention(clean_redis):
    redis = Redis.from_url(clean_redis)
    old_ms = int(time.time() * 1000) - 10_000
    for i in range(200):
        await redis.xadd("iub.test.trim.v1", {"__data__": "{}"}, id=f"{old_ms}-{i}")
    writer = StreamWriter(redis, retention_s=1, dedupe_ttl_s=60)
    await writer.publish("iub.test.trim.v1", Work(correlation_id=uuid.uuid4(), occurred_at=NOW, n=1))
    # MINID ~ trims whole macro nodes: what is left of the old entries is less than one node
    assert await redis.xlen("iub.test.trim.v1") < 101
    await redis.aclose()


async def _true(value: bool) -> bool:
    return value


async def _eq(awaitable, expected) -> bool:
    return (await awaitable) == expected


async def run_batch_consumer(url: str, handle_batch, *, max_deliveries=3):
    settings = RuntimeSettings(redis_url=url, claim_idle_ms=200, max_deliveries=max_deliveries,
                               polling_interval_ms=20, batch_size=50)
    rt = Runtime(settings=settings, service="test")
    broker = RedisBroker(url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    register_consumer(broker, rt, stream=STREAM, group=GROUP, model=Work, handle_batch=handle_batch,
                      description="test")
    await rt.connect()
    await ensure_groups(rt.redis, [(STREAM, GROUP)])
    await rt.prepare_streams()
    await broker.start()
    return rt, broker


async def test_a_batch_is_handled_in_one_call_and_acked(clean_redis):
    redis = Redis.from_url(clean_redis)
    for n in range(40):
        await publish(redis, n)
    batches = []

    async def handle_batch(ws):
        batches.append([w.n for w in ws])

    rt, broker = await run_batch_consumer(clean_redis, handle_batch)
    try:
        await until(lambda: _true(sum(len(b) for b in batches) == 40))
        await until(lambda: _eq(pending(redis), 0))
        assert len(batches) < 40  # read in batches, not one by one
        assert sorted(n for b in batches for n in b) == list(range(40))
    finally:
        await broker.stop()
        await rt.close()
        await redis.aclose()


async def test_a_poison_entry_in_a_batch_is_isolated_by_the_claimer_and_the_rest_go_through(clean_redis):
    redis = Redis.from_url(clean_redis)
    for n in range(5):
        await publish(redis, n)
    await redis.xadd(STREAM, {"__data__": b"garbage"})
    for n in range(5, 10):
        await publish(redis, n)
    seen = set()

    async def handle_batch(ws):
        seen.update(w.n for w in ws)

    rt, broker = await run_batch_consumer(clean_redis, handle_batch)
    try:
        await until(lambda: _true(seen == set(range(10))))
        await until(lambda: _eq(redis.xlen(STREAM + ".dlq"), 1))
        await until(lambda: _eq(pending(redis), 0))
    finally:
        await broker.stop()
        await rt.close()
        await redis.aclose()
