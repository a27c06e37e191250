"""14 kap 4–5 §: with the audit database, the Redis contents and intake's status rows all in hand,
no anonymised or advisory record can be joined to a personnummer or a delivery target.

The pipeline runs for real on the parts that hold data: intake's status row and request stream
(real Redis), eligibility's decision, audit's handlers (real store, SQLite and PostgreSQL), the
messages audit publishes (written to the real Redis), notify's information, intake's status update.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from audit_support import ADVISORY, ANONYMISED, CATALOG, FIGURES, INDIVIDUAL, KEYS, NOW, information
from faststream.redis import TestRedisBroker
from redis.asyncio import Redis
from sqlalchemy import text

from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_contracts import streams
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, DeliveryTarget, RequestReceived
from iub_eligibility.domain.request import evaluate_request
from iub_intake.status import accept_request, record_many
from iub_runtime.streams import DATA_FIELD
from iub_runtime.testing import RecordingWriter

pytestmark = pytest.mark.redis
PNRS = ["198112189876", "199001011234", "200502023456", "197703034567"]


async def _dump(redis: Redis) -> str:
    """Everything Redis holds, as one text."""
    parts = []
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        parts.append(key.decode())
        if kind == "stream":
            for entry_id, fields in await redis.xrange(key):
                parts.append(entry_id.decode())
                parts.extend(v.decode() for kv in fields.items() for v in kv)
        elif kind == "hash":
            parts.extend(v.decode() for kv in (await redis.hgetall(key)).items() for v in kv)
        elif kind == "string":
            parts.append((await redis.get(key)).decode())
        elif kind in ("set", "zset", "list"):
            parts.append(repr(await redis.execute_command("DUMP", key)))
    return "\n".join(parts)


async def test_no_anonymised_or_advisory_record_can_be_joined(store, clean_redis, tmp_path):
    redis = Redis.from_url(clean_redis)
    svc = build_service(AuditSettings(var_dir=str(tmp_path)))
    svc.state.update(catalog=CATALOG, store=store, link_keys=KEYS)
    svc.rt.writer = RecordingWriter()
    requests, decisions = [], []
    for i, kommun_insats in enumerate([ANONYMISED, ANONYMISED, ADVISORY, ADVISORY, INDIVIDUAL, ANONYMISED]):
        rid = uuid.uuid4()
        at = NOW + dt.timedelta(minutes=7 * i, seconds=13 * i)
        pnr = PNRS[i % len(PNRS)]
        req = RequestReceived(
            correlation_id=rid, occurred_at=at, request_id=rid, kommun=kommun_insats[0], insats_id=kommun_insats[1],
            channel=Channel.APP, facts=ApplicantFacts(personnummer=pnr),
            delivery=DeliveryTarget(kind="app_callback", callback_url=f"https://app.example.se/cb/{rid}?p={pnr}"),
            received_at=at)
        await accept_request(redis, req, retention_s=72 * 3600)
        requests.append(req)
        decisions.append(evaluate_request(CATALOG, req, at))
    infos = [information(d) for d in decisions]
    for d, info in zip(decisions, infos, strict=True):
        lvl = {ANONYMISED[0]: "anonymised", ADVISORY[0]: "advisory"}.get(d.kommun, "individual")
        infos[infos.index(info)] = info.model_copy(update={"level": DocumentationLevel(lvl)})
    async with TestRedisBroker(svc.broker) as br:
        for d in decisions:
            await br.publish(d.model_dump(mode="json"), stream=streams.DECISIONS)
        for info in infos:
            await br.publish(info.model_dump(mode="json"), stream=streams.INFORMATION)
    # what the streams hold: the decisions, what audit published, the information
    for stream, msgs in [(streams.DECISIONS, decisions), (streams.INFORMATION, infos)]:
        for m in msgs:
            await redis.xadd(stream, {DATA_FIELD: m.model_dump_json()})
    for stream, msg in svc.rt.writer.published:
        await redis.xadd(stream, {DATA_FIELD: msg.model_dump_json()})
    await record_many(redis, decisions=decisions, information=infos)

    in_redis = await _dump(redis)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_records WHERE level IN ('anonymised', 'advisory')")).all()
    assert len(rows) == 2 * 5  # five unlinkable requests, decision + information each
    client_ids = {str(r.request_id) for r in requests}
    targets = {r.delivery.callback_url for r in requests}
    joins = 0
    for row in rows:
        # by id: no column of the record (id, hash, digest, MAC, content) appears anywhere in Redis
        for value in (row.request_id, row.hash, row.content_sha256, row.mac):
            joins += value in in_redis
        joins += row.request_id in client_ids
        # by content: no personnummer, delivery target or client id inside the record
        joins += any(p in row.body for p in PNRS) + any(t in row.body for t in targets)
        joins += any(c in row.body for c in client_ids)
        # by time: nothing finer than the day (a stream entry id is a millisecond timestamp)
        created = row.created_at if isinstance(row.created_at, dt.datetime) else dt.datetime.fromisoformat(
            str(row.created_at))
        joins += (created.hour, created.minute, created.second, created.microsecond) != (0, 0, 0, 0)
        joins += row.personnummer is not None
    # intake's status rows of the unlinkable requests hold no insats, time, channel or decision any more
    for req in requests:
        row = {k.decode(): v.decode() for k, v in (await redis.hgetall(f"iub:request:{req.request_id}")).items()}
        if req.kommun != INDIVIDUAL[0]:
            joins += bool(set(row) - {"kommun", "information", "information_status", "minimised"})
    assert joins == 0
    FIGURES[f"linkage joins found ({store.engine.dialect.name}, {len(rows)} unlinkable records)"] = joins
    # the individual records remain findable for partsinsyn (14 kap 3 §)
    assert store.export_person(requests[4].facts.personnummer)
    assert json.loads(json.dumps(in_redis is not None))
    await redis.aclose()
