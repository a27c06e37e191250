"""The audit consumers: thin handlers around the pure documenting rules and the store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from faststream.redis import RedisBroker
from prometheus_client import Counter

from iub_audit.background import background_tasks
from iub_audit.domain.documenting import Prepared, Refused, document_decision, document_information
from iub_audit.domain.linkage import LinkKeys
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, default_sqlite_url, make_engine, migrate
from iub_contracts import streams
from iub_contracts.catalog_loader import Catalog, default_catalog_dir, load_catalog
from iub_contracts.messages import AuditRecorded, DeadLetter, DecisionMade, InformationGiven
from iub_runtime import metrics
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
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
        """Document each decision at the insats's level, then hand every request over to notify."""
        outcomes = [document_decision(svc.catalog, m, svc.link_keys) for m in msgs]
        prepared = [o.record.item for o in outcomes if isinstance(o.record, Prepared)]
        stored = iter(await asyncio.to_thread(svc.store.append_many, prepared, now=rt.clock()))
        out, fields = [], []
        for msg, o in zip(msgs, outcomes, strict=True):
            s = next(stored) if isinstance(o.record, Prepared) else None
            refused = o.record if isinstance(o.record, Refused) else None
            if refused:
                _note_refusal(msg, refused, "decision")
                out.append(_dead_letter(streams.DECISIONS, msg, refused, rt, "decision"))
            else:
                RECORDS.labels(level=o.record.level, step="decision",
                               outcome="stored" if s.created else "duplicate").inc()
            # the person is informed either way (11 kap 6 §): notify acts on this message
            out.append((streams.RECORDED, AuditRecorded(
                correlation_id=msg.request_id, occurred_at=rt.clock(), request_id=msg.request_id,
                kommun=msg.kommun, insats_id=msg.insats_id, channel=msg.channel, language=msg.language,
                delivery=msg.delivery, received_at=msg.received_at, level=o.catalog_level,
                # 14 kap 4–5 §: no hash that would join this request to its record
                documented=refused is None,
                record_hash=s.hash if s and o.record.level == "individual" else None,
                refusal_reason=f"{refused.error_type}: {refused.reason}" if refused else None,
                decision=msg.decision, error=msg.error,
            ), f"audit:{msg.request_id}:decision"))
            fields.append({"outcome": "refused" if refused else "ok",
                           "level": o.catalog_level.value if o.catalog_level else None,
                           "created": bool(s and s.created)})
        await rt.writer.publish_many(out)
        return fields

    async def on_information_given(msgs: list[InformationGiven]) -> list[dict]:
        """Document that the 11 kap 6 § information was given, at the level its decision has."""
        decided = await asyncio.to_thread(svc.store.decisions_for, [str(m.request_id) for m in msgs],
                                          svc.link_keys)
        # IdentityMissing (individual decision not documented yet) fails the batch: the claimer retries
        outcomes = [document_information(svc.catalog, m, decided.get(str(m.request_id)), svc.link_keys)
                    for m in msgs]
        prepared = [o.item for o in outcomes if isinstance(o, Prepared)]
        stored = iter(await asyncio.to_thread(svc.store.append_many, prepared, now=rt.clock()))
        letters, fields = [], []
        for msg, o in zip(msgs, outcomes, strict=True):
            if isinstance(o, Refused):
                _note_refusal(msg, o, "information")
                letters.append(_dead_letter(streams.INFORMATION, msg, o, rt, "information"))
                fields.append({"outcome": "refused"})
            else:
                s = next(stored)
                RECORDS.labels(level=o.level, step="information",
                               outcome="stored" if s.created else "duplicate").inc()
                fields.append({"level": o.level, "created": s.created})
        if letters:
            await rt.writer.publish_many(letters)
        return fields

    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_AUDIT, model=DecisionMade,
                      handle_batch=on_decisions_made, description="Document each decision at the insats's level")
    register_consumer(broker, rt, stream=streams.INFORMATION, group=streams.GROUP_AUDIT,
                      model=InformationGiven, handle_batch=on_information_given,
                      description="Document that the 11 kap 6 § information was given")
    broker.publisher(streams.RECORDED, title=streams.RECORDED, schema=AuditRecorded,
                     description="A decision was documented (or refused); notify informs next")
    return svc

