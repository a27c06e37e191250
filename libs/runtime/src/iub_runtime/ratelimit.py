"""Rate limiting per client, kept in Redis so it holds across processes (fixed window): intake and insyn."""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1] counter; ARGV[1] window ms. INCR and the first PEXPIRE in one script: a crash between
# them can never leave a counter without expiry (which would lock a client out for good).
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


@dataclass(frozen=True)
class Verdict:
    """Whether a call is within the limit, and how long to wait when it is not."""

    allowed: bool
    retry_after_s: int


def limit_for(rate_per_minute: int, window_s: int) -> int:
    """Calls allowed in one window for a per-minute rate (at least one)."""
    return max(1, math.floor(rate_per_minute * window_s / 60))


class RateLimiter:
    """Counts calls per client and window in Redis."""

    def __init__(self, redis: Redis, window_s: int, prefix: str = "iub:rate") -> None:
        self._prefix = prefix
        self._window_ms = window_s * 1000
        self._window_s = window_s
        self._script = redis.register_script(_HIT)

    async def hit(self, client_id: str, rate_per_minute: int) -> Verdict:
        """Count one call; refuse it when the window's limit is passed."""
        n, ttl_ms = await self._script(keys=[f"{self._prefix}:{client_id}"], args=[self._window_ms])
        if int(n) <= limit_for(rate_per_minute, self._window_s):
            return Verdict(True, 0)
        return Verdict(False, max(1, math.ceil(int(ttl_ms) / 1000)))
