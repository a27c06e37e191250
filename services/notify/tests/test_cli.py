"""``iub notify``: operators set waiting times and read the coverage report."""

from __future__ import annotations

import json
import uuid

import pytest
import redis as sync_redis
from typer.testing import CliRunner

from iub_cli.notify_cmd import notify_app
from iub_contracts import streams

pytestmark = pytest.mark.redis
runner = CliRunner()


def run(url: str, *args: str):
    return runner.invoke(notify_app, [*args, "--redis-url", url])


def test_an_operator_sets_lists_and_clears_a_waiting_time(clean_redis):
    set_ = run(clean_redis, "queue", "set", "--kommun", "sala", "--insats", "krisstod", "--days", "45")
    assert set_.exit_code == 0, set_.output
    listed = run(clean_redis, "queue", "list", "--json")
    assert json.loads(listed.output) == [{"kommun": "sala", "insats": "krisstod", "days": 45,
                                          "reasonable_wait_days": None, "alternatives_listed": True,
                                          "in_catalog": True}]
    assert "krisstod" in run(clean_redis, "queue", "list").output
    assert run(clean_redis, "queue", "clear", "--kommun", "sala", "--insats", "krisstod").exit_code == 0
    assert json.loads(run(clean_redis, "queue", "list", "--json").output) == []


@pytest.mark.parametrize(
    ("kommun", "insats", "message"),
    [("atlantis", "krisstod", "Okänd kommun"), ("sala", "finns-inte", "Okänd insats")],
    ids=["an unknown kommun is refused", "an unknown insats is refused"],
)
def test_a_waiting_time_for_something_not_in_the_catalogue_is_refused(clean_redis, kommun, insats, message):
    result = run(clean_redis, "queue", "set", "--kommun", kommun, "--insats", insats, "--days", "10")
    assert result.exit_code == 2 and message in result.output
    assert sync_redis.Redis.from_url(clean_redis).exists("iub:queue:wait_days") == 0


def test_a_negative_wait_is_refused(clean_redis):
    assert run(clean_redis, "queue", "set", "--kommun", "sala", "--insats", "krisstod", "--days", "-1").exit_code != 0


def test_coverage_reports_received_delivered_failed_and_pending_and_check_fails_while_any_is_pending(clean_redis):
    r = sync_redis.Redis.from_url(clean_redis)
    rids = [str(uuid.uuid4()) for _ in range(3)]
    for rid in rids:
        r.xadd(streams.REQUESTS, {"__data__": json.dumps({"request_id": rid, "kommun": "mellerud"})})
    r.xadd(streams.INFORMATION, {"__data__": json.dumps({"request_id": rids[0], "kommun": "mellerud",
                                                         "status": "delivered"})})
    r.xadd(streams.INFORMATION, {"__data__": json.dumps({"request_id": rids[1], "kommun": "mellerud",
                                                         "status": "failed"})})
    r.xadd(streams.dead_letter_stream(streams.DECISIONS), {"__data__": json.dumps(
        {"entry_id": f"request:{rids[1]}", "payload": "{}"})})
    result = run(clean_redis, "coverage", "--kommun", "mellerud", "--json")
    data = json.loads(result.output)
    assert (data["received"], data["delivered"], data["failed"], data["pending"]) == (3, 1, 1, 1)
    assert data["pending_ids"] == [rids[2]] and data["failed_without_dead_letter"] == 0
    text = run(clean_redis, "coverage", "--kommun", "mellerud", "--from", "2020-01-01", "--to", "2099-12-31")
    assert "mottagna ärenden:            3" in text.output and "väntar:                      1" in text.output
    assert run(clean_redis, "coverage", "--kommun", "mellerud", "--check").exit_code == 1
    r.xadd(streams.INFORMATION, {"__data__": json.dumps({"request_id": rids[2], "kommun": "mellerud",
                                                         "status": "delivered"})})
    assert run(clean_redis, "coverage", "--kommun", "mellerud", "--check").exit_code == 0


def test_coverage_refuses_a_malformed_date(clean_redis):
    result = run(clean_redis, "coverage", "--from", "1 september")
    assert result.exit_code == 2 and "Ogiltigt datum" in result.output
