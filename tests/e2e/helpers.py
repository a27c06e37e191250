"""Reading the system's state from outside: streams, audit store, pending entries."""

from __future__ import annotations

import contextlib
import json
from collections import Counter

import redis

from iub_contracts import streams


def stream_counts(r: redis.Redis, stream: str, key: str = "request_id") -> Counter:
    """How many entries of a stream carry each request id."""
    counts: Counter = Counter()
    last = "-"
    while True:
        batch = r.xrange(stream, min=last, count=1000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return counts
        for _id, fields in batch:
            counts[json.loads(fields[b"__data__"])[key]] += 1
        last = batch[-1][0].decode()


def entry_ids(r: redis.Redis, stream: str, request_id: str) -> list[str]:
    """Stream entry ids (time-ordered) of one request in one stream."""
    return [
        i.decode() for i, f in r.xrange(stream) if json.loads(f[b"__data__"]).get("request_id") == request_id
    ]


def total_pending(r: redis.Redis) -> int:
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
