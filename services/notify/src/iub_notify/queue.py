"""Waiting times per insats, set by operators (CLI/API) and read by notify. Stored in Redis."""

from __future__ import annotations

from redis.asyncio import Redis

QUEUE_KEY = "iub:queue:wait_days"


def _field(kommun: str, insats_id: str) -> str:
    return f"{kommun}/{insats_id}"


async def set_wait_days(redis: Redis, kommun: str, insats_id: str, days: int | None) -> None:
    """Set (or clear with None) the expected wait for an insats."""
    if days is None:
        await redis.hdel(QUEUE_KEY, _field(kommun, insats_id))
    else:
        await redis.hset(QUEUE_KEY, _field(kommun, insats_id), int(days))


async def get_wait_days(redis: Redis, kommun: str, insats_id: str) -> int | None:
    """The expected wait in days, or None when there is no queue."""
    v = await redis.hget(QUEUE_KEY, _field(kommun, insats_id))
    return None if v is None else int(v)


async def all_waits(redis: Redis) -> dict[str, int]:
    """Every waiting time set, as 'kommun/insats' → days."""
    return {k.decode(): int(v) for k, v in (await redis.hgetall(QUEUE_KEY)).items()}


async def waits_for(redis: Redis, kommun: str) -> dict[str, int]:
    """The waiting times set for one kommun, as insats id → days."""
    prefix = f"{kommun}/"
    return {k[len(prefix):]: v for k, v in (await all_waits(redis)).items() if k.startswith(prefix)}
