"""Idempotency-Key: a retried POST returns the first answer and creates nothing new.

The key is claimed atomically (SET NX) with the request id and a hash of the body before
anything is written; a retry with the same key and body gets the same request id, a retry with
a different body is refused (422), a retry while the first is still in flight gets 409.
The 'done' mark is written in the same MULTI as the XADD (see status.accept_request), so a crash
can neither lose an accepted request nor let a retry create a second one. A pending claim
expires after a minute, so a process that died mid-way does not block retries for long.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True)
class Claim:
    """Result of claiming a key: new, the same request again, a different body, or in flight."""

    state: str  # "new" | "replay" | "conflict" | "in_flight"
    request_id: str | None = None


def body_digest(body: bytes) -> str:
    """SHA-256 of the raw body (the key is bound to one body)."""
    return hashlib.sha256(body).hexdigest()


def _key(client_id: str, key: str) -> str:
    return f"iub:idem:{client_id}:{hashlib.sha256(key.encode()).hexdigest()}"


PENDING_TTL_S = 60


async def claim(redis: Redis, client_id: str, key: str, digest: str, request_id: str, ttl_s: int) -> Claim:
    """Claim a key for a new request id, or report what it already stands for."""
    k = _key(client_id, key)
    pending = min(ttl_s, PENDING_TTL_S)
    if await redis.set(k, f"pending|{digest}|{request_id}", nx=True, ex=pending):
        return Claim("new", request_id)
    raw = await redis.get(k)
    if raw is None:  # expired between the two calls: claim it again, still atomically
        if await redis.set(k, f"pending|{digest}|{request_id}", nx=True, ex=pending):
            return Claim("new", request_id)
        return Claim("in_flight")
    state, stored_digest, stored_id = raw.decode().split("|", 2)
    if stored_digest != digest:
        return Claim("conflict")
    return Claim("replay" if state == "done" else "in_flight", stored_id)


def done_mark(client_id: str, key: str, digest: str, request_id: str) -> tuple[str, str]:
    """The Redis key and value that mark a key done (for a MULTI with the XADD)."""
    return _key(client_id, key), f"done|{digest}|{request_id}"


async def complete(redis: Redis, client_id: str, key: str, digest: str, request_id: str, ttl_s: int) -> None:
    """Mark the key done (when nothing else needs to be written with it)."""
    k, v = done_mark(client_id, key, digest, request_id)
    await redis.set(k, v, ex=ttl_s)


async def release(redis: Redis, client_id: str, key: str) -> None:
    """Forget a key whose request was refused or failed before reaching the stream."""
    await redis.delete(_key(client_id, key))
