"""Reading the streams for the coverage report (XRANGE by time-based ids); only ids and kommun are kept."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from iub_contracts import streams
from iub_notify.domain.coverage import Coverage, Given, Received, count_coverage, stream_id_range

BATCH = 1000


async def _entries(redis: Redis, stream: str, lo: str, hi: str) -> AsyncIterator[tuple[str, dict]]:
    """Every entry's id and JSON body in [lo, hi], in batches; unreadable bodies are skipped."""
    cursor = lo
    while True:
        batch = await redis.xrange(stream, min=cursor, max=hi, count=BATCH)
        for entry_id, fields in batch:
            try:
                body = json.loads(fields.get(b"__data__", b"{}"))
            except ValueError:
                continue
            if isinstance(body, dict):
                yield entry_id.decode(), body
        if len(batch) < BATCH:
            return
        cursor = "(" + batch[-1][0].decode()


def _request_id_of_letter(letter: dict) -> str | None:
    """The request a dead letter belongs to (notify's own letters name it in entry_id)."""
    entry = str(letter.get("entry_id", ""))
    if entry.startswith("request:"):
        return entry[len("request:"):]
    try:
        payload = json.loads(letter.get("payload") or "{}")
    except ValueError:
        return None  # a poison entry: nothing to attribute it to
    rid = payload.get("request_id") if isinstance(payload, dict) else None
    return str(rid) if rid else None


async def read_coverage(redis: Redis, kommun: str | None, start: str | None, end: str | None,
                        shards: list[str | None] | None = None) -> Coverage:
    """Requests received in the period (by stream id) against information given since its start.

    ``shards``: the kommuner of a sharded layout (IUB_STREAM_SHARDS=kommun); None: the shared streams.
    """
    lo, hi = stream_id_range(start, end)
    shards = shards or [None]
    received = [Received(str(b["request_id"]), str(b.get("kommun", "")))
                for shard in shards
                async for _, b in _entries(redis, streams.named(streams.REQUESTS, shard), lo, hi)
                if "request_id" in b]
    # information and dead letters may come after the period's end: read from its start onwards
    given = [Given(str(b["request_id"]), str(b.get("kommun", "")), str(b.get("status", "")))
             for shard in shards
             async for _, b in _entries(redis, streams.named(streams.INFORMATION, shard), lo, "+")
             if "request_id" in b]
    letters: list[str] = []
    bases = (*streams.ALL_STREAMS, *streams.RETIRED_STREAMS)
    for dlq in map(streams.dead_letter_stream, streams.all_named(bases, shards)):
        async for _, b in _entries(redis, dlq, lo, "+"):
            if (rid := _request_id_of_letter(b)) is not None:
                letters.append(rid)
    return count_coverage(received, given, letters, kommun)
