"""Per-request delivery ledger in Redis: a lease while sending, the attempts made, and the outcome once sent.

A consumer can die between sending the information and acknowledging the entry. The outcome
is written right after the delivery, before any event is published, so a redelivered entry
finishes publishing without sending again. The lease keeps a second process from sending while
the first one is in an attempt; it is short and refreshed while sending, so the lease of a
consumer that died frees itself within ``lease_s``. The attempt counter lets each retry, taken
up later by any process, know its number. The only window left is between the
receiver's 2xx and the SET (milliseconds); the Standard Webhooks ``webhook-id`` lets the
receiver drop that duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

SENT_KEY = "iub:notify:sent:{request_id}"
LEASE_KEY = "iub:notify:lease:{request_id}"
ATTEMPTS_KEY = "iub:notify:attempts:{request_id}"

# delete the lease only if it is still ours
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# extend the lease only if it is still ours
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class SentRecord:
    """What was sent for a request and how the delivery ended (no personal data)."""

    delivered: bool
    attempts: int
    error: str | None
    text: str
    template: str
    language: str
    language_requested: str
    fallback: bool


class DeliveryLedger:
    """Sent markers and sending leases, keyed on the request id."""

    def __init__(self, redis: Redis, *, ttl_s: int, lease_s: int) -> None:
        self.redis, self.ttl_s, self.lease_s = redis, int(ttl_s), max(1, int(lease_s))
        self._release = redis.register_script(_RELEASE)
        self._refresh = redis.register_script(_REFRESH)

    async def sent(self, request_id: str) -> SentRecord | None:
        """The recorded outcome of an earlier delivery, or None when nothing was sent yet."""
        raw = await self.redis.get(SENT_KEY.format(request_id=request_id))
        return None if raw is None else SentRecord(**json.loads(raw))

    async def record(self, request_id: str, record: SentRecord) -> None:
        """Write the outcome right after the delivery (before publishing anything)."""
        await self.redis.set(SENT_KEY.format(request_id=request_id), json.dumps(asdict(record)), ex=self.ttl_s)

    async def next_attempt(self, request_id: str) -> int:
        """Count one more delivery attempt; returns its number (1 for the first)."""
        key = ATTEMPTS_KEY.format(request_id=request_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.ttl_s)
            n, _ = await pipe.execute()
        return int(n)

    async def attempts(self, request_id: str) -> int:
        """Delivery attempts made so far."""
        return int(await self.redis.get(ATTEMPTS_KEY.format(request_id=request_id)) or 0)

    async def lease(self, request_id: str) -> str | None:
        """Take the sending lease; returns its token, or None when another consumer holds it."""
        token = uuid.uuid4().hex
        ok = await self.redis.set(LEASE_KEY.format(request_id=request_id), token, nx=True, ex=self.lease_s)
        return token if ok else None

    async def release(self, request_id: str, token: str) -> None:
        """Give the lease back (only if it is still ours)."""
        await self._release(keys=[LEASE_KEY.format(request_id=request_id)], args=[token])

    @contextlib.asynccontextmanager
    async def holding(self, request_id: str, token: str) -> AsyncIterator[None]:
        """Keep the lease alive while the body runs (a dead process stops refreshing), then release it."""
        key = LEASE_KEY.format(request_id=request_id)

        async def refresh() -> None:
            while True:
                await asyncio.sleep(self.lease_s / 3)
                await self._refresh(keys=[key], args=[token, self.lease_s * 1000])

        task = asyncio.create_task(refresh())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.release(request_id, token)
