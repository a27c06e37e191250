"""The notify service wired to FastStream: TestRedisBroker, and a real broker whose consumer dies mid-message."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from faststream.redis import TestRedisBroker
from notify_receiver import Receiver
from notify_support import CrashingWriter, app_record, events, make_notifier

from iub_contracts import streams
from iub_notify.app import create_app
from iub_notify.settings import NotifySettings
from iub_runtime.streams import ensure_groups
from iub_runtime.testing import RecordingWriter

pytestmark = pytest.mark.redis


async def until(predicate, timeout: float = 15.0, interval: float = 0.02) -> None:
    """Wait for an async condition, failing at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(interval)
    raise AssertionError("condition not met before the deadline")


async def test_a_decision_on_the_stream_becomes_one_information_event(
    redis, http, catalog, templates, clean_redis
):
    app = create_app(NotifySettings(redis_url=clean_redis, dev_mode=True))
    writer = RecordingWriter()
    async with Receiver((200,)) as rx:
        app.iub_state["notifier"] = make_notifier(redis, http, catalog, templates, writer=writer)
        msg = app_record(catalog, rx.url)
        async with TestRedisBroker(app.broker) as br:
            await br.publish(msg.model_dump(mode="json"), stream=streams.DECISIONS)
            await br.publish(msg.model_dump(mode="json"), stream=streams.DECISIONS)  # redelivered
    [event] = writer.on(streams.INFORMATION)
    assert event.request_id == msg.request_id and event.status.value == "delivered"
    assert len(rx.requests) == 1


def test_the_http_client_does_not_log_callback_urls(clean_redis):
    create_app(NotifySettings(redis_url=clean_redis, dev_mode=True))
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


async def test_a_consumer_that_dies_between_sending_and_acking_is_redelivered_without_a_second_post(
    redis, http, catalog, templates, clean_redis
):
    settings = NotifySettings(redis_url=clean_redis, dev_mode=True, claim_idle_ms=200, polling_interval_ms=20,
                              max_deliveries=5)
    app = create_app(settings)
    rt = app.iub_runtime
    await rt.connect()
    await ensure_groups(rt.redis)
    await rt.prepare_streams()
    async with Receiver((200,)) as rx:
        # the first handling sends, then dies before publishing the event: the entry stays unacked
        app.iub_state["notifier"] = make_notifier(rt.redis, http, catalog, templates,
                                                  writer=CrashingWriter(rt.writer))
        await app.broker.start()
        try:
            msg = app_record(catalog, rx.url)
            await redis.xadd(streams.DECISIONS, {"__data__": msg.model_dump_json()})
            await until(lambda: _is(len(rx.requests) == 1))
            await until(lambda: _len_is(events(redis), 1))  # the claimer picked the entry up again
            await until(lambda: _pending_is(redis, 0))
        finally:
            await app.broker.stop()
            await rt.close()
    assert len(rx.requests) == 1
    [event] = await events(redis)
    assert event.status.value == "delivered" and event.attempts == 1
    assert await redis.xlen(streams.dead_letter_stream(streams.DECISIONS)) == 0


async def _is(value: bool) -> bool:
    return value


async def _len_is(awaitable, n: int) -> bool:
    return len(await awaitable) == n


async def _pending_is(redis, n: int) -> bool:
    return (await redis.xpending(streams.DECISIONS, streams.GROUP_NOTIFY))["pending"] == n
