"""Redis Streams plumbing FastStream does not do for us on Redis 7.0.

- consumer groups created explicitly at start (XGROUP CREATE … 0 MKSTREAM, BUSYGROUP ignored);
- publish-once: dedupe key and XADD in one Lua script, so a redelivered message never
  produces a second effect and a crash can never lose one;
- streams trimmed by MINID so personal data does not outlive the retention, and the AOF
  rewritten on a schedule so trimmed entries are gone from disk too (``rewrite_aof_if_due``);
- consumers of dead processes forgotten as soon as they have nothing pending;
- dead letters: the entry copied to ``<stream>.dlq`` with its error type, then acked.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Iterable, Sequence

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from iub_contracts.messages import DeadLetter
from iub_contracts.streams import CONSUMERS, base_of, dead_letter_stream, keyed, shard_of
from iub_runtime.topology import execute_acked

DATA_FIELD = "__data__"  # FastStream reads a raw JSON body from this field

# KEYS[1] dedupe key (the stream itself for none: a cluster needs every key in one slot), KEYS[2] stream;
# ARGV[1] ttl s, ARGV[2] minid, ARGV[3] data
_PUBLISH_ONCE = """
if KEYS[1] ~= KEYS[2] then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    -- a write even so: a WAIT after it then covers the earlier publish too (replication is in order)
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    return false
  end
end
return redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[2], '*', '__data__', ARGV[3])
"""


def consumer_name(suffix: str = "") -> str:
    """A consumer name unique per process: host + pid (+ role)."""
    base = f"{socket.gethostname()}-{os.getpid()}"
    return f"{base}-{suffix}" if suffix else base


async def ensure_groups(
    redis: Redis, groups: Iterable[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """Create the consumer groups idempotently from id 0, so nothing published before is skipped."""
    pairs = list(groups) if groups is not None else [
        (s, g) for s, gs in CONSUMERS.items() for g in gs
    ]
    for stream, group in pairs:
        try:
            await redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
    return pairs


def _pid_of(name: str) -> tuple[str, int] | None:
    """(host, pid) from a consumer name ``host-pid[-role]``; None for another form."""
    parts = name.rsplit("-", 2)
    for host, pid in ((parts[0], parts[1]) if len(parts) == 3 else (None, None),
                      tuple(name.rsplit("-", 1)) if "-" in name else (None, None)):
        if host and pid and pid.isdigit():
            return host, int(pid)
    return None


def process_gone(name: str) -> bool:
    """True when a consumer name belongs to a process of this host that no longer runs."""
    found = _pid_of(name)
    if found is None or found[0] != socket.gethostname():
        return False
    try:
        os.kill(found[1], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


# KEYS[1] stream; ARGV[1] group, ARGV[2] consumer. Deletes the consumer only if it has nothing
# pending at that instant (a check and a delete in two calls could drop an entry delivered between them).
_DELETE_IF_IDLE = """
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = c[i + 1] end
  end
  if name == ARGV[2] then
    if pending == 0 then return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) end
    return -1
  end
end
return -2
"""


async def delete_consumer_if_empty(redis: Redis, stream: str, group: str, name: str) -> bool:
    """XGROUP DELCONSUMER only while the consumer has nothing pending (atomic, in a script)."""
    return int(await redis.eval(_DELETE_IF_IDLE, 1, stream, group, name)) == 0


async def forget_idle_consumers(redis: Redis, stream: str, group: str, idle_ms: int) -> int:
    """Delete consumers with nothing pending whose process is gone (this host) or idle > idle_ms."""
    removed = 0
    for c in await redis.xinfo_consumers(stream, group):
        name = c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
        if int(c["pending"]) == 0 and (int(c["idle"]) > idle_ms or process_gone(name)):
            removed += await delete_consumer_if_empty(redis, stream, group, name)
    return removed


ALIVE_KEY = "iub:alive:{base}"


def consumer_base(name: str) -> str:
    """``host-pid`` of a consumer name ``host-pid[-role]`` (the process it belongs to)."""
    found = _pid_of(name)
    return f"{found[0]}-{found[1]}" if found else name


async def mark_alive(redis: Redis, ttl_s: int) -> None:
    """This process' heartbeat (its consumers' base name), renewed by the housekeeping every minute."""
    await redis.set(ALIVE_KEY.format(base=consumer_name()), "1", ex=ttl_s)


async def forget_dead_consumers(redis: Redis, streams: Iterable[str] | None = None) -> int:
    """Delete, over every contract group, the consumers of dead processes that have nothing pending.

    A process is dead when its pid is gone (this host) or its heartbeat key expired (any host:
    every service renews ``iub:alive:<host-pid>`` each minute). Redis' own idle time cannot tell,
    since on 7.0 it counts from the last delivery, so a quiet live consumer looks idle.
    """
    removed = 0
    for stream in (streams if streams is not None else CONSUMERS):
        for group in CONSUMERS.get(base_of(stream), ()):
            try:
                consumers = await redis.xinfo_consumers(stream, group)
            except ResponseError:  # the stream or group does not exist (yet)
                continue
            for c in consumers:
                name = c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
                if int(c["pending"]):
                    continue
                if process_gone(name) or not await redis.exists(ALIVE_KEY.format(base=consumer_base(name))):
                    removed += await delete_consumer_if_empty(redis, stream, group, name)
    return removed


AOF_REWRITE_KEY = "iub:housekeeping:aof-rewrite"


async def rewrite_aof_if_due(redis: Redis, every_s: float) -> bool:
    """BGREWRITEAOF at most once per ``every_s`` across all processes; True when one was started.

    Trimming (XTRIM MINID) only appends a command to the AOF: the trimmed entries stay in the
    files until Redis rewrites them, which its size-based auto-rewrite may not do for weeks. A
    rewrite writes only what is still there, so with ``every_s`` ≤ 1 day personal data is gone
    from disk within the retention plus one day. The slot is a key with a TTL (SET NX), so a
    fleet of processes starts one rewrite per period. Nothing happens when AOF is off.
    """
    info = await redis.info("persistence")
    if not int(info.get("aof_enabled", 0)):
        return False
    if not await redis.set(AOF_REWRITE_KEY, str(int(time.time())), nx=True, ex=max(1, int(every_s))):
        return False
    if int(info.get("aof_rewrite_in_progress", 0)) or int(info.get("aof_rewrite_scheduled", 0)):
        return False
    try:
        await redis.bgrewriteaof()
    except ResponseError as exc:  # e.g. a background save running: Redis schedules it itself
        if "scheduled" not in str(exc).lower():
            await redis.delete(AOF_REWRITE_KEY)  # try again at the next round
            raise
    return True


async def aof_rewrite_done(redis: Redis) -> bool:
    """No AOF rewrite running or scheduled."""
    info = await redis.info("persistence")
    return not int(info.get("aof_rewrite_in_progress", 0)) and not int(info.get("aof_rewrite_scheduled", 0))


async def trim_streams(redis: Redis, streams: Iterable[str], retention_s: float, *, exact: bool = False) -> int:
    """XTRIM every stream to the retention (MINID); returns the entries removed."""
    minid = minid_for(retention_s)
    return sum([await redis.xtrim(s, minid=minid, approximate=not exact) for s in streams])


def minid_for(retention_s: float, now_ms: int | None = None) -> str:
    """The MINID below which entries are older than the retention."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return str(max(0, now_ms - int(retention_s * 1000)))


class StreamWriter:
    """Publishes contract messages, exactly once per dedupe key, trimming by retention.

    With ``replicas`` > 0 a publish returns only once that many replicas have it (WAIT on the
    same connection), else it raises ``ReplicasNotAcked`` and the caller retries (the dedupe key
    makes the retry safe).
    """

    def __init__(self, redis: Redis, *, retention_s: float, dedupe_ttl_s: float, replicas: int = 0,
                 ack_timeout_ms: int = 1000) -> None:
        self._redis = redis
        self._retention_s = retention_s
        self._ttl = int(dedupe_ttl_s)
        self.replicas = replicas
        self.ack_timeout_ms = ack_timeout_ms

    @staticmethod
    def once_key(stream: str, once_key: str) -> str:
        """The dedupe key of a publish, beside its stream (same cluster slot)."""
        return keyed(f"iub:once:{once_key}", shard_of(stream))

    async def publish(self, stream: str, message: BaseModel, *, once_key: str | None = None) -> str | None:
        """XADD the message; with once_key, only if that key was never published. Returns the id or None."""
        [res] = await self.publish_many([(stream, message, once_key)])
        return res

    async def publish_many(self, items: Sequence[tuple[str, BaseModel, str | None]]) -> list[str | None]:
        """Pipelined publish of several messages (stream, message, once_key)."""
        if not items:
            return []
        minid = minid_for(self._retention_s)
        commands = [("EVAL", _PUBLISH_ONCE, 2, self.once_key(stream, once_key) if once_key else stream, stream,
                     self._ttl, minid, message.model_dump_json()) for stream, message, once_key in items]
        results = await execute_acked(self._redis, commands, [s for s, _, _ in items], self.replicas,
                                      self.ack_timeout_ms)
        return [None if r is None else (r.decode() if isinstance(r, bytes) else str(r)) for r in results]


async def dead_letter(
    redis: Redis,
    *,
    stream: str,
    group: str,
    entry_id: str,
    payload: bytes | str,
    deliveries: int,
    error_type: str,
    now: dt.datetime,
    retention_s: float,
) -> None:
    """Copy an entry to ``<stream>.dlq`` and ack it, atomically (MULTI)."""
    letter = DeadLetter(
        stream=stream,
        group=group,
        entry_id=entry_id,
        deliveries=deliveries,
        error_type=error_type,
        dead_lettered_at=now,
        payload=payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload,
    )
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(
            dead_letter_stream(stream),
            {DATA_FIELD: letter.model_dump_json()},
            minid=minid_for(retention_s),
            approximate=True,
        )
        pipe.xack(stream, group, entry_id)
        await pipe.execute()


ERRORS_KEY = "iub:errors:{stream}:{group}"


async def remember_error(redis: Redis, stream: str, group: str, entry_id: str, error_type: str) -> None:
    """Keep the last error type of an entry so its dead letter can say why."""
    key = ERRORS_KEY.format(stream=stream, group=group)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(key, entry_id, error_type)
        pipe.expire(key, 7 * 24 * 3600)
        await pipe.execute()


async def last_error(redis: Redis, stream: str, group: str, entry_id: str) -> str | None:
    """The last error type recorded for an entry."""
    v = await redis.hget(ERRORS_KEY.format(stream=stream, group=group), entry_id)
    return None if v is None else v.decode()
