"""Shared by the fault tests: pushing requests at a rate, local receivers, reading streams and the audit store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import redis

from iub_contracts import streams
from iub_runtime.processes import free_port

# a mix of documentation levels: individual (14:3), anonymised (14:5), advisory (14:4)
BODIES = [
    {"kommun": "ostersund", "insats_id": "akutboendet",
     "facts": {"personnummer": "19811218-9876", "folkbokford_i_kommunen": True}},
    {"kommun": "jamtland-lansverksamheter", "insats_id": "cmv-stodsamtal-valdsutsatta", "facts": {"stated_age": 34}},
    {"kommun": "mellerud", "insats_id": "radgivningssamtal", "facts": {"bosatt_eller_vistas_i_kommunen": True}},
]


async def push(base_url: str, n: int, *, rate_per_s: float, deadline_s: float = 600,
               body_for=lambda i: {**BODIES[i % len(BODIES)], "channel": "app"}) -> list[str]:
    """POST n requests at about ``rate_per_s``, each retried with its Idempotency-Key until accepted."""
    accepted: list[str] = []
    start = time.monotonic()
    deadline = start + deadline_s

    async def one(client: httpx.AsyncClient, i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / rate_per_s - time.monotonic()))
        key = f"fault-{i}-{uuid.uuid4()}"
        while time.monotonic() < deadline:
            try:
                r = await client.post(f"{base_url}/v1/requests", json=body_for(i),
                                      headers={"Idempotency-Key": key}, timeout=10)
                if r.status_code == 202:
                    accepted.append(r.json()["request_id"])
                    return
            except httpx.HTTPError:
                pass  # intake or Redis is away: retry with the same key
            await asyncio.sleep(0.25)

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(*(one(client, i) for i in range(n)))
    return accepted


def entry_times(r: redis.Redis, stream: str) -> dict[str, list[float]]:
    """request id → the times (s, from the entry ids: Redis's clock) of its entries in a stream."""
    out: dict[str, list[float]] = {}
    last = "-"
    while True:
        batch = r.xrange(stream, min=last, count=2000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return out
        for entry_id, fields in batch:
            rid = json.loads(fields[b"__data__"]).get("request_id")
            out.setdefault(str(rid), []).append(int(entry_id.split(b"-")[0]) / 1000)
        last = batch[-1][0].decode()


def information_events(r: redis.Redis) -> dict[str, list[dict]]:
    """request id → its information events."""
    out: dict[str, list[dict]] = {}
    for _id, fields in r.xrange(streams.INFORMATION):
        e = json.loads(fields[b"__data__"])
        out.setdefault(e["request_id"], []).append(e)
    return out


def pending_total(r: redis.Redis) -> int:
    """Entries delivered but not acknowledged, over every group of every stream."""
    total = 0
    for stream, groups in streams.CONSUMERS.items():
        for g in groups:
            with contextlib.suppress(redis.ResponseError):
                total += r.xpending(stream, g)["pending"]
    return total


def dead_letters(r: redis.Redis) -> int:
    """Entries in every dead-letter stream."""
    return sum(r.xlen(s) for s in streams.ALL_DEAD_LETTER_STREAMS)


def waiting(r: redis.Redis) -> int:
    """Entries waiting for a retry, over every group (the iub:retry:* hashes)."""
    return sum(r.hlen(k) for k in r.scan_iter(match="iub:retry:*"))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


@dataclass
class AuditCounts:
    """What the audit store holds: records per step, and per (request id, step) where the id is kept."""

    per_step: Counter
    per_request_step: Counter

    def complete_for(self, n: int) -> bool:
        """Exactly n decision and n information records."""
        return self.per_step["decision"] == n and self.per_step["information"] == n


# 14 kap 4–5 § records wait in audit_staged until their hour is over, then join the chain (keyed ids)
COUNT_SQL = ("select request_id, step, count(*) from (select request_id, step from audit_records "
             "union all select request_id, step from audit_staged) r group by request_id, step")


def _count_rows(rows) -> AuditCounts:
    per_step, per_request = Counter(), Counter()
    for rid, step, count in rows:
        per_step[step] += count
        per_request[(rid, step)] += count
    return AuditCounts(per_step, per_request)


def sqlite_counts(path) -> AuditCounts:
    """Counts read with a plain read-only SQLite connection (never takes the write lock)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return _count_rows(conn.execute(COUNT_SQL).fetchall())
    finally:
        conn.close()


def postgres_counts(url: str) -> AuditCounts:
    """Counts read with a plain psycopg connection."""
    import psycopg

    with psycopg.connect(url, connect_timeout=3) as conn:
        return _count_rows(conn.execute(COUNT_SQL).fetchall())


# --------------------------------------------------------------------------- local HTTP receivers


@dataclass
class Receiver:
    """A local HTTP endpoint: answers 'ok' (200), 'fail' (500) or 'hang' (never answers)."""

    mode: str = "ok"
    got: list[tuple[float, str, dict]] = field(default_factory=list)  # (time, path, body)
    server: ThreadingHTTPServer | None = None
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {}
                outer.got.append((time.time(), self.path, parsed))
                if outer.mode == "hang":
                    outer.release.wait(120)
                    return
                self.send_response(200 if outer.mode == "ok" else 500)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
