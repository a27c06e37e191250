"""Benchmark: one Redis against a Redis Cluster of 3 primaries (+3 replicas), same machine, same run.

For each topology it starts the Redis processes and the four services (one process each, one
stream per kommun: IUB_STREAM_SHARDS=kommun in both, so only the topology differs), pushes N
requests through the HTTP API over the four kommuner, and measures throughput (requests informed
per second), accept→information latency, and CPU seconds per request of Redis (all its nodes) and
of the services. Topologies:

- single: one redis-server, no replica (IUB_MIN_REPLICAS_ACK=0);
- cluster: 3 primaries + 3 replicas, 202 only once a replica holds the request (WAIT 1);
- cluster-nowait: the same cluster with IUB_MIN_REPLICAS_ACK=0 (what WAIT costs).

    .venv/bin/python bench/topologies.py [--n 3000] [--topologies single,cluster,cluster-nowait]

Writes bench/results/topologies-<UTC>.json and prints a markdown table. Redis without AOF in
all of them (the cluster's durability is its replicas). A script, not a test.
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
from pathlib import Path

import httpx
import redis
from redis.cluster import ClusterNode, RedisCluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("IUB_AUDIT_CHAIN_KEY", "bench-chain-key-" + "c" * 32)
os.environ.setdefault("IUB_AUDIT_LINK_KEY", "bench-link-key-" + "l" * 32)

from bench.run import cpu_seconds, entry_ms, percentile, push_http  # noqa: E402
from iub_contracts import streams  # noqa: E402
from iub_runtime.processes import RedisClusterProcs, RedisServer, System, free_port, wait_until  # noqa: E402
from iub_runtime.signing import generate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KOMMUNER = ("ostersund", "jamtland-lansverksamheter", "mellerud", "sala")


def first_times(client, base: str, ids: set[str]) -> dict[str, int]:
    """request id → entry time (ms, Redis's clock) over the per-kommun streams of a base."""
    out: dict[str, int] = {}
    for k in KOMMUNER:
        stream, last = streams.named(base, k), "-"
        while True:
            batch = client.xrange(stream, min=last, count=5000)
            if last != "-":
                batch = batch[1:]
            if not batch:
                break
            for eid, fields in batch:
                rid = json.loads(fields[b"__data__"])["request_id"]
                if rid in ids:
                    out.setdefault(rid, entry_ms(eid))
            last = batch[-1][0].decode() if isinstance(batch[-1][0], bytes) else batch[-1][0]
    return out


def run_one(name: str, n: int, timeout: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"iub-bench-{name}-"))
    cluster = name.startswith("cluster")
    if cluster:
        topo = RedisClusterProcs(tmp / "cluster").start()
        redis_pids = [node.proc.pid for node in topo.nodes]
        env = {"IUB_REDIS_MODE": "cluster", "IUB_REDIS_CLUSTER_NODES": topo.startup_nodes,
               "IUB_MIN_REPLICAS_ACK": "0" if name.endswith("nowait") else "1"}
        url = topo.nodes[0].url
        client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", x.port) for x in topo.nodes])
    else:
        topo = RedisServer(data_dir=tmp / "redis", durable=False).start()
        redis_pids = [topo.proc.pid]
        env = {"IUB_MIN_REPLICAS_ACK": "0"}
        url = topo.url
        client = redis.Redis.from_url(url)
    port = free_port()
    system = System(redis_url=url, env={
        "IUB_VAR_DIR": str(tmp), "IUB_LOG_JSON": "true", "IUB_LOG_LEVEL": "WARNING", "IUB_AUTH_DISABLED": "true",
        "IUB_SIGNING_SECRET": generate(), "IUB_STREAM_SHARDS": "kommun", **env,
    }, http_port=port, log_dir=tmp / "logs").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=2).json()["ok"], 90, what="intake health")
        service_pids = [p.pid for p in system.procs]
        svc0, redis0, t0 = cpu_seconds(service_pids), cpu_seconds(redis_pids), time.monotonic()
        ids = asyncio.run(push_http(base, n))
        wait_until(lambda: len(first_times(client, streams.INFORMATION, ids)) == len(ids), timeout, interval=1.0,
                   what="all information delivered")
        wall = time.monotonic() - t0
        accepted = first_times(client, streams.REQUESTS, ids)
        informed = first_times(client, streams.INFORMATION, ids)
        lat = [informed[i] - accepted[i] for i in ids]
        # what the streams hold per request (request, decision, information entries), for the 72 h figures
        stream_bytes = sum(int(client.memory_usage(streams.named(b, k), samples=0) or 0)
                           for k in KOMMUNER for b in streams.ALL_STREAMS)
        span_s = (max(informed.values()) - min(accepted.values())) / 1000
        return {
            "topology": name, "requests": len(ids),
            "throughput_rps": round(len(ids) / span_s, 1),
            "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
                           "mean": round(statistics.mean(lat), 1)},
            "cpu_ms_per_request_services": round((cpu_seconds(service_pids) - svc0) / len(ids) * 1000, 3),
            "cpu_ms_per_request_redis": round((cpu_seconds(redis_pids) - redis0) / len(ids) * 1000, 3),
            "wall_s": round(wall, 1),
            "stream_bytes_per_request": round(stream_bytes / len(ids)),
        }
    finally:
        client.close()
        system.stop()
        topo.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def markdown(rows: list[dict]) -> str:
    out = ["| topology | requests | throughput (req/s) | p50 ms | p99 ms | CPU ms/request services | "
           "CPU ms/request Redis |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['topology']} | {r['requests']} | {r['throughput_rps']} | {r['latency_ms']['p50']} | "
                   f"{r['latency_ms']['p99']} | {r['cpu_ms_per_request_services']} | "
                   f"{r['cpu_ms_per_request_redis']} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--topologies", default="single,cluster,cluster-nowait")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rows = []
    for name in args.topologies.split(","):
        print(f"{name} …", file=sys.stderr, flush=True)
        rows.append(run_one(name, args.n, args.timeout))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    result = {"when": when, "cores": os.cpu_count(), "n": args.n, "rows": rows}
    out = ROOT / "bench" / "results" / f"topologies-{when.replace(':', '').replace('+0000', 'Z')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
