"""Idempotency-Key: a retried POST returns the first answer and creates nothing new.

The key is claimed atomically (SET NX) with the request id and a hash of the body before
anything is written; a retry with the same key and body gets the same request id, a retry with
a different body is refused (422), a retry while the first is still in flight gets 409.
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


async def claim(redis: Redis, client_id: str, key: str, digest: str, request_id: str, ttl_s: int) -> Claim:
    """Claim a key for a new request id, or report what it already stands for."""
    k = _key(client_id, key)
    if await redis.set(k, f"pending|{digest}|{request_id}", nx=True, ex=ttl_s):
        return Claim("new", request_id)
    raw = await redis.get(k)
    if raw is None:  # expired between the two calls: treat as new
        await redis.set(k, f"pending|{digest}|{request_id}", ex=ttl_s)
        return Claim("new", request_id)
    state, stored_digest, stored_id = raw.decode().split("|", 2)
    if stored_digest != digest:
        return Claim("conflict")
    return Claim("replay" if state == "done" else "in_flight", stored_id)


async def complete(redis: Redis, client_id: str, key: str, digest: str, request_id: str, ttl_s: int) -> None:
    """Mark the key done once the request is on the stream."""
    await redis.set(_key(client_id, key), f"done|{digest}|{request_id}", ex=ttl_s)


async def release(redis: Redis, client_id: str, key: str) -> None:
    """Forget a key whose request was refused or failed before reaching the stream."""
    await redis.delete(_key(client_id, key))
