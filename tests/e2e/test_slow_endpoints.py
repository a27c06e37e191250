"""One slow endpoint never delays another person (point 4 of issue 14).

One callback that never answers and one that answers 500, mixed with 200 normal requests: the
normal ones are informed (their callback received) with p99 under 1 s, and the two bad ones end
``failed`` with their attempts recorded — each retried on its own schedule, holding nobody.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis

from iub_contracts import streams
from iub_runtime.processes import wait_until
from tests.e2e.conftest import start_system, stop_system
from tests.e2e.faults import Receiver, entry_times, information_events, pending_total, percentile

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

N_NORMAL = 200
BODY = {"kommun": "mellerud", "insats_id": "radgivningssamtal", "channel": "app",
        "facts": {"bosatt_eller_vistas_i_kommunen": True}}
RETRIES = 2


def test_a_hanging_and_a_failing_callback_hold_nobody_else():
    ok, hang, fail = Receiver("ok").start(), Receiver("hang").start(), Receiver("fail").start()
    running = start_system({"IUB_DELIVERY_TIMEOUT_S": "3", "IUB_DELIVERY_RETRIES": str(RETRIES),
                            "IUB_DELIVERY_BASE_DELAY_S": "0.5", "IUB_DELIVERY_MAX_DELAY_S": "2"})
    try:
        async def scenario() -> tuple[list[str], dict[str, str]]:
            special: dict[str, str] = {}
            normal: list[str] = []
            async with httpx.AsyncClient() as client:
                async def send(url: str) -> str:
                    body = {**BODY, "delivery": {"kind": "app_callback", "callback_url": url}}
                    r = await client.post(f"{running.base_url}/v1/requests", json=body, timeout=10)
                    assert r.status_code == 202, r.text
                    return r.json()["request_id"]

                special[await send(hang.url + "/hang")] = "hang"
                special[await send(fail.url + "/fail")] = "fail"
                for i in range(N_NORMAL):
                    normal.append(await send(f"{ok.url}/cb/{i}"))
                    await asyncio.sleep(0.02)
            return normal, special

        normal, special = asyncio.run(scenario())
        client = redis.Redis.from_url(running.redis.url)
        wait_until(lambda: len(ok.got) >= N_NORMAL, 60, what="every normal callback received")
        wait_until(lambda: all(information_events(client).get(r) for r in special), 90, interval=0.5,
                   what="the bad ones finished")
        requested = entry_times(client, streams.REQUESTS)
        received = {body["request_id"]: at for at, _path, body in ok.got}
        latencies = [received[r] - requested[r][0] for r in normal]
        info = information_events(client)
        bad = {kind: info[r][0] for r, kind in special.items()}
        print(f"\nslow endpoints: normal={len(normal)} informed p50={percentile(latencies, 50) * 1000:.0f} ms "
              f"p99={percentile(latencies, 99) * 1000:.0f} ms max={max(latencies) * 1000:.0f} ms; "
              f"hanging endpoint: status={bad['hang']['status']} attempts={bad['hang']['attempts']} "
              f"(connections {len(hang.got)}); failing endpoint: status={bad['fail']['status']} "
              f"attempts={bad['fail']['attempts']} (requests {len(fail.got)})")
        assert len(latencies) == N_NORMAL and percentile(latencies, 99) < 1.0
        for kind in ("hang", "fail"):
            assert bad[kind]["status"] == "failed" and bad[kind]["attempts"] == RETRIES + 1
        assert len(hang.got) == RETRIES + 1 and len(fail.got) == RETRIES + 1
        for r in special:  # intake's status shows it, so the app and operators see it
            assert httpx.get(f"{running.base_url}/v1/requests/{r}").json()["status"] == "information_failed"
        wait_until(lambda: pending_total(client) == 0, 30, what="nothing pending")
        client.close()
    finally:
        stop_system(running)
        for rx in (ok, hang, fail):
            rx.stop()
