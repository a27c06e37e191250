"""A tiny HTTP endpoint per stream service: liveness, readiness and /metrics (Prometheus).

- ``/health/live``: the process and its event loop answer (no dependency checked: a Redis outage
  must not make Kubernetes restart every pod);
- ``/health/ready`` and ``/health``: Redis answers and every consumer group exists;
- ``/metrics``: the Prometheus registry (with FastStream's own ``RedisPrometheusMiddleware``
  series where the service adds it).

Served with asyncio streams on the service's own loop (FastStream's ASGI helpers need an ASGI
server, which the stream services do not run).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from iub_contracts.streams import CONSUMERS


async def check_health(redis: Redis | None, groups: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Broker reachable and every consumer group present."""
    pairs = groups if groups is not None else [(s, g) for s, gs in CONSUMERS.items() for g in gs]
    result: dict[str, Any] = {"broker": False, "groups": {}}
    if redis is None:
        return {**result, "ok": False}
    try:
        await redis.ping()
        result["broker"] = True
        for stream, group in pairs:
            try:
                names = {
                    (g["name"].decode() if isinstance(g["name"], bytes) else g["name"])
                    for g in await redis.xinfo_groups(stream)
                }
            except Exception:
                names = set()
            result["groups"][f"{stream}:{group}"] = group in names
    except Exception as exc:  # unreachable broker
        result["error"] = type(exc).__name__
    result["ok"] = result["broker"] and all(result["groups"].values())
    return result


async def serve_health(rt: Any, port: int | None, host: str = "127.0.0.1") -> asyncio.AbstractServer | None:
    """Serve /health and /metrics on a port (None: not served)."""
    if port is None:
        return None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            path = line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "/"
            if path.startswith("/metrics"):
                status, ctype, body = 200, CONTENT_TYPE_LATEST, generate_latest()
            elif path.startswith("/health/live"):
                status, ctype, body = 200, "application/json", b'{"ok": true, "live": true}'
            elif path.startswith("/health"):  # /health and /health/ready
                pairs = rt.group_pairs() if hasattr(rt, "group_pairs") else None
                h = await check_health(rt.redis, pairs)
                status, ctype, body = (200 if h["ok"] else 503), "application/json", json.dumps(h).encode()
            else:
                status, ctype, body = 404, "text/plain", b"not found"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
