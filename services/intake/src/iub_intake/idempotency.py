"""Idempotency-Key: a retried POST returns the first answer and creates nothing new.

The key is never claimed ahead of the work. Intake looks it up (a retry with the same key and
body gets the same request id, a different body is refused with 422), validates and admits the
request, and then writes the 'done' mark, the status row and the XADD in ONE Lua script that
first checks the key is still free (``status.accept_request``). So a crash at any point before
that script leaves nothing behind: a same-key retry goes straight through instead of waiting
for a pending claim to expire, and two concurrent calls with one key still create one request
(the loser of the race gets the winner's answer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

from iub_contracts.streams import keyed


@dataclass(frozen=True)
class Claim:
    """What a key stands for: new (free), the same request again, a different body, or in flight."""

    state: str  # "new" | "replay" | "conflict" | "in_flight"
    request_id: str | None = None


def body_digest(body: bytes) -> str:
    """SHA-256 of the raw body (the key is bound to one body)."""
    return hashlib.sha256(body).hexdigest()


def redis_key(client_id: str, key: str, shard: str | None = None) -> str:
    """Where a client's key lives (hashed: it is the client's free text), beside the kommun's stream."""
    return keyed(f"iub:idem:{client_id}:{hashlib.sha256(key.encode()).hexdigest()}", shard)


def done_value(digest: str, request_id: str) -> str:
    """The stored answer of a key: its body digest and request id."""
    return f"done|{digest}|{request_id}"


def interpret(raw: bytes | str | None, digest: str) -> Claim:
    """A stored value read against this call's body digest."""
    if raw is None:
        return Claim("new")
    text = raw.decode() if isinstance(raw, bytes) else raw
    state, stored_digest, stored_id = text.split("|", 2)
    if stored_digest != digest:
        return Claim("conflict")
    # 'pending' marks were written by earlier versions (expired within a minute); none are written now
    return Claim("replay" if state == "done" else "in_flight", stored_id)


async def lookup(redis: Redis, client_id: str, key: str, digest: str, shard: str | None = None) -> Claim:
    """What the key already stands for, without claiming anything."""
    return interpret(await redis.get(redis_key(client_id, key, shard)), digest)


def done_mark(client_id: str, key: str, digest: str, request_id: str, shard: str | None = None) -> tuple[str, str]:
    """The Redis key and value that mark a key done (written atomically with the XADD)."""
    return redis_key(client_id, key, shard), done_value(digest, request_id)


async def remember(redis: Redis, client_id: str, key: str, digest: str, request_id: str, ttl_s: int) -> Claim:
    """Mark a key done in one SET NX when nothing else is written with it; what it stood for if taken."""
    k, v = done_mark(client_id, key, digest, request_id)
    if await redis.set(k, v, nx=True, ex=ttl_s):
        return Claim("new", request_id)
    return interpret(await redis.get(k), digest)
