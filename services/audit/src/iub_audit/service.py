"""The audit consumers: thin handlers around the pure documenting rules and the store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from faststream.redis import RedisBroker
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from iub_audit import cases
from iub_audit.background import background_tasks
from iub_audit.domain.cases import case_values, revision_values
from iub_audit.domain.documenting import (
    Prepared,
    Refused,
    document_decision,
    document_information,
    document_revision,
)
from iub_audit.domain.linkage import LinkKeys
from iub_audit.domain.records import IdentityMissing
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, default_sqlite_url, make_engine, migrate
from iub_contracts import streams
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog, default_catalog_dir, load_catalog
from iub_contracts.messages import DeadLetter, DecisionMade, InformationGiven
from iub_runtime import metrics
from iub_runtime.consumer import Later, Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.health import serve_health
from iub_runtime.pii import redact_all

log = structlog.get_logger("iub.audit")

RECORDS = Counter("iub_audit_records_total", "Documentation records by level and step",
                  ["level", "step", "outcome"])  # outcome: stored, duplicate, refused


@dataclass
class AuditService:
    """Settings, runtime, broker and the state the handlers use (catalogue and store)."""

    settings: AuditSettings
    rt: Runtime
    broker: RedisBroker
    state: dict[str, Any] = field(default_factory=dict)
    handlers: dict[str, Any] = field(default_factory=dict)
    _health: Any = None
    _tasks: list = field(default_factory=list)

    @property
    def catalog(self) -> Catalog:
        """The catalogue the levels come from."""
        return self.state["catalog"]

    @property
    def link_keys(self) -> LinkKeys:
        """Linkage keys of 14 kap 4–5 § record ids (outside the store and Redis)."""
        return self.state["link_keys"]

    @property
    def store(self) -> AuditStore:
        """The audit store."""
        return self.state["store"]

    async def open(self) -> None:
        """Load the catalogue, migrate the store, connect to Redis and prepare the streams."""
        s = self.settings
        # refuses to start with an empty or default chain or link key outside explicit dev mode
        signer = s.signer()
        if "link_keys" not in self.state:
            self.state["link_keys"] = s.link_keys()
        if "catalog" not in self.state:
            self.state["catalog"] = load_catalog(Path(s.catalog_dir) if s.catalog_dir else default_catalog_dir())
        if "store" not in self.state:
            engine = make_engine(s.database_url or default_sqlite_url(Path(s.var_dir)))
            await asyncio.to_thread(migrate, engine)
            self.state["store"] = AuditStore(engine, signer)
            adopted = await asyncio.to_thread(self.state["store"].adopt_unsigned)
            if adopted:
                log.warning("audit_chains_adopted_for_signing", kommuner=len(adopted))
        await self.rt.connect()
        await self.rt.prepare_streams()
        self._tasks = [asyncio.create_task(t) for t in background_tasks(
            self.store, s, lambda: self.rt.redis, self.rt.clock)]
        self._health = await serve_health(self.rt, s.metrics_port, s.metrics_host)
        log.info("audit_started", catalog_version=self.catalog.version, db=self.store.engine.dialect.name)

    async def close(self) -> None:
        """Stop the health server and close Redis."""
        for task in getattr(self, "_tasks", []):
            task.cancel()
        if self._health is not None:
            self._health.close()
        await self.rt.close()


def _dead_letter(stream: str, msg: DecisionMade | InformationGiven, refused: Refused, rt: Runtime, step: str):
    """A refused record goes to operators (payload masked); the reason names no person."""
    letter = DeadLetter(stream=stream, group=streams.GROUP_AUDIT, entry_id=f"request:{msg.request_id}",
                        deliveries=1, error_type=refused.error_type, dead_lettered_at=rt.clock(),
                        payload=redact_all(msg.model_dump_json()))
    return streams.dead_letter_stream(stream), letter, f"audit-refused:{msg.request_id}:{step}"


# which decisions are documented (value: the level, or 'refused'), so their information may follow
DECIDED_KEY = "iub:audit:decided:{request_id}"
REFUSED = "refused"


async def mark_decided(rt: Runtime, marks: dict[str, str]) -> None:
    """Note, after the records are committed, that these decisions are documented (kept for the retention)."""
    if not marks or rt.redis is None:  # handler tests without Redis: the store alone answers
        return
    ttl = int(rt.settings.stream_retention_hours * 3600)
    async with rt.redis.pipeline(transaction=False) as pipe:
        for rid, level in marks.items():
            pipe.set(DECIDED_KEY.format(request_id=rid), level, ex=ttl)
        await pipe.execute()


async def decided_marks(rt: Runtime, request_ids: list[str]) -> dict[str, str]:
    """request id → level (or 'refused') of the decisions already documented."""
    if not request_ids or rt.redis is None:
        return {}
    raw = await rt.redis.mget([DECIDED_KEY.format(request_id=r) for r in request_ids])
    return {r: v.decode() for r, v in zip(request_ids, raw, strict=True) if v is not None}


async def in_store(store: AuditStore, fn, *args, **kwargs):
    """Run a store call in a thread; after a database error, open fresh connections for the next try.

    A connection that saw the error (a killed session, a read-only session, an I/O error on an
    unwritable file) may keep failing after the database is back; the retry must not reuse it.
    """
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except SQLAlchemyError:
        store.engine.dispose()
        raise


async def append_by_kommun(store: AuditStore, items: list[tuple], now) -> list:
    """Append records, each kommun's chain in its own transaction and thread, in parallel.

    Chains are per kommun and each record is idempotent, so kommuner need not wait for each
    other: after an outage the backlog is written about as many times faster as there are
    kommuner in it (PostgreSQL; SQLite still has one writer at a time).
    """
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):  # (body, personnummer[, aliases])
        groups.setdefault(str(item[0]["kommun"]), []).append(i)
    if len(groups) <= 1:
        return await in_store(store, store.append_many, items, now=now)
    parts = list(groups.values())
    results = await asyncio.gather(*(in_store(store, store.append_many, [items[i] for i in part], now=now)
                                     for part in parts))
    out: list = [None] * len(items)
    for part, stored in zip(parts, results, strict=True):
        for i, st in zip(part, stored, strict=True):
            out[i] = st
    return out


def first_cases(catalog: Catalog, msgs: list[DecisionMade], outcomes: list) -> list[tuple[dict, Any]]:
    """The provider cases of documented decisions (not of decision errors: no insats, no provider)."""
    out = []
    for msg, o in zip(msgs, outcomes, strict=True):
        if not isinstance(o.record, Prepared) or msg.decision is None:
            continue
        version = catalog.version_in_force(msg.kommun, msg.insats_id, request_day(msg.received_at))
        kc = catalog.kommun(msg.kommun)
        if version is None or kc is None:
            continue
        kv = kc.kommun_villkor if version.kommun_villkor_apply else ()
        out.append((case_values(msg, o.record.body, version, kv), msg.decision.decided_on))
    return out


def _note_refusal(msg, refused: Refused, step: str) -> None:
    RECORDS.labels(level="?", step=step, outcome="refused").inc()
    metrics.DEAD_LETTERS.labels(service="audit", stream=streams.DECISIONS if step == "decision"
                                else streams.INFORMATION).inc()
    log.warning("audit_record_refused", step=step, error_type=refused.error_type, reason=refused.reason,
                correlation_id=str(msg.request_id))


def build_service(settings: AuditSettings | None = None) -> AuditService:
    """The broker with both consumers registered; nothing is connected until ``open``."""
    settings = settings or AuditSettings()
    rt = Runtime(settings=settings, service="audit")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    svc = AuditService(settings=settings, rt=rt, broker=broker)

    async def on_decisions_made(msgs: list[DecisionMade]) -> list[dict]:
        """Document each decision at the insats's level (notify informs from the decision itself)."""
        outcomes = [document_decision(svc.catalog, m, svc.link_keys) for m in msgs]
        prepared = [o.record.item for o in outcomes if isinstance(o.record, Prepared)]
        stored = iter(await append_by_kommun(svc.store, prepared, rt.clock()))
        letters, marks, fields = [], {}, []
        for msg, o in zip(msgs, outcomes, strict=True):
            s = next(stored) if isinstance(o.record, Prepared) else None
            refused = o.record if isinstance(o.record, Refused) else None
            if refused:
                _note_refusal(msg, refused, "decision")
                letters.append(_dead_letter(streams.DECISIONS, msg, refused, rt, "decision"))
            else:
                RECORDS.labels(level=o.record.level, step="decision",
                               outcome="stored" if s.created else "duplicate").inc()
            marks[str(msg.request_id)] = REFUSED if refused else o.record.level
            fields.append({"outcome": "refused" if refused else "ok",
                           "level": o.catalog_level.value if o.catalog_level else None,
                           "created": bool(s and s.created)})
        await in_store(svc.store, cases.insert_cases, svc.store.engine, first_cases(svc.catalog, msgs, outcomes),
                       rt.clock())
        if letters:
            await rt.writer.publish_many(letters)
        await mark_decided(rt, marks)
        return fields

    async def on_information_given(msgs: list[InformationGiven]) -> list:
        """Document that the 11 kap 6 § information was given, after its decision (the chain keeps the steps in order).

        Information is given from the decision, so it can reach audit before the decision is
        documented (always so while the store is down): such an entry waits (``Later``) and is
        retried by time until its decision record is there.
        """
        ids = [str(m.request_id) for m in msgs if not m.revision]
        # marks first, then the store: a mark is set only after its record is committed
        marked = await decided_marks(rt, ids)
        decided = await in_store(svc.store, svc.store.decisions_for, ids, svc.link_keys)
        revised = await in_store(svc.store, cases.documented_revisions, svc.store.engine,
                                 [(str(m.case_id or m.request_id), m.revision) for m in msgs if m.revision])
        results: list = [None] * len(msgs)
        ready: list[tuple[int, InformationGiven, Prepared | Refused]] = []
        for i, m in enumerate(msgs):
            rid = str(m.request_id)
            if m.revision:  # information after a revision: at its case's level, once the revision is documented
                found = revised.get((str(m.case_id or m.request_id), m.revision))
                if found is None:
                    results[i] = Later("RevisionNotDocumentedYet")
                    continue
            elif rid in decided:
                found = decided[rid]
            elif marked.get(rid) not in (None, REFUSED, "individual"):
                found = (marked[rid], None)  # documented at a level that keeps no request id
            elif marked.get(rid) == REFUSED:
                found = None  # the decision was refused (PII guard): document at the catalogue's level
            else:
                results[i] = Later("DecisionNotDocumentedYet")
                continue
            try:
                ready.append((i, m, document_information(svc.catalog, m, found, svc.link_keys)))
            except IdentityMissing as exc:  # an individual decision that was refused: it can never be attached
                ready.append((i, m, Refused(type(exc).__name__, str(exc))))
        prepared = [o.item for _, _, o in ready if isinstance(o, Prepared)]
        stored = iter(await append_by_kommun(svc.store, prepared, rt.clock()))
        letters = []
        for i, msg, o in ready:
            if isinstance(o, Refused):
                _note_refusal(msg, o, "information")
                letters.append(_dead_letter(streams.INFORMATION, msg, o, rt, "information"))
                results[i] = {"outcome": "refused"}
            else:
                s = next(stored)
                RECORDS.labels(level=o.level, step="information",
                               outcome="stored" if s.created else "duplicate").inc()
                results[i] = {"level": o.level, "created": s.created}
        if letters:
            await rt.writer.publish_many(letters)
        return results

    async def on_revisions(msgs: list[DecisionMade]) -> list[dict]:
        """Document each revision at its case's level (the earlier decision is kept) and update the case."""
        rows = await in_store(svc.store, cases.get_cases, svc.store.engine, [str(m.case_id) for m in msgs])
        outcomes = [document_revision(svc.catalog, m, rows.get(str(m.case_id)), svc.link_keys) for m in msgs]
        prepared = [o.item for o in outcomes if isinstance(o, Prepared)]
        stored = iter(await append_by_kommun(svc.store, prepared, rt.clock()))
        letters, fields, revisions = [], [], []
        for msg, o in zip(msgs, outcomes, strict=True):
            if isinstance(o, Refused):
                _note_refusal(msg, o, "decision")
                letters.append(_dead_letter(streams.REVISIONS, msg, o, rt, f"decision:r{msg.revision}"))
                fields.append({"outcome": "refused", "revision": msg.revision})
                continue
            s = next(stored)
            RECORDS.labels(level=o.level, step="revision", outcome="stored" if s.created else "duplicate").inc()
            revisions.append((msg, o.level))
            fields.append({"outcome": "ok", "level": o.level, "revision": msg.revision, "created": s.created})
        for msg, level in revisions:  # after the records: a case shows a revision only once it is documented
            values = revision_values(msg, DocumentationLevel(level))
            await in_store(svc.store, cases.record_revision, svc.store.engine, str(msg.case_id), msg.revision,
                           values | {"updated_at": cases.stamp(level, rt.clock())},
                           msg.decision.decided_on if msg.decision else request_day(msg.received_at), None)
        if letters:
            await rt.writer.publish_many(letters)
        return fields

    svc.handlers.update(decisions=on_decisions_made, information=on_information_given, revisions=on_revisions)
    register_consumer(broker, rt, stream=streams.REVISIONS, group=streams.GROUP_AUDIT, model=DecisionMade,
                      handle_batch=on_revisions,
                      description="Document each revision of a decision at the insats's level; the earlier is kept")
    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_AUDIT, model=DecisionMade,
                      handle_batch=on_decisions_made, description="Document each decision at the insats's level")
    register_consumer(broker, rt, stream=streams.INFORMATION, group=streams.GROUP_AUDIT,
                      model=InformationGiven, handle_batch=on_information_given,
                      description="Document that the 11 kap 6 § information was given")
    return svc

