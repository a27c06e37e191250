"""A poison message ends in the dead-letter stream at once (it can never succeed) and blocks nothing behind it."""

from __future__ import annotations

import httpx
import pytest
import redis

from iub_contracts import streams
from iub_contracts.messages import DeadLetter
from iub_runtime.processes import wait_until
from tests.e2e.helpers import total_pending

pytestmark = pytest.mark.e2e


def test_an_undecodable_request_is_dead_lettered_without_retries_and_the_next_one_flows(running, api_headers):
    client = redis.Redis.from_url(running.redis.url)
    client.xadd(streams.REQUESTS, {"__data__": b'{"kommun": "sala", "facts": {"personnummer": "19811218-9876"'})
    body = {"kommun": "mellerud", "insats_id": "radgivningssamtal", "channel": "app",
            "facts": {"bosatt_eller_vistas_i_kommunen": True}}
    r = httpx.post(f"{running.base_url}/v1/requests", json=body, headers=api_headers, timeout=10)
    assert r.status_code == 202
    rid = r.json()["request_id"]
    # the request behind the poison is not blocked
    wait_until(
        lambda: httpx.get(f"{running.base_url}/v1/requests/{rid}", headers=api_headers).json()["status"] == "informed",
        10, what="the next request informed")

    dlq = streams.dead_letter_stream(streams.REQUESTS)
    wait_until(lambda: client.xlen(dlq) == 1, 15, what="poison dead-lettered")
    [(_id, fields)] = client.xrange(dlq)
    letter = DeadLetter.model_validate_json(fields[b"__data__"])
    assert letter.deliveries == 1  # undecodable: never retried
    assert letter.error_type == "ValidationError"
    assert letter.group == streams.GROUP_ELIGIBILITY
    wait_until(lambda: total_pending(client) == 0, 15, what="nothing pending")

    # the validation error was logged without its input: no personnummer in any service log
    logs = "".join(p.read_text(errors="replace") for p in (running.var_dir / "logs").glob("*.log"))
    assert "ValidationError" in logs
    assert "9876" not in logs
