"""The history index: 14 kap 3 § end records, keyed by kommun and a keyed hash of the personnummer.

Audit writes an entry when it documents the end of an individually documented insats; eligibility
reads the person's entries before deciding a ``has_had_insats`` villkor. Neither imports the other:
the index is a Redis hash per (kommun, person) whose key holds no personnummer, only an HMAC under
``IUB_HISTORY_KEY`` (shared by audit and eligibility, held outside Redis). Each field is an insats
id; its value the unit and the latest end date. The key expires when the individual-level
retention of its latest end has passed (gallring). A read that fails or times out yields no
records: the decision then rests on the stated history, and is never blocked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from pydantic import SecretStr

from iub_contracts.facts import RecordedEnd

PREFIX = "iub:history:v1"
DEV_HISTORY_KEY = "dev-history-key-not-secret"


def history_key(secret: bytes, kommun: str, personnummer: str) -> str:
    """The Redis key of one person's end records in one kommun (no personnummer in it)."""
    digest = hmac.new(secret, f"iub-history\x1f{kommun}\x1f{personnummer}".encode(), hashlib.sha256).hexdigest()
    return f"{PREFIX}:{{{kommun}}}:{digest}"


def secret_of(value: SecretStr | None, development: bool) -> bytes | None:
    """The history key's bytes; in development a fixed key when none is set; else None (index off)."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value().encode("utf-8")
    return DEV_HISTORY_KEY.encode("utf-8") if development else None


async def record_end(redis: Any, secret: bytes, kommun: str, personnummer: str, end: RecordedEnd,
                     expire_at: dt.date) -> None:
    """Add (or move later) one end record; the key lives until ``expire_at`` of its latest end."""
    key = history_key(secret, kommun, personnummer)
    earlier = await redis.hget(key, end.insats_id)
    if earlier is not None:
        old = json.loads(earlier)
        if old.get("ended_on", "") >= end.ended_on.isoformat():
            return
    await redis.hset(key, end.insats_id, json.dumps({"unit": end.unit, "ended_on": end.ended_on.isoformat()}))
    ttl_at = int(dt.datetime.combine(expire_at, dt.time(0), dt.UTC).timestamp())
    if await redis.ttl(key) < 0:  # no expiry yet
        await redis.expireat(key, ttl_at)
    else:
        await redis.expireat(key, ttl_at, gt=True)


async def read_ends(redis: Any, secret: bytes | None, kommun: str, personnummer: str | None,
                    timeout_s: float = 0.5) -> list[RecordedEnd] | None:
    """The person's end records in the kommun, or None when there is no key, no person or no answer."""
    if secret is None or not personnummer:
        return None
    try:
        raw = await asyncio.wait_for(redis.hgetall(history_key(secret, kommun, personnummer)), timeout_s)
    except Exception:  # noqa: BLE001 - the decision never waits on the index
        return None
    out = []
    for field, value in (raw or {}).items():
        v = json.loads(value)
        insats = field.decode() if isinstance(field, bytes) else str(field)
        out.append(RecordedEnd(insats_id=insats, unit=v["unit"], ended_on=dt.date.fromisoformat(v["ended_on"])))
    return sorted(out, key=lambda e: (e.ended_on, e.insats_id))
