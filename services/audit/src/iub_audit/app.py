"""Composition root of the audit service: settings, logging, broker, store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.specification import AsyncAPI
from iub_contracts import streams
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog, default_catalog_dir, load_catalog
from iub_contracts.messages import AuditRecorded, DeadLetter, DecisionMade, InformationGiven
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, note, register_consumer
from iub_runtime.health import serve_health
from iub_runtime.logging import configure_logging
from iub_runtime.pii import redact_all
from iub_runtime.streams import ensure_groups

from iub_audit.domain.pii_guard import PiiRefused, check_no_pii
from iub_audit.domain.records import (
    IdentityMissing,
    build_decision_record,
    build_information_record,
)
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, default_sqlite_url, make_engine, migrate

log = structlog.get_logger("iub.audit")


def level_and_topic(catalog: Catalog, kommun: str, insats_id: str, on) -> tuple[DocumentationLevel | None, str | None]:
    """The documentation level and topic of the insats version in force (never from the request)."""
    v = catalog.version_in_force(kommun, insats_id, on)
    return (None, None) if v is None else (v.documentation.level, v.topic)


def create_app(settings: AuditSettings | None = None) -> FastStream:
    """Build the audit service."""
    settings = settings or AuditSettings()
    configure_logging("audit", json=settings.log_json, level=settings.log_level)
    rt = Runtime(settings=settings, service="audit")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    state: dict = {}

    async def document(body: dict, personnummer: str | None) -> tuple[bool, str | None, str | None]:
        """Store a record; returns (documented, hash, refusal reason)."""
        level = body["level"]
        if level != "individual":
            try:
                check_no_pii(body)
            except PiiRefused as exc:
                return False, None, f"PII guard: {exc}"
        stored = await asyncio.to_thread(state["store"].append, body, personnummer=personnummer, now=rt.clock())
        note(created=stored.created)
        return True, stored.hash, None

    async def on_decision_made(msg: DecisionMade) -> None:
        """Document the decision at the insats's level, then hand over to notify."""
        level, topic = level_and_topic(state["catalog"], msg.kommun, msg.insats_id, request_day(msg.received_at))
        try:
            record = build_decision_record(msg, level, topic)
            body = record.model_dump(mode="json")
            documented, h, reason = await document(
                body, record.personnummer if level is DocumentationLevel.INDIVIDUAL else None
            )
        except IdentityMissing as exc:
            documented, h, reason = False, None, str(exc)
        if not documented:
            # refused: dead-letter the record for operators, but the person is still informed
            await rt.writer.publish(
                streams.dead_letter_stream(streams.DECISIONS),
                DeadLetter(
                    stream=streams.DECISIONS, group=streams.GROUP_AUDIT, entry_id=f"request:{msg.request_id}",
                    deliveries=1, error_type=(reason or "refused").split(":")[0],
                    dead_lettered_at=rt.clock(), payload=redact_all(msg.model_dump_json()),
                ),
                once_key=f"audit-refused:{msg.request_id}",
            )
            note(outcome="refused")
        await rt.writer.publish(
            streams.RECORDED,
            AuditRecorded(
                correlation_id=msg.request_id, occurred_at=rt.clock(), request_id=msg.request_id,
                kommun=msg.kommun, insats_id=msg.insats_id, channel=msg.channel, language=msg.language,
                delivery=msg.delivery, received_at=msg.received_at, level=level, documented=documented, record_hash=h,
                refusal_reason=reason, decision=msg.decision, error=msg.error,
            ),
            once_key=f"audit:{msg.request_id}:decision",
        )

    async def on_information_given(msg: InformationGiven) -> None:
        """Document that the 11 kap 6 § information was given, at the insats's level."""
        level, topic = level_and_topic(state["catalog"], msg.kommun, msg.insats_id, request_day(msg.occurred_at))
        msg = msg.model_copy(update={"level": level})
        pnr = None
        if level is DocumentationLevel.INDIVIDUAL:
            pnr = await asyncio.to_thread(state["store"].identity_for, msg.request_id)
        try:
            record = build_information_record(msg, pnr, topic)
        except IdentityMissing:
            raise  # retried by the claimer until the decision record exists, then dead-lettered
        documented, _h, reason = await document(record.model_dump(mode="json"), pnr)
        if not documented:
            note(outcome="refused", reason=reason)

    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_AUDIT, model=DecisionMade,
                      handle=on_decision_made, description="Document each decision at the insats's level")
    register_consumer(broker, rt, stream=streams.INFORMATION, group=streams.GROUP_AUDIT,
                      model=InformationGiven, handle=on_information_given,
                      description="Document that the 11 kap 6 § information was given")
    broker.publisher(streams.RECORDED, title=streams.RECORDED, schema=AuditRecorded,
                     description="A decision was documented (or refused); notify informs next")

    app = FastStream(broker, logger=None, specification=AsyncAPI(title="iub audit", version="1"))

    @app.on_startup
    async def _start() -> None:
        catalog_dir = Path(settings.catalog_dir) if settings.catalog_dir else default_catalog_dir()
        state["catalog"] = load_catalog(catalog_dir)
        engine = make_engine(settings.database_url or default_sqlite_url(Path(settings.var_dir)))
        await asyncio.to_thread(migrate, engine)
        state["store"] = AuditStore(engine)
        await rt.connect()
        await ensure_groups(rt.redis)
        state["health"] = await serve_health(rt, settings.metrics_port)
        log.info("audit_started", catalog_version=state["catalog"].version, db=engine.dialect.name)

    @app.after_shutdown
    async def _stop() -> None:
        if "health" in state and state["health"] is not None:
            state["health"].close()
        await rt.close()

    return app

