"""``iub notify``: operators set waiting times and read the coverage report."""

from __future__ import annotations

import json

import pytest
import redis as sync_redis
from typer.testing import CliRunner

from iub_cli.notify_cmd import notify_app

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


# the coverage report reads the audit store now: services/audit/tests/test_coverage.py
