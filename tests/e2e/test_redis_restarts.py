"""Redis SIGKILLed and restarted three times during 1 000 requests: nobody waits long for the information.

The test's own redis-server (AOF, ``appendfsync always``) is killed with SIGKILL and started again
on the same port and data folder three times while requests keep coming (clients retry with
their Idempotency-Key). Accept-to-information latency is measured on Redis's own clock (stream
entry ids of the request and of its information) and its p99 stays under 15 s in the window after
each restart; nothing is lost, duplicated, dead-lettered or left pending.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest
import redis

from iub_contracts import streams
from iub_runtime.processes import wait_until
from tests.e2e.conftest import start_system, stop_system
from tests.e2e.faults import dead_letters, entry_times, information_events, pending_total, percentile, push, waiting

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

N = int(os.environ.get("IUB_RESTART_REQUESTS", "1000"))
RATE = 20.0
RESTARTS = 3
WINDOW_S = 10.0  # requests accepted this long after a restart count for its p99


def test_redis_killed_and_restarted_three_times():
    running = start_system()
    restarts: list[float] = []
    try:
        def killer() -> None:
            for k in range(RESTARTS):
                time.sleep(10 if k == 0 else 12)
                running.redis.proc.send_signal(signal.SIGKILL)
                running.redis.proc.wait(10)
                time.sleep(1.0)
                running.redis.start(timeout=30)
                restarts.append(time.time())

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        accepted = asyncio.run(push(running.base_url, N, rate_per_s=RATE))
        t.join(120)
        assert len(restarts) == RESTARTS
        client = redis.Redis.from_url(running.redis.url)
        wait_until(lambda: len(information_events(client)) >= len(set(accepted)) and pending_total(client) == 0
                   and waiting(client) == 0, 120, interval=0.5, what="every request informed, nothing pending")

        requested = entry_times(client, streams.REQUESTS)
        informed = entry_times(client, streams.INFORMATION)
        info = information_events(client)
        latency = {r: informed[r][0] - requested[r][0] for r in accepted if r in informed and r in requested}
        windows = []
        for at in restarts:
            # requests accepted up to WINDOW_S after the restart (and those caught in the outage)
            inside = [v for r, v in latency.items() if at - 2.0 <= requested[r][0] <= at + WINDOW_S]
            windows.append((len(inside), percentile(inside, 99), max(inside) if inside else float("nan")))
        lost = [r for r in accepted if not info.get(r)]
        duplicated = [r for r in accepted if len(info.get(r, [])) > 1 or len(requested.get(r, [])) > 1]
        print(f"\nredis restarts: requests={len(accepted)} restarts={len(restarts)} "
              f"accept->information p50={percentile(list(latency.values()), 50):.2f}s "
              f"p99={percentile(list(latency.values()), 99):.2f}s; after each restart (n, p99, max): "
              + "; ".join(f"({n}, {p:.2f}s, {m:.2f}s)" for n, p, m in windows)
              + f" lost={len(lost)} duplicated={len(duplicated)} dead_letters={dead_letters(client)}")
        assert len(accepted) == N and len(set(accepted)) == N
        assert lost == [] and duplicated == []
        assert all(n > 0 and p < 15.0 for n, p, _ in windows)
        assert dead_letters(client) == 0
        client.close()
    finally:
        stop_system(running)
