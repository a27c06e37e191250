"""Benchmark: the pipeline end to end against the raw Redis Streams limit on this machine.

Starts a private durable redis-server (AOF, appendfsync always — as `iub up`) and the four
services as real processes, then
  1. pushes N requests through the HTTP API,
  2. separately pushes N requests directly onto the intake stream (pipelined XADD),
and measures, per mode: sustained throughput (requests whose information was delivered per
second), latency from accept to information delivered (p50/p95/p99, from stream entry ids —
one clock, Redis's), and CPU seconds per request of the service processes.
In the same run it measures a baseline: one redis-py asyncio process moving the same payloads
through four streams with XADD/XREADGROUP/XACK in batches of 500 — the practical limit here.

    uv run python bench/run.py [--n 20000] [--processes 1] [--skip-http]

Writes bench/results/<UTC timestamp>.json and prints a markdown table. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis

from iub_contracts import streams
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, RequestReceived
from iub_runtime.processes import RedisServer, System, free_port, wait_until
from iub_runtime.signing import generate

ROOT = Path(__file__).resolve().parents[1]
BODIES = [
    {"kommun": "ostersund", "insats_id": "akutboendet",
     "facts": {"personnummer": "19811218-9876", "folkbokford_i_kommunen": True}},
    {"kommun": "jamtland-lansverksamheter", "insats_id": "cmv-stodsamtal-valdsutsatta", "facts": {"stated_age": 34}},
    {"kommun": "mellerud", "insats_id": "radgivningssamtal", "facts": {"bosatt_eller_vistas_i_kommunen": True}},
    {"kommun": "sala", "insats_id": "skuldradgivning-och-skuldsanering", "facts": {"personnummer": "19811218-9876",
                                                              "folkbokford_i_kommunen": True}},
]


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU seconds of processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, IndexError):
            pass
    return total


def entry_ms(entry_id: bytes | str) -> int:
    s = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(s.split("-")[0])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def collect(r: redis.Redis, stream: str, ids: set[str] | None = None) -> dict[str, int]:
    """request_id → entry time (ms) for a stream (first entry per request)."""
    out: dict[str, int] = {}
    last = "-"
    while True:
        batch = r.xrange(stream, min=last, count=5000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return out
        for eid, fields in batch:
            rid = json.loads(fields[b"__data__"])["request_id"]
            if ids is None or rid in ids:
                out.setdefault(rid, entry_ms(eid))
        last = batch[-1][0].decode()


def measure(r: redis.Redis, ids: set[str], pids: list[int], cpu0: float, timeout: float) -> dict:
    """Wait for every request's information, then compute throughput, latency and CPU."""
    def done() -> bool:
        return r.xlen(streams.INFORMATION) >= len(ids) and len(collect(r, streams.INFORMATION, ids)) == len(ids)

    wait_until(done, timeout, interval=0.5, what="all information delivered")
    accepted = collect(r, streams.REQUESTS, ids)
    delivered = collect(r, streams.INFORMATION, ids)
    lat = [delivered[i] - accepted[i] for i in ids]
    span_s = (max(delivered.values()) - min(accepted.values())) / 1000
    return {
        "requests": len(ids),
        "throughput_rps": round(len(ids) / span_s, 1),
        "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
                       "mean": round(statistics.mean(lat), 1)},
        "cpu_s_per_request": round((cpu_seconds(pids) - cpu0) / len(ids), 6),
        "span_s": round(span_s, 2),
    }


async def push_http(base: str, n: int, concurrency: int = 32) -> set[str]:
    ids: set[str] = set()
    counter = iter(range(n))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            body = {**BODIES[i % len(BODIES)], "channel": "app"}
            key = f"bench-{i}-{uuid.uuid4()}"
            while True:
                try:
                    r = await client.post(f"{base}/v1/requests", json=body, headers={**HEADERS, "Idempotency-Key": key})
                except httpx.TransportError:
                    await asyncio.sleep(0.1)  # a reset keep-alive connection: retry with the same key
                    continue
                if r.status_code == 202:
                    ids.add(r.json()["request_id"])
                    break
                if r.status_code == 429:
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                    continue
                raise RuntimeError(f"unexpected {r.status_code}: {r.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return ids


def request_payloads(n: int) -> list[tuple[str, str]]:
    """(request id, JSON) of n RequestReceived messages (facts already minimised as intake would)."""
    now = dt.datetime.now(dt.UTC)
    out = []
    for i in range(n):
        rid = uuid.uuid4()
        b = BODIES[i % len(BODIES)]
        facts = dict(b["facts"])
        if "personnummer" in facts:
            facts["personnummer"] = facts["personnummer"].replace("-", "")
        if b["insats_id"] == "cmv-stodsamtal-valdsutsatta":
            facts = {"stated_age": 34}
        msg = RequestReceived(correlation_id=rid, occurred_at=now, request_id=rid, kommun=b["kommun"],
                              insats_id=b["insats_id"], channel=Channel.APP, facts=ApplicantFacts(**facts),
                              received_at=now)
        out.append((str(rid), msg.model_dump_json()))
    return out


def push_direct(r: redis.Redis, payloads: list[tuple[str, str]]) -> set[str]:
    pipe = r.pipeline(transaction=False)
    for i, (_rid, data) in enumerate(payloads, 1):
        pipe.xadd(streams.REQUESTS, {"__data__": data})
        if i % 500 == 0:
            pipe.execute()
    pipe.execute()
    return {rid for rid, _ in payloads}


async def baseline(url: str, payloads: list[tuple[str, str]], batch: int = 500) -> dict:
    """Raw redis-py: the same payloads through four streams, XADD/XREADGROUP/XACK in batches."""
    r = aioredis.Redis.from_url(url)
    names = [f"bench.base.{k}" for k in range(5)]
    for s in names[1:]:
        await r.delete(s)
    for s in names[:4]:
        await r.delete(s)
        await r.xgroup_create(s, "g", id="0", mkstream=True)
    n = len(payloads)
    start = time.perf_counter()
    cpu0 = time.process_time()

    async def producer() -> None:
        for i in range(0, n, batch):
            async with r.pipeline(transaction=False) as p:
                for _rid, data in payloads[i:i + batch]:
                    p.xadd(names[0], {"__data__": data})
                await p.execute()

    async def stage(k: int) -> None:
        moved = 0
        while moved < n:
            resp = await r.xreadgroup("g", "c", {names[k]: ">"}, count=batch, block=100)
            for _s, entries in resp or []:
                async with r.pipeline(transaction=False) as p:
                    for _eid, fields in entries:
                        p.xadd(names[k + 1], {"__data__": fields[b"__data__"]})
                    p.xack(names[k], "g", *[e for e, _ in entries])
                    await p.execute()
                moved += len(entries)

    await asyncio.gather(producer(), *(stage(k) for k in range(4)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    await r.aclose()
    return {"requests": n, "throughput_rps": round(n / elapsed, 1), "span_s": round(elapsed, 2),
            "cpu_s_per_request": round(cpu / n, 6)}


HEADERS: dict[str, str] = {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--processes", type=int, default=1, help="processes per service")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, audit db)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="iub-bench-"))
    server = RedisServer(data_dir=tmp / "redis").start()
    port = free_port()
    env = {"IUB_VAR_DIR": str(tmp), "IUB_LOG_JSON": "true", "IUB_AUTH_DISABLED": "true",
           "IUB_SIGNING_SECRET": generate()}  # notify refuses to start without a signing secret
    system = System(redis_url=server.url, env=env, http_port=port, processes_per_service=args.processes,
                    log_dir=tmp / "logs").start()
    base = f"http://127.0.0.1:{port}"
    result: dict = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "n": args.n,
                    "processes_per_service": args.processes, "cores": os.cpu_count(),
                    "redis": "7.0, AOF appendfsync always", "python": sys.version.split()[0]}
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=1).json()["ok"], 60, what="intake health")
        r = redis.Redis.from_url(server.url)
        pids = [p.pid for p in system.procs]
        payloads = request_payloads(args.n)
        print("baseline …", file=sys.stderr)
        result["baseline"] = asyncio.run(baseline(server.url, payloads))
        print("direct …", file=sys.stderr)
        cpu0 = cpu_seconds(pids)
        ids = push_direct(r, payloads)
        result["direct"] = measure(r, ids, pids, cpu0, args.timeout)
        if not args.skip_http:
            print("http …", file=sys.stderr)
            cpu0 = cpu_seconds(pids)
            ids = asyncio.run(push_http(base, args.n))
            result["http"] = measure(r, ids, pids, cpu0, args.timeout)
        for mode in ("direct", "http"):
            if mode in result:
                result[mode]["ratio_to_baseline"] = round(
                    result[mode]["throughput_rps"] / result["baseline"]["throughput_rps"], 3)
    finally:
        system.stop()
        server.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    out = ROOT / "bench" / "results" / f"{result['when'].replace(':', '').replace('+0000', 'Z')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"\nwritten to {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


def markdown(res: dict) -> str:
    """The result as the README's table."""
    rows = ["| mode | requests | throughput (req/s) | p50 ms | p95 ms | p99 ms | CPU s/request | × baseline |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in ("http", "direct"):
        if mode in res:
            m = res[mode]
            rows.append(f"| {mode} | {m['requests']} | {m['throughput_rps']} | {m['latency_ms']['p50']} | "
                        f"{m['latency_ms']['p95']} | {m['latency_ms']['p99']} | {m['cpu_s_per_request']} | "
                        f"{m['ratio_to_baseline']} |")
    b = res["baseline"]
    rows.append(f"| baseline (raw redis-py, 4 streams) | {b['requests']} | {b['throughput_rps']} | – | – | – | "
                f"{b['cpu_s_per_request']} | 1 |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
