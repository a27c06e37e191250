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
    client_ids = {str(r.request_id) for r in requests}
    targets = {r.delivery.callback_url for r in requests}

    def joins_of(row, columns) -> int:
        n = 0
        # by id: no column of the record (id, hash, digest, MAC, content) appears anywhere in Redis
        for value in (getattr(row, c) for c in columns):
            n += value is not None and str(value) in in_redis
        n += row.request_id in client_ids
        # by content: no personnummer, delivery target or client id inside the record
        n += any(p in row.body for p in PNRS) + any(t in row.body for t in targets)
        n += any(c in row.body for c in client_ids)
        return n

    joins = 0
    # first they wait for their hour to end (no position, no time finer than the hour)
    with store.engine.connect() as conn:
        waiting = conn.execute(text("SELECT * FROM audit_staged")).all()
    assert len(waiting) == 2 * 5  # five unlinkable requests, decision + information each
    joins += sum(joins_of(r, ("request_id", "mac")) for r in waiting)
    # then they join their chains, in random order
    assert store.flush_staged(NOW, everything=True) == 10
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_records WHERE level IN ('anonymised', 'advisory')")).all()
    assert len(rows) == 2 * 5
    for row in rows:
        joins += joins_of(row, ("request_id", "hash", "content_sha256", "mac"))
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
    assert store.verify() == {k: None for k in store.kommuner()}
    # the individual records remain findable for partsinsyn (14 kap 3 §)
    assert store.export_person(requests[4].facts.personnummer)
    assert json.loads(json.dumps(in_redis is not None))
    await redis.aclose()


def test_the_chain_order_of_unlinkable_records_does_not_follow_the_stream_order(store):
    """Matching the n-th record of a chain with the n-th stream entry finds no more than chance would."""
    from audit_support import decision

    from iub_audit.domain.documenting import document_decision

    arrived = []
    for i in range(40):
        msg = decision(*ANONYMISED, at=NOW + dt.timedelta(seconds=30 * i))
        item = document_decision(CATALOG, msg, KEYS).record.item
        store.append_many([item], now=NOW + dt.timedelta(seconds=30 * i))
        arrived.append(item[0]["request_id"])
    assert store.flush_staged(NOW + dt.timedelta(hours=1)) == 40  # the hour is over
    with store.engine.connect() as conn:
        chained = [r[0] for r in conn.execute(text("SELECT request_id FROM audit_records ORDER BY seq"))]
    assert sorted(chained) == sorted(arrived)
    same_place = sum(a == c for a, c in zip(arrived, chained, strict=True))
    # a random permutation has one fixed point on average; 7 or more happens about once in 10 000
    assert same_place <= 6, same_place
    FIGURES[f"order join: records at their arrival position ({store.engine.dialect.name}, of 40)"] = same_place
