"""A primary SIGKILLed under load, on a real Redis Cluster or Sentinel setup: what was told 202 survives.

Shared by the failover tests (tests/e2e/test_failover.py) and the counter-test without WAIT
(bench/failover_without_wait.py). The four services run as processes in sharded mode (one
stream per kommun, ``iub.{kommun}.…``); requests go to all four kommuner (the busiest, Sala, gets
40 %), each retried with its Idempotency-Key after a 503. In the middle the primary holding
Sala's slot (cluster) or the primary (sentinel) is SIGKILLed; once a replica has been promoted
the killed node is started again empty, so it rejoins as the new primary's replica (without a
replica no write can be acknowledged by WAIT). Then every request told 202 must get exactly one
decision, one audit record of each step and one information event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from redis.cluster import ClusterNode, RedisCluster

from iub_contracts import streams
from iub_runtime.processes import RedisClusterProcs, RedisSentinelProcs, System, free_port, wait_until
from tests.e2e.conftest import E2E_ENV
from tests.e2e.faults import AuditCounts, _count_rows

KOMMUNER = ("sala", "ostersund", "jamtland-lansverksamheter", "mellerud")
BODIES = {
    "sala": {"kommun": "sala", "insats_id": "budgetradgivning", "facts": {}},
    "ostersund": {"kommun": "ostersund", "insats_id": "akutboendet",
                  "facts": {"personnummer": "19811218-9876", "folkbokford_i_kommunen": True}},
    "jamtland-lansverksamheter": {"kommun": "jamtland-lansverksamheter",
                                  "insats_id": "cmv-stodsamtal-valdsutsatta", "facts": {"stated_age": 34}},
    "mellerud": {"kommun": "mellerud", "insats_id": "radgivningssamtal",
                 "facts": {"bosatt_eller_vistas_i_kommunen": True}},
}
BUSIEST = "sala"


def body_for(i: int) -> dict:
    """Sala 40 %, the three others 20 % each."""
    kommun = ("sala", "sala", "ostersund", "jamtland-lansverksamheter", "mellerud")[i % 5]
    return {**BODIES[kommun], "channel": "app"}


@dataclass
class Outcome:
    """The figures of one run."""

    mode: str
    min_replicas_ack: int
    sent: int = 0
    accepted: list[str] = field(default_factory=list)
    told_503: int = 0  # 503 answers (a request may get several before its 202)
    requests_503: int = 0  # requests that got at least one 503
    gave_up: int = 0
    lost: list[str] = field(default_factory=list)
    lost_requests: int = 0  # of which the request entry itself is gone (the write intake acknowledged)
    duplicated: list[str] = field(default_factory=list)
    documented: tuple[int, int] = (0, 0)  # audit records (decision, information)
    recover_s: float = float("nan")  # kill → first 202 of the busiest kommun after it
    promoted_s: float = float("nan")  # kill → replica promoted

    def line(self) -> str:
        return (f"{self.mode} WAIT={self.min_replicas_ack}: sent={self.sent} 202={len(self.accepted)} "
                f"lost={len(self.lost)} (request entry gone: {self.lost_requests}) "
                f"duplicated={len(self.duplicated)} documented={self.documented} "
                f"503s_told={self.told_503} (requests={self.requests_503}) gave_up={self.gave_up} "
                f"promoted_after={self.promoted_s:.1f}s recovered_after={self.recover_s:.1f}s")


class Topology:
    """The Redis side of a run: cluster or sentinel."""

    def __init__(self, mode: str, folder: Path) -> None:
        self.mode = mode
        self.cluster = RedisClusterProcs(folder / "cluster").start() if mode == "cluster" else None
        self.sentinel = RedisSentinelProcs(folder / "sentinel").start() if mode == "sentinel" else None

    def env(self) -> dict[str, str]:
        if self.cluster is not None:
            return {"IUB_REDIS_MODE": "cluster", "IUB_REDIS_CLUSTER_NODES": self.cluster.startup_nodes}
        return {"IUB_REDIS_MODE": "sentinel", "IUB_REDIS_SENTINELS": self.sentinel.sentinel_addrs,
                "IUB_REDIS_MASTER_NAME": self.sentinel.master_name}

    def url(self) -> str:
        node = self.cluster.nodes[0] if self.cluster is not None else self.sentinel.primary
        return node.url

    def client(self):
        if self.cluster is not None:
            return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", n.port) for n in self.cluster.nodes
                                               if n.proc and n.proc.poll() is None])
        return redis.Redis(port=self.sentinel.current_primary_port())

    def replica_of(self, primary):
        """The replica process of a primary."""
        if self.sentinel is not None:
            return self.sentinel.replica if primary is self.sentinel.primary else self.sentinel.primary
        for n in self.cluster.nodes:
            if n is not primary and n.proc and n.proc.poll() is None:
                with n.client() as c:
                    info = c.info("replication")
                if info.get("role") == "slave" and int(info.get("master_port", 0)) == primary.port:
                    return n
        raise LookupError("no replica")

    def kill_and_recover(self, out: Outcome, lag_s: float = 0.0) -> float:
        """SIGKILL the primary of the busiest kommun; wait for the promotion; restart the node as a replica.

        With ``lag_s`` the replica is first frozen (SIGSTOP) that long, as a replica lagging behind
        or a slow replication link would be, and thawed right after the kill.
        """
        busiest = streams.named(streams.REQUESTS, BUSIEST)
        if self.cluster is not None:
            victim = self.cluster.primary_for(busiest)
        else:
            victim = self.sentinel.primary if self.sentinel.current_primary_port() == self.sentinel.primary.port \
                else self.sentinel.replica
            old_port = victim.port
        replica = self.replica_of(victim) if lag_s > 0 else None
        if replica is not None:
            replica.proc.send_signal(signal.SIGSTOP)
            time.sleep(lag_s)
        at = time.monotonic()
        victim.kill()
        if replica is not None:
            replica.proc.send_signal(signal.SIGCONT)
        if self.cluster is not None:
            wait_until(lambda: self.cluster.primary_for(busiest) is not victim and self.cluster.covered(), 60,
                       interval=0.1, what="a replica promoted")
        else:
            wait_until(lambda: self.sentinel.current_primary_port() != old_port, 60, interval=0.1,
                       what="sentinel failover")
        out.promoted_s = time.monotonic() - at
        victim.start(timeout=30)  # empty: it resyncs from the new primary and is its replica from now on
        return at

    def stop(self) -> None:
        (self.cluster or self.sentinel).stop()


async def _push(base_url: str, n: int, rate: float, out: Outcome, kill_at: int, kill: threading.Event,
                first_after: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    deadline = start + 600
    seen_503: set[int] = set()

    async def one(client: httpx.AsyncClient, i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        if i == kill_at:
            kill.set()
        key = f"failover-{i}-{uuid.uuid4()}"
        body = body_for(i)
        while time.monotonic() < deadline:
            posted = time.monotonic()
            try:
                r = await client.post(f"{base_url}/v1/requests", json=body, headers={"Idempotency-Key": key},
                                      timeout=15)
                if r.status_code == 202:
                    out.accepted.append(r.json()["request_id"])
                    if body["kommun"] == BUSIEST:
                        first_after.append((posted, time.monotonic()))
                    return
                if r.status_code == 503:
                    out.told_503 += 1
                    seen_503.add(i)
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
        out.gave_up += 1

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(*(one(client, i) for i in range(n)))
    out.requests_503 = len(seen_503)


def sqlite_counts(path) -> AuditCounts:
    """Audit records per step: chained (14:3 and older 14:4–5) and staged (14:4–5 waiting for their hour)."""
    if not Path(path).exists():
        return AuditCounts(Counter(), Counter())
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return _count_rows(conn.execute(
            "select request_id, step, count(*) from (select request_id, step from audit_records union all "
            "select request_id, step from audit_staged) group by request_id, step").fetchall())
    finally:
        conn.close()


def _entries(client, stream: str) -> list[dict]:
    found, last = [], "-"
    while True:
        batch = client.xrange(stream, min=last, count=2000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return found
        found += [json.loads(f[b"__data__"]) for _, f in batch]
        last = batch[-1][0].decode() if isinstance(batch[-1][0], bytes) else batch[-1][0]


def run_failover(mode: str, *, n: int = 2000, rate: float = 60.0, min_replicas_ack: int = 1,
                 settle_s: float = 150.0, kill_fraction: float = 0.4, lag_s: float = 0.0) -> Outcome:
    """One run: start everything, push n requests, kill at kill_fraction, check every 202.

    ``recover_s``: from the kill to the first 202 for the busiest kommun on a POST sent after it.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"iub-{mode}-"))
    out = Outcome(mode=mode, min_replicas_ack=min_replicas_ack, sent=n)
    topo = Topology(mode, folder)
    port = free_port()
    system = System(redis_url=topo.url(), env={
        **E2E_ENV, "IUB_VAR_DIR": str(folder), **topo.env(), "IUB_STREAM_SHARDS": "kommun",
        "IUB_MIN_REPLICAS_ACK": str(min_replicas_ack), "IUB_REPLICAS_ACK_TIMEOUT_MS": "500",
    }, http_port=port, log_dir=folder / "logs").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=2).json()["ok"], 90, what="intake health")
        kill = threading.Event()
        first_after: list[tuple[float, float]] = []
        killed_at: list[float] = []

        def killer() -> None:
            if kill.wait(600):
                killed_at.append(topo.kill_and_recover(out, lag_s))

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        asyncio.run(_push(base, n, rate, out, int(n * kill_fraction), kill, first_after))
        t.join(120)
        # recovered: the first 202 for the busiest kommun to a POST sent after the kill
        after = [done for posted, done in first_after if killed_at and posted >= killed_at[0]]
        if after:
            out.recover_s = min(after) - killed_at[0]
        accepted = set(out.accepted)
        db = folder / "audit.sqlite3"

        def counts() -> tuple[Counter, Counter, Counter]:
            client = topo.client()
            try:
                requests = Counter(e["request_id"] for k in KOMMUNER
                                   for e in _entries(client, streams.named(streams.REQUESTS, k)))
                decisions = Counter(e["request_id"] for k in KOMMUNER
                                    for e in _entries(client, streams.named(streams.DECISIONS, k)))
                info = Counter(e["request_id"] for k in KOMMUNER
                               for e in _entries(client, streams.named(streams.INFORMATION, k)))
            finally:
                client.close()
            return requests, decisions, info

        def settled() -> bool:
            _, decisions, info = counts()
            audit = sqlite_counts(db)
            return (all(decisions[r] >= 1 and info[r] >= 1 for r in accepted)
                    and audit.per_step["decision"] >= len(accepted)
                    and audit.per_step["information"] >= len(accepted))

        with contextlib.suppress(TimeoutError):  # the figures below say what is missing
            wait_until(settled, settle_s, interval=2.0, what="every 202 decided, documented and informed")
        requests, decisions, info = counts()
        audit = sqlite_counts(db)
        # lost: a 202 whose request, decision or information entry is not in Redis after the failover
        out.lost = sorted(r for r in accepted if requests[r] == 0 or decisions[r] == 0 or info[r] == 0)
        out.lost_requests = sum(1 for r in accepted if requests[r] == 0)
        out.duplicated = sorted(r for r in accepted if requests[r] > 1 or decisions[r] > 1 or info[r] > 1)
        # every 202 documented exactly once per step (14:4/14:5 records keep no usable id: counts then)
        out.documented = (audit.per_step["decision"], audit.per_step["information"])
        out.duplicated += [f"audit:{k}" for k, v in audit.per_request_step.items() if k[0] and v > 1]
        return out
    finally:
        system.stop()
        topo.stop()
        if not os.environ.get("IUB_KEEP_FAILOVER_DIR"):
            shutil.rmtree(folder, ignore_errors=True)
