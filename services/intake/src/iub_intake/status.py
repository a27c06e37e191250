"""The request status view intake keeps in Redis: written atomically with the XADD, then updated
from the decision and information streams. It never holds a personnummer."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from iub_contracts import streams
from iub_contracts.api import DeliveryIn
from iub_contracts.messages import DELIVERY_TARGET_KEY, DecisionMade, InformationGiven, RequestReceived
from iub_runtime.streams import DATA_FIELD, minid_for


def _key(request_id: str) -> str:
    return f"iub:request:{request_id}"


# the delivery target kept at intake, under the opaque handle the stream carries; notify reads it
# and deletes it once the information is given (it never outlives the stream retention)
DELIVERY_KEY = DELIVERY_TARGET_KEY


async def accept_request(
    redis: Redis, req: RequestReceived, *, retention_s: float, also_set: tuple[str, str, int] | None = None,
    target: DeliveryIn | None = None,
) -> str:
    """Write the status row and XADD the request in one MULTI; returns the stream entry id.

    ``also_set`` (key, value, ttl) is written in the same MULTI: the idempotency 'done' mark.
    ``target`` (callback URL or call reference) is kept under the request's delivery handle.
    """
    async with redis.pipeline(transaction=True) as pipe:
        if also_set is not None:
            pipe.set(also_set[0], also_set[1], ex=also_set[2])
        if target is not None and req.delivery.handle:
            pipe.set(DELIVERY_KEY.format(handle=req.delivery.handle),
                     target.model_dump_json(exclude_none=True), ex=int(retention_s))
        pipe.hset(
            _key(str(req.request_id)),
            mapping={
                "kommun": req.kommun,
                "insats_id": req.insats_id,
                "received_at": req.received_at.isoformat(),
                "channel": req.channel.value,
            },
        )
        pipe.expire(_key(str(req.request_id)), int(retention_s))
        pipe.xadd(streams.REQUESTS, {DATA_FIELD: req.model_dump_json()}, minid=minid_for(retention_s),
                  approximate=True)
        results = await pipe.execute()
    entry = results[-1]
    return entry.decode() if isinstance(entry, bytes) else str(entry)


# update a status row only while it exists: a late message must not create a row without kommun or expiry
_UPDATE_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


async def _update(redis: Redis, request_id: str, fields: dict[str, str]) -> bool:
    args = [x for kv in fields.items() for x in kv]
    return bool(await redis.eval(_UPDATE_IF_EXISTS, 1, _key(request_id), *args))


async def record_decision(redis: Redis, msg: DecisionMade) -> bool:
    """Store the decision (or error) for GET /v1/requests/{id}; False when the row is gone."""
    field = "decision" if msg.decision else "decision_error"
    value = (msg.decision or msg.error).model_dump_json()
    return await _update(redis, str(msg.request_id), {field: value})


async def record_information(redis: Redis, msg: InformationGiven) -> bool:
    """Store the information text as delivered; False when the row is gone."""
    return await _update(redis, str(msg.request_id),
                         {"information": msg.text, "information_status": msg.status.value})


async def record_many(
    redis: Redis, decisions: list[DecisionMade] = (), information: list[InformationGiven] = ()
) -> None:
    """Store a batch of decisions and information texts in one pipelined round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for msg in decisions:
            field = "decision" if msg.decision else "decision_error"
            fields = {field: (msg.decision or msg.error).model_dump_json()}
            pipe.eval(_UPDATE_IF_EXISTS, 1, _key(str(msg.request_id)), *[x for kv in fields.items() for x in kv])
        for msg in information:
            fields = {"information": msg.text, "information_status": msg.status.value}
            pipe.eval(_UPDATE_IF_EXISTS, 1, _key(str(msg.request_id)), *[x for kv in fields.items() for x in kv])
        await pipe.execute()


async def read_status(redis: Redis, request_id: str) -> dict | None:
    """The status view of a request, or None."""
    raw = await redis.hgetall(_key(request_id))
    row = {k.decode(): v.decode() for k, v in raw.items()}
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
        "insats_id": row["insats_id"],
        "status": status,
        "received_at": row["received_at"],
        "decision": json.loads(row["decision"]) if "decision" in row else None,
        "decision_error": json.loads(row["decision_error"]) if "decision_error" in row else None,
        "information": row.get("information"),
        "information_status": info_status,
    }
