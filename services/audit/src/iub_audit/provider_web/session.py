"""Server-side sessions of the provider web page: a random cookie value, the session kept in Redis.

The cookie holds only a random 256-bit token; Redis keeps, under the token's SHA-256, which client
the staff member signed in as, their staff id and the session's CSRF token. The provider's key is
checked once at sign-in and never stored. Sessions expire after a period of inactivity and end at
logout (the key is deleted), or when the client is removed from the clients configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

PREFIX = "iub:provider-session:"


@dataclass(frozen=True)
class Session:
    """Who is signed in: the provider client, the staff member, the CSRF token of their forms."""

    client_id: str
    staff_id: str
    csrf: str
    via: str = "key"  # "key" (signed in with the provider key) or "sso" (the trusted SSO header)


def _key(token: str) -> str:
    return PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Sessions in Redis with a sliding expiry."""

    def __init__(self, get_redis: Callable[[], Redis], ttl_s: int) -> None:
        self._get_redis, self.ttl_s = get_redis, ttl_s

    def redis(self) -> Redis:
        """The Redis client the sessions live in (shared with the sign-in rate limit)."""
        return self._get_redis()

    async def create(self, client_id: str, staff_id: str, via: str = "key") -> tuple[str, Session]:
        """A new session; returns the cookie token (never stored as such) and the session."""
        token = secrets.token_urlsafe(32)
        session = Session(client_id=client_id, staff_id=staff_id, csrf=secrets.token_urlsafe(32), via=via)
        await self._get_redis().set(_key(token), json.dumps(asdict(session)), ex=self.ttl_s)
        return token, session

    async def get(self, token: str | None) -> Session | None:
        """The session of a cookie token (its expiry renewed), or None."""
        if not token or len(token) > 100:
            return None
        redis = self._get_redis()
        raw = await redis.get(_key(token))
        if raw is None:
            return None
        await redis.expire(_key(token), self.ttl_s)
        try:
            return Session(**json.loads(raw))
        except (ValueError, TypeError):
            return None

    async def delete(self, token: str | None) -> None:
        """End a session (logout)."""
        if token and len(token) <= 100:
            await self._get_redis().delete(_key(token))


def same_token(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(presented) and hmac.compare_digest(expected.encode("utf-8"), str(presented).encode("utf-8"))
