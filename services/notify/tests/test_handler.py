"""The notify handler on a real Redis and a real HTTP receiver: once per request, crashes, failures, DLQ."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from notify_receiver import Receiver
from notify_samples import sample
from notify_support import DLQ, NOW, CrashingWriter, SimulatedCrash, app_record, events, make_notifier, settle

from iub_contracts import streams
from iub_contracts.messages import DeliveryTarget
from iub_notify.coverage import read_coverage
from iub_notify.ledger import DeliveryLedger
from iub_notify.queue import set_wait_days
from iub_runtime.consumer import Later
from iub_runtime.streams import StreamWriter

pytestmark = pytest.mark.redis


async def test_an_eligible_request_is_informed_once_and_the_event_holds_the_text_that_was_posted(
    redis, http, catalog, templates
):
    async with Receiver((200,)) as rx:
        msg = app_record(catalog, rx.url)
        await make_notifier(redis, http, catalog, templates).handle(msg)
    [event] = await events(redis)
    [req] = rx.requests
    assert event.status.value == "delivered" and event.attempts == 1 and event.delivered_via == "app_callback"
    assert json.loads(req.body)["text"] == event.text
    assert "11 kap. 1 §" in event.text
    assert event.template.startswith("information/sala/sv@")
    assert await redis.xlen(DLQ) == 0


async def test_a_redelivered_decision_never_sends_the_information_twice(redis, http, catalog, templates):
    async with Receiver((200,)) as rx:
        msg = app_record(catalog, rx.url)
        notifier = make_notifier(redis, http, catalog, templates)
        await notifier.handle(msg)
        await notifier.handle(msg)
        await make_notifier(redis, http, catalog, templates).handle(msg)  # another consumer, same request
    assert len(rx.requests) == 1
    assert len(await events(redis)) == 1


async def test_a_consumer_that_dies_after_sending_and_before_acking_does_not_send_again(
    redis, http, catalog, templates
):
    async with Receiver((200,)) as rx:
        msg = app_record(catalog, rx.url)
        crashing = make_notifier(redis, http, catalog, templates,
                                 writer=CrashingWriter(StreamWriter(redis, retention_s=3600, dedupe_ttl_s=3600)))
        with pytest.raises(SimulatedCrash):
            await crashing.handle(msg)
        assert len(rx.requests) == 1 and await events(redis) == []
        await set_wait_days(redis, "sala", msg.insats_id, 90)  # even if the queue changed meanwhile
        await make_notifier(redis, http, catalog, templates).handle(msg)  # the redelivery, after restart
    assert len(rx.requests) == 1
    [event] = await events(redis)
    assert event.status.value == "delivered" and event.attempts == 1
    assert event.text == json.loads(rx.requests[0].body)["text"]  # the proof is the text that was sent


async def test_two_consumers_racing_for_one_request_send_it_once(redis, http, catalog, templates):
    async with Receiver((200,), delay_s=0.3) as rx:
        msg = app_record(catalog, rx.url)
        first = make_notifier(redis, http, catalog, templates)
        second = make_notifier(redis, http, catalog, templates)
        results = await asyncio.gather(first.handle(msg), second.handle(msg))
        assert sum(isinstance(r, Later) for r in results) == 1  # the second finds the lease taken: it waits
        await settle(second, msg)
    assert len(rx.requests) == 1
    assert len(await events(redis)) == 1


async def test_a_consumer_still_sending_keeps_its_lease_and_the_other_leaves_the_entry_pending(
    redis, http, catalog, templates
):
    async with Receiver((200,), delay_s=1.5) as rx:  # slower than the 1 s lease: the holder refreshes it
        msg = app_record(catalog, rx.url)
        holder = asyncio.create_task(make_notifier(redis, http, catalog, templates, lease_s=1).handle(msg))
        await until_true(lambda: len(rx.requests) == 1)
        waiting = await make_notifier(redis, http, catalog, templates, lease_s=1).handle(msg)
        assert isinstance(waiting, Later) and waiting.error_type == "DeliveryInProgress"
        await holder
    assert len(rx.requests) == 1 and len(await events(redis)) == 1


async def test_the_lease_of_a_consumer_that_died_while_sending_frees_itself(redis, http, catalog, templates):
    async with Receiver((200,)) as rx:
        msg = app_record(catalog, rx.url)
        dead = DeliveryLedger(redis, ttl_s=60, lease_s=1)
        assert await dead.lease(str(msg.request_id)) is not None  # taken, never refreshed, never released
        await settle(make_notifier(redis, http, catalog, templates, lease_s=2), msg)
    assert len(rx.requests) == 1 and len(await events(redis)) == 1


async def until_true(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.01)


async def test_a_delivery_that_fails_after_its_retries_is_dead_lettered_and_recorded_as_failed(
    redis, http, catalog, templates
):
    async with Receiver((500,)) as rx:
        msg = app_record(catalog, rx.url)
        url = rx.url
        notifier = make_notifier(redis, http, catalog, templates, retries=2)
        first = await notifier.handle(msg)
        assert isinstance(first, Later) and first.error_type == "Delivery:http_500"  # waits on its own schedule
        assert await events(redis) == []
        await settle(notifier, msg)
    assert len(rx.requests) == 3
    [event] = await events(redis)
    assert event.status.value == "failed" and event.attempts == 3
    [letter] = await events(redis, DLQ)
    assert letter.entry_id == f"request:{msg.request_id}"
    assert letter.error_type == "DeliveryFailed:http_500" and letter.deliveries == 3
    assert json.loads(letter.payload) == {"request_id": str(msg.request_id), "kommun": "sala",
                                          "insats_id": msg.insats_id, "channel": "app",
                                          "delivered_via": "app_callback", "error": "http_500"}
    assert url not in letter.model_dump_json()  # the target is not in the dead letter


async def test_a_crash_after_a_failed_delivery_neither_retries_the_delivery_nor_loses_the_dead_letter(
    redis, http, catalog, templates
):
    async with Receiver((500,)) as rx:
        msg = app_record(catalog, rx.url)
        writer = CrashingWriter(StreamWriter(redis, retention_s=3600, dedupe_ttl_s=3600))
        with pytest.raises(SimulatedCrash):
            await settle(make_notifier(redis, http, catalog, templates, writer=writer, retries=1), msg)
        await settle(make_notifier(redis, http, catalog, templates, retries=1), msg)
        await settle(make_notifier(redis, http, catalog, templates, retries=1), msg)
    assert len(rx.requests) == 2
    assert len(await events(redis, DLQ)) == 1
    assert [e.status.value for e in await events(redis)] == ["failed"]


@pytest.mark.parametrize(
    ("outcome", "kommun", "must_say"),
    [
        ("unknown_insats", "sala", "Vi kunde inte hitta insatsen du frågade om"),
        ("unknown_kommun", "sala", "Kontakta socialtjänsten i den kommun där du bor."),
        ("not_eligible", "ostersund", "hindrar inte att du ansöker om insatsen"),
        ("needs_consent", "mellerud", "Samtycke behövs från en av dina vårdnadshavare."),
    ],
    ids=["a request for an unknown insats is still informed",
         "a request for an unknown kommun is still informed",
         "a request refused by eligibility is still informed",
         "a request waiting for consent is informed whose consent is needed"],
)
async def test_everyone_who_turns_to_the_service_is_informed_by_polling(
    redis, http, catalog, templates, outcome, kommun, must_say
):
    msg = sample(catalog, kommun, outcome)
    await make_notifier(redis, http, catalog, templates).handle(msg)
    [event] = await events(redis)
    assert event.status.value == "delivered" and event.delivered_via == "poll"
    assert must_say in event.text and "11 kap. 1 §" in event.text


async def test_a_queue_set_by_operators_is_in_the_information(redis, http, catalog, templates):
    msg = sample(catalog, "sala", "eligible")
    await set_wait_days(redis, "sala", msg.insats_id, 75)
    await make_notifier(redis, http, catalog, templates).handle(msg)
    [event] = await events(redis)
    assert "ungefär 75 dagar" in event.text and "Med behovsprövning" in event.text


async def test_a_telephony_reply_without_a_platform_url_is_dead_lettered_not_dropped(redis, http, catalog, templates):
    msg = sample(catalog, "ostersund", "eligible", delivery=DeliveryTarget(kind="telephony", call_ref="call-7"))
    await make_notifier(redis, http, catalog, templates).handle(msg)
    [event] = await events(redis)
    assert event.status.value == "failed" and event.attempts == 1
    [letter] = await events(redis, DLQ)
    assert letter.error_type == "DeliveryFailed:no_telephony_reply_url"


async def test_a_request_in_finnish_is_informed_in_swedish_and_the_fallback_is_recorded(
    redis, http, catalog, templates
):
    msg = sample(catalog, "sala", "eligible", language="fi")
    await make_notifier(redis, http, catalog, templates).handle(msg)
    [event] = await events(redis)
    assert (event.language, event.language_requested, event.language_fallback) == ("sv", "fi", True)


async def test_coverage_counts_delivered_and_dead_lettered_failures_after_a_mixed_run(redis, http, catalog, templates):
    from iub_contracts.messages import RequestReceived

    async with Receiver((200,)) as ok, Receiver((500,)) as bad:
        msgs = [app_record(catalog, ok.url), app_record(catalog, bad.url), sample(catalog, "sala", "unknown_insats"),
                app_record(catalog, ok.url)]
        for m in msgs:  # intake's entries, with the same request ids
            rr = RequestReceived(correlation_id=m.request_id, occurred_at=NOW, request_id=m.request_id,
                                 kommun=m.kommun, insats_id=m.insats_id, channel=m.channel, facts={},
                                 received_at=NOW)
            await redis.xadd(streams.REQUESTS, {"__data__": rr.model_dump_json()})
        notifier = make_notifier(redis, http, catalog, templates, retries=1)
        for m in msgs[:3]:
            await settle(notifier, m)
    report = await read_coverage(redis, "sala", None, None)
    assert (report.received, report.delivered, report.failed, report.pending) == (4, 2, 1, 1)
    assert report.failed_without_dead_letter == 0 and not report.complete
    assert report.pending_ids == (str(msgs[3].request_id),)
    assert uuid.UUID(report.failed_ids[0]) == msgs[1].request_id


async def test_the_target_is_read_by_its_handle_and_deleted_once_the_information_is_given(
    redis, http, catalog, templates
):
    async with Receiver((200,)) as rx:
        await redis.set("iub:delivery:h4ndle", json.dumps({"kind": "app_callback", "callback_url": rx.url + "/cb"}))
        msg = sample(catalog, "sala", "eligible", delivery=DeliveryTarget(kind="app_callback", handle="h4ndle"))
        await settle(make_notifier(redis, http, catalog, templates), msg)
    assert [r.path for r in rx.requests] == ["/cb"]
    assert await redis.exists("iub:delivery:h4ndle") == 0
    [event] = await events(redis)
    assert event.status.value == "delivered"


async def test_a_target_gone_with_the_retention_ends_failed_not_lost(redis, http, catalog, templates):
    msg = sample(catalog, "sala", "eligible", delivery=DeliveryTarget(kind="app_callback", handle="expired"))
    await settle(make_notifier(redis, http, catalog, templates), msg)
    [event] = await events(redis)
    assert event.status.value == "failed"
    [letter] = await events(redis, DLQ)
    assert letter.error_type == "DeliveryFailed:delivery_target_gone"


async def test_a_revision_informs_again_only_when_the_outcome_changed(redis, http, catalog, templates):
    """11 kap 6 §: a provider's facts changed the outcome → the person is informed again, once per revision."""
    async with Receiver((200,)) as rx:
        first = app_record(catalog, rx.url, outcome="needs_consent")
        notifier = make_notifier(redis, http, catalog, templates)
        await notifier.handle(first)
        poll = DeliveryTarget(kind="poll")  # the request's own target is gone once it was informed
        same = first.model_copy(update={"revision": 1, "case_id": first.request_id, "delivery": poll,
                                        "previous_outcome": first.decision.outcome})
        assert await notifier.handle_revision(same) == {"outcome": "unchanged"}
        changed = app_record(catalog, rx.url, outcome="eligible").model_copy(update={
            "request_id": first.request_id, "correlation_id": first.request_id, "revision": 2,
            "case_id": first.request_id, "delivery": poll, "previous_outcome": first.decision.outcome})
        await notifier.handle_revision(changed)
        await notifier.handle_revision(changed)  # redelivered: once
    given = await events(redis)
    assert [(e.revision, e.outcome) for e in given] == [(0, "needs_consent"), (2, "eligible")]
    assert given[1].case_id == first.request_id and len(rx.requests) == 1  # the revision went by the status


async def test_two_revisions_close_together_compare_with_each_other_not_with_the_decision_before(
    redis, http, catalog, templates
):
    """r1 eligible, then r2 back to needs_consent (a guardian withdrew), both posted against the same
    first outcome: r2 must still inform, because it changed what r1 said."""
    async with Receiver((200,)) as rx:
        first = app_record(catalog, rx.url, outcome="needs_consent")
        notifier = make_notifier(redis, http, catalog, templates)
        poll = DeliveryTarget(kind="poll")
        common = {"request_id": first.request_id, "correlation_id": first.request_id, "case_id": first.request_id,
                  "delivery": poll, "previous_outcome": first.decision.outcome}
        r1 = app_record(catalog, rx.url, outcome="eligible").model_copy(update=common | {"revision": 1})
        r2 = app_record(catalog, rx.url, outcome="needs_consent").model_copy(update=common | {"revision": 2})
        await notifier.handle_revision(r1)
        await notifier.handle_revision(r2)
        assert await notifier.handle_revision(r1) == {"outcome": "superseded"}
    assert [(e.revision, e.outcome) for e in await events(redis)] == [(1, "eligible"), (2, "needs_consent")]
