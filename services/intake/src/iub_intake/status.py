"""The request status view intake keeps in Redis: written atomically with the XADD, then updated
from the decision and information streams. It never holds a personnummer."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from iub_contracts import streams
from iub_contracts.api import DeliveryIn
from iub_contracts.messages import DELIVERY_TARGET_KEY, DecisionMade, InformationGiven, RequestReceived
from iub_runtime.streams import DATA_FIELD, minid_for
from iub_runtime.topology import execute_acked


def _key(request_id: str, shard: str | None = None) -> str:
    """The status row of a request, beside its kommun's streams when they are sharded."""
    return streams.keyed(f"iub:request:{request_id}", shard)


# the delivery target kept at intake, under the opaque handle the stream carries; notify reads it
# and deletes it once the information is given (it never outlives the stream retention)
DELIVERY_KEY = DELIVERY_TARGET_KEY

# KEYS[1] idempotency key, KEYS[2] status row, KEYS[3] stream, KEYS[4] delivery key (KEYS[1] and KEYS[4] are the
# stream itself for none: in a cluster every key of a script must be in one slot)
# ARGV[1] idempotency value, ARGV[2] its ttl, ARGV[3] row ttl, ARGV[4] minid, ARGV[5] data field, ARGV[6] data,
# ARGV[7] delivery target, ARGV[8..] row fields.
# One script: the key check, the 'done' mark, the delivery target, the status row and the XADD happen
# together or not at all.
_ACCEPT = """
if KEYS[1] ~= KEYS[3] then
  local taken = redis.call('GET', KEYS[1])
  if taken then
    -- a write even so: the WAIT after this script then covers the first call's writes too
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return {0, taken}
  end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
if KEYS[4] ~= KEYS[3] then redis.call('SET', KEYS[4], ARGV[7], 'EX', ARGV[3]) end
redis.call('HSET', KEYS[2], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {1, redis.call('XADD', KEYS[3], 'MINID', '~', ARGV[4], '*', ARGV[5], ARGV[6])}
"""


class KeyTaken(Exception):
    """The idempotency key was used meanwhile; ``value`` is what it stands for."""

    def __init__(self, value: str) -> None:
        super().__init__("idempotency key taken")
        self.value = value


async def accept_request(
    redis: Redis, req: RequestReceived, *, retention_s: float, also_set: tuple[str, str, int] | None = None,
    target: DeliveryIn | None = None, shard: str | None = None, replicas: int = 0, ack_timeout_ms: int = 1000,
) -> str:
    """Write the status row and XADD the request in one Lua script; returns the stream entry id.

    ``also_set`` (key, value, ttl) is the idempotency 'done' mark: written in the same script only
    if the key is still free, else nothing is written and ``KeyTaken`` carries the stored value.
    ``target`` (callback URL or call reference) is kept under the request's delivery handle.
    Every key sits beside the kommun's stream (``shard``: one cluster slot). With ``replicas`` > 0
    it returns only once that many replicas hold the write (WAIT), else ``ReplicasNotAcked`` (→ 503).
    """
    row = {
        "kommun": req.kommun,
        "insats_id": req.insats_id,
        "received_at": req.received_at.isoformat(),
        "channel": req.channel.value,
    }
    key, value, ttl = also_set if also_set is not None else ("", "", 0)
    keep_target = target is not None and bool(req.delivery.handle)
    delivery_key = streams.keyed(DELIVERY_KEY.format(handle=req.delivery.handle), shard) if keep_target else ""
    target_json = target.model_dump_json(exclude_none=True) if keep_target else ""
    stream = streams.named(streams.REQUESTS, shard)
    keys = [key or stream, _key(str(req.request_id), shard), stream, delivery_key or stream]
    args = [value, ttl, int(retention_s), minid_for(retention_s), DATA_FIELD, req.model_dump_json(), target_json,
            *[x for kv in row.items() for x in kv]]
    if replicas > 0:
        [(ok, result)] = await execute_acked(redis, [("EVAL", _ACCEPT, 4, *keys, *args)], [stream], replicas,
                                             ack_timeout_ms)
    else:
        ok, result = await redis.eval(_ACCEPT, 4, *keys, *args)
    text = result.decode() if isinstance(result, bytes) else str(result)
    if not ok:
        raise KeyTaken(text)
    return text


# update a status row only while it exists: a late message must not create a row without kommun or expiry,
# nor put back what minimising removed
_UPDATE_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'minimised') == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# 14 kap 4–5 §: once the person has been informed, the row keeps only what the person reads (kommun for
# access, the information) — no insats, time, channel or decision that could be joined to an audit record
_MINIMISE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'insats_id', 'received_at', 'channel', 'decision', 'decision_error')
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'minimised', '1')
return 1
"""
UNLINKABLE_LEVELS = ("anonymised", "advisory")


def _information_update(msg: InformationGiven) -> tuple[str, dict[str, str]]:
    """The script and fields for an information message: minimise 14 kap 4–5 § rows once informed."""
    fields = {"information": msg.text, "information_status": msg.status.value}
    level = msg.level.value if msg.level is not None else "advisory"  # no catalogue entry: documented as advisory
    if level in UNLINKABLE_LEVELS and msg.status.value == "delivered":
        return _MINIMISE, fields
    return _UPDATE_IF_EXISTS, fields


async def record_many(
    redis: Redis, decisions: list[DecisionMade] = (), information: list[InformationGiven] = (),
    *, sharded: bool = False,
) -> None:
    """Store a batch of decisions and information texts in one pipelined round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for msg in decisions:
            field = "decision" if msg.decision else "decision_error"
            fields = {field: (msg.decision or msg.error).model_dump_json()}
            key = _key(str(msg.request_id), msg.kommun if sharded else None)
            pipe.eval(_UPDATE_IF_EXISTS, 1, key, *[x for kv in fields.items() for x in kv])
        for msg in information:
            script, fields = _information_update(msg)
            key = _key(str(msg.request_id), msg.kommun if sharded else None)
            pipe.eval(script, 1, key, *[x for kv in fields.items() for x in kv])
        await pipe.execute()


async def read_status(redis: Redis, request_id: str, shards: list[str | None] | None = None) -> dict | None:
    """The status view of a request, or None (sharded: looked up in every kommun's slot, one pipeline)."""
    async with redis.pipeline(transaction=False) as pipe:
        for shard in shards or [None]:
            pipe.hgetall(_key(request_id, shard))
        rows = await pipe.execute()
    row = next(({k.decode(): v.decode() for k, v in raw.items()} for raw in rows if raw and b"kommun" in raw), {})
    if "kommun" not in row:  # no row, or a fragment no request of ours left
        return None
    info_status = row.get("information_status")
    status = (
        ("informed" if info_status == "delivered" else "information_failed")
        if info_status
        else ("decided" if ("decision" in row or "decision_error" in row) else "received")
    )
    return {
        "request_id": request_id,
        "kommun": row["kommun"],
        "insats_id": row.get("insats_id"),  # None once a 14 kap 4–5 § row is minimised
        "status": status,
        "received_at": row.get("received_at"),
        "decision": json.loads(row["decision"]) if "decision" in row else None,
        "decision_error": json.loads(row["decision_error"]) if "decision_error" in row else None,
        "information": row.get("information"),
        "information_status": info_status,
    }
