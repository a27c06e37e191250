"""Coverage of the duty: the pure count, the period bounds, and the figures read from real streams."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from iub_contracts import streams
from iub_contracts.messages import DeadLetter
from iub_notify.coverage import read_coverage
from iub_notify.domain.coverage import Given, Received, count_coverage, stream_id_range


def ids(n: int) -> list[str]:
    return [f"r{i}" for i in range(n)]


@pytest.mark.parametrize(
    ("received", "given", "letters", "expected"),
    [
        ([], [], [], (0, 0, 0, 0, 0)),
        ([Received("r1", "sala")], [Given("r1", "sala", "delivered")], [], (1, 1, 0, 0, 0)),
        ([Received("r1", "sala")], [Given("r1", "sala", "failed")], ["r1"], (1, 0, 1, 0, 0)),
        ([Received("r1", "sala")], [Given("r1", "sala", "failed"), Given("r1", "sala", "delivered")], ["r1"],
         (1, 1, 0, 0, 0)),
        ([Received("r1", "sala")], [], ["r1"], (1, 0, 0, 1, 0)),
        ([Received("r1", "sala")], [], [], (1, 0, 0, 0, 1)),
        ([Received("r1", "sala"), Received("r1", "sala")], [Given("r1", "sala", "delivered")], [], (1, 1, 0, 0, 0)),
        ([Received("r1", "sala"), Received("r2", "mellerud")], [Given("r2", "mellerud", "delivered")], [],
         (1, 0, 0, 0, 1)),
        ([Received("r1", "sala")], [Given("r9", "sala", "delivered")], [], (1, 0, 0, 0, 1)),
    ],
    ids=[
        "nothing received is nothing to prove",
        "a delivered request counts as delivered",
        "a failed delivery that was dead-lettered counts as failed",
        "a later successful delivery wins over a failure",
        "a request stuck in a dead-letter stream before notify counts as dead-lettered",
        "a request with nothing yet is pending",
        "a request received twice (redelivered) counts once",
        "other kommuner's requests are not counted",
        "information for a request outside the period does not cover one inside it",
    ],
)
def test_each_received_request_lands_in_exactly_one_bucket(received, given, letters, expected):
    c = count_coverage(received, given, letters, "sala")
    assert (c.received, c.delivered, c.failed, c.dead_lettered, c.pending) == expected
    assert c.delivered + c.failed + c.dead_lettered + c.pending == c.received


def test_a_failure_without_a_dead_letter_is_flagged_because_it_could_be_silently_dropped():
    c = count_coverage([Received("r1", "sala")], [Given("r1", "sala", "failed")], [], "sala")
    assert c.failed == 1 and c.failed_without_dead_letter == 1 and not c.complete


def test_the_percentages_are_delivered_and_accounted_for():
    received = [Received(r, "sala") for r in ids(8)]
    given = [Given(r, "sala", "delivered") for r in ids(6)] + [Given("r6", "sala", "failed")]
    c = count_coverage(received, given, ["r6"], "sala")
    assert (c.delivered_pct, c.accounted_pct, c.pending_ids, c.complete) == (75.0, 87.5, ("r7",), False)


def test_without_a_kommun_every_kommun_is_counted():
    c = count_coverage([Received("a", "sala"), Received("b", "ostersund")],
                       [Given("a", "sala", "delivered"), Given("b", "ostersund", "delivered")], [])
    assert (c.kommun, c.received, c.delivered, c.complete) == (None, 2, 2, True)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, ("-", "+")),
        ("2025-09-01", "2025-09-30", ("1756677600000", "1759269599999")),
        ("2025-01-15", "2025-01-15", ("1736895600000", "1736981999999")),
        ("2025-09-01T12:00:00+00:00", None, ("1756728000000", "+")),
    ],
    ids=["no period is the whole stream",
         "days are whole Swedish days in summer time, both ends inclusive",
         "one winter day is 24 hours from Swedish midnight",
         "an instant is taken as given"],
)
def test_a_period_becomes_stream_id_bounds(start, end, expected):
    assert stream_id_range(start, end) == expected


def _entry(payload: dict) -> dict:
    return {"__data__": json.dumps(payload)}


async def test_coverage_reads_requests_by_their_time_based_stream_ids(redis):
    day = dt.datetime(2025, 9, 10, 10, tzinfo=dt.UTC)
    ms = int(day.timestamp() * 1000)
    inside, late, before = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    stuck, poison = str(uuid.uuid4()), "not json"
    await redis.xadd(streams.REQUESTS, _entry({"request_id": before, "kommun": "sala"}), id=f"{ms - 86_400_000}-0")
    await redis.xadd(streams.REQUESTS, _entry({"request_id": inside, "kommun": "sala"}), id=f"{ms}-0")
    await redis.xadd(streams.REQUESTS, _entry({"request_id": stuck, "kommun": "sala"}), id=f"{ms}-1")
    await redis.xadd(streams.REQUESTS, _entry({"request_id": late, "kommun": "sala"}), id=f"{ms + 1000}-0")
    # information for 'inside' arrives after the period's end: it still covers it
    await redis.xadd(streams.INFORMATION, _entry({"request_id": inside, "kommun": "sala", "status": "delivered"}),
                     id=f"{ms + 86_400_000}-0")
    letter = DeadLetter(stream=streams.REQUESTS, group="eligibility", entry_id=f"{ms}-1", deliveries=5,
                        error_type="KeyError", dead_lettered_at=day, payload=json.dumps({"request_id": stuck}))
    await redis.xadd(streams.dead_letter_stream(streams.REQUESTS), {"__data__": letter.model_dump_json()},
                     id=f"{ms + 5000}-0")
    await redis.xadd(streams.dead_letter_stream(streams.REQUESTS), {"__data__": poison}, id=f"{ms + 6000}-0")
    report = await read_coverage(redis, "sala", "2025-09-10T12:00:00+02:00", "2025-09-10T12:00:00.500+02:00")
    assert (report.received, report.delivered, report.dead_lettered, report.pending) == (2, 1, 1, 0)
    whole_day = await read_coverage(redis, "sala", "2025-09-10", "2025-09-10")
    assert (whole_day.received, whole_day.pending_ids) == (3, (late,))
