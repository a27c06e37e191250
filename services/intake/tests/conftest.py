"""Fixtures of the intake tests: an in-process app on the private Redis, with test clients."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redis as redis_sync

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # intake_support (a unique name: no clash with other packages)

from intake_support import SCHEMATHESIS, make_settings, registry, started  # noqa: E402

from iub_intake.app import create_api  # noqa: E402


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the schemathesis figures: operations, examples, failures, server errors, statuses."""
    if not SCHEMATHESIS:
        return
    tr = terminalreporter
    tr.section("schemathesis figures")
    total = {"examples": 0, "failures": 0, "server_errors": 0}
    for label, f in sorted(SCHEMATHESIS.items()):
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(f["statuses"].items()))
        tr.write_line(f"{label}: {f['examples']} examples, {f['failures']} failures, "
                      f"{f['server_errors']} server errors ({statuses})")
        for k in total:
            total[k] += f[k]
    tr.write_line(f"{len(SCHEMATHESIS)} operations, {total['examples']} examples, {total['failures']} failures, "
                  f"{total['server_errors']} server errors")


@pytest.fixture
def api(clean_redis):
    """An intake app with the test clients (not yet started)."""
    return create_api(make_settings(clean_redis), registry())


@pytest.fixture
async def http(api):
    """An HTTP client on the started in-process app (lifespan run: Redis, catalogue, broker)."""
    async with started(api) as client:
        yield client


@pytest.fixture
def r(clean_redis):
    """A sync Redis client on the test database, to look at streams and keys."""
    client = redis_sync.Redis.from_url(clean_redis)
    yield client
    client.close()
