"""Retries by time on a real Redis: transient faults never dead-letter, backlogs drain in batches, waits show."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid

import pytest
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from iub_contracts.messages import DeadLetter
from iub_runtime.consumer import Later, Poison, Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.retry import Backoff, RetryState, is_transient, retry_key
from iub_runtime.settings import RuntimeSettings
from iub_runtime.streams import ensure_groups
from libs.runtime.tests.test_reliable_delivery import NOW, Work, until

pytestmark = pytest.mark.redis

STREAM, GROUP = "iub.test.retry.v1", "worker"
DLQ = STREAM + ".dlq"


async def start(url: str, *, handle=None, handle_batch=None, concurrency=1, **settings):
    s = RuntimeSettings(redis_url=url, **{"claim_idle_ms": 300, "max_deliveries": 3, "polling_interval_ms": 20,
                                          "claim_poll_ms": 50, "retry_initial_delay_s": 0.05,
                                          "retry_max_delay_s": 0.4, **settings})
    rt = Runtime(settings=s, service="test")
    broker = RedisBroker(url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    register_consumer(broker, rt, stream=STREAM, group=GROUP, model=Work, handle=handle, handle_batch=handle_batch,
                      concurrency=concurrency, description="test")
    await rt.connect()
    await ensure_groups(rt.redis, [(STREAM, GROUP)])
    await rt.prepare_streams()
    await broker.start()
    return rt, broker


async def stop(rt, broker) -> None:
    await broker.stop()
    await rt.close()


async def publish(redis: Redis, n: int) -> None:
    await redis.xadd(STREAM, {"__data__": Work(correlation_id=uuid.uuid4(), occurred_at=NOW, n=n).model_dump_json()})


async def pending(redis: Redis) -> int:
    return (await redis.xpending(STREAM, GROUP))["pending"]


def test_database_and_connection_errors_are_transient_and_others_are_not():
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert is_transient(ConnectionError("refused"))
    assert is_transient(TimeoutError())
    assert not is_transient(sqlite3.IntegrityError("unique"))
    assert not is_transient(KeyError("bug"))
    assert not is_transient(Poison("never"))


def test_the_backoff_grows_exponentially_with_jitter_up_to_its_cap():
    b = Backoff(0.1, 5.0, jitter_s=0.05)
    delays = [b.delay(n) for n in range(1, 10)]
    assert 0.1 <= delays[0] <= 0.15 + 1e-9
    assert 0.8 <= delays[3] <= 0.85 + 1e-9
    assert max(delays) == 5.0
    assert len({round(Backoff(0.1, 5.0).delay(2), 6) for _ in range(20)}) > 1  # jitter


async def test_a_transient_fault_is_retried_past_max_deliveries_shows_as_waiting_and_never_dead_letters(clean_redis):
    redis = Redis.from_url(clean_redis)
    times: list[float] = []
    waiting_seen: list[RetryState] = []

    async def handle(w: Work):
        times.append(time.monotonic())
        if len(times) < 8:  # well past max_deliveries=3
            raw = await redis.hgetall(retry_key(STREAM, GROUP))
            waiting_seen.extend(RetryState.loads(v) for v in raw.values())
            raise sqlite3.OperationalError("attempt to write a readonly database")

    rt, broker = await start(clean_redis, handle=handle)
    try:
        await publish(redis, 1)
        await until(lambda: _eq(pending(redis), 0), timeout=20)
        assert len(times) == 8
        assert await redis.xlen(DLQ) == 0
        assert await redis.hlen(retry_key(STREAM, GROUP)) == 0  # no longer waiting
        assert waiting_seen and waiting_seen[-1].kind == "transient" and waiting_seen[-1].attempts == 6
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        print(f"\ngaps between attempts (s): {[round(g, 2) for g in gaps]}")
        assert all(g >= 0.05 for g in gaps)  # never before its back-off
        assert gaps[0] < gaps[3] and max(gaps) < 0.4 + 0.05 + 0.3  # growing, up to the cap (+ jitter, poll)
    finally:
        await stop(rt, broker)
        await redis.aclose()


async def test_an_entry_failing_transiently_is_dead_lettered_only_after_the_maximum_age(clean_redis):
    redis = Redis.from_url(clean_redis)

    async def handle(w: Work):
        raise ConnectionError("the database is away")

    rt, broker = await start(clean_redis, handle=handle, retry_max_age_hours=2 / 3600)
    try:
        started = time.monotonic()
        await publish(redis, 5)
        await until(lambda: _eq(redis.xlen(DLQ), 1), timeout=15)
        assert time.monotonic() - started >= 2.0
        [(_, fields)] = await redis.xrange(DLQ)
        assert DeadLetter.model_validate_json(fields[b"__data__"]).error_type == "ConnectionError"
        await until(lambda: _eq(pending(redis), 0))
    finally:
        await stop(rt, broker)
        await redis.aclose()


async def test_poison_is_dead_lettered_at_once_without_retries(clean_redis):
    redis = Redis.from_url(clean_redis)
    calls = []

    async def handle(w: Work):
        calls.append(w.n)
        raise Poison("refused by the guard")

    rt, broker = await start(clean_redis, handle=handle)
    try:
        await publish(redis, 3)
        await until(lambda: _eq(redis.xlen(DLQ), 1))
        await asyncio.sleep(1.0)
        assert calls == [3]
        [(_, fields)] = await redis.xrange(DLQ)
        letter = DeadLetter.model_validate_json(fields[b"__data__"])
        assert letter.deliveries == 1 and json.loads(letter.payload)["n"] == 3
    finally:
        await stop(rt, broker)
        await redis.aclose()


async def test_later_leaves_one_entry_waiting_while_the_rest_of_its_batch_is_acked(clean_redis):
    redis = Redis.from_url(clean_redis)
    ready = asyncio.Event()
    done: list[int] = []

    async def handle_batch(ws):
        out = []
        for w in ws:
            if w.n == 2 and not ready.is_set():
                out.append(Later("NotYet"))
            else:
                done.append(w.n)
                out.append({})
        return out

    rt, broker = await start(clean_redis, handle_batch=handle_batch)
    try:
        for n in range(5):
            await publish(redis, n)
        await until(lambda: _true(sorted(done) == [0, 1, 3, 4]))
        await until(lambda: _eq(pending(redis), 1))
        assert await redis.hlen(retry_key(STREAM, GROUP)) == 1
        ready.set()
        await until(lambda: _eq(pending(redis), 0), timeout=5)
        assert sorted(done) == [0, 1, 2, 3, 4]
    finally:
        await stop(rt, broker)
        await redis.aclose()


async def test_after_an_outage_the_backlog_is_handled_in_batches_within_seconds(clean_redis):
    redis = Redis.from_url(clean_redis)
    down = True
    batches: list[int] = []

    async def handle_batch(ws):
        if down:
            raise sqlite3.OperationalError("database is locked")
        batches.append(len(ws))
        await asyncio.sleep(0.01)  # one transaction per batch
        return None

    rt, broker = await start(clean_redis, handle_batch=handle_batch, batch_size=100, retry_max_delay_s=1.0)
    try:
        for n in range(600):
            await publish(redis, n)
        await until(lambda: _eq(redis.hlen(retry_key(STREAM, GROUP)), 600), timeout=20)
        down = False
        back = time.monotonic()
        await until(lambda: _eq(pending(redis), 0), timeout=20, interval=0.01)
        took = time.monotonic() - back
        print(f"\nbacklog of 600 after the outage: {took:.2f} s in {len(batches)} batches")
        assert sum(batches) >= 600 and len(batches) <= 60
        assert took < 3.0
        assert await redis.xlen(DLQ) == 0
        assert await redis.hlen(retry_key(STREAM, GROUP)) == 0
    finally:
        await stop(rt, broker)
        await redis.aclose()


async def test_one_slow_entry_never_holds_the_others_when_handled_per_entry(clean_redis):
    redis = Redis.from_url(clean_redis)
    finished: dict[int, float] = {}

    async def handle(w: Work):
        if w.n == 0:
            await asyncio.sleep(3)  # a hanging endpoint
        finished[w.n] = time.monotonic()

    rt, broker = await start(clean_redis, handle=handle, concurrency=8)
    try:
        start_t = time.monotonic()
        for n in range(20):
            await publish(redis, n)
        await until(lambda: _true(len(finished) == 19), timeout=5)
        assert max(finished.values()) - start_t < 1.5
        await until(lambda: _eq(pending(redis), 0), timeout=10)
        assert len(finished) == 20 and await redis.xlen(DLQ) == 0
    finally:
        await stop(rt, broker)
        await redis.aclose()


async def _true(value: bool) -> bool:
    return value


async def _eq(awaitable, expected) -> bool:
    return (await awaitable) == expected
