"""Composition root of the audit service: settings, logging, broker, store."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.specification import AsyncAPI

from iub_audit.domain.pii_guard import PiiRefused, check_no_pii
from iub_audit.domain.records import IdentityMissing, build_decision_record, build_information_record
from iub_audit.settings import AuditSettings
from iub_audit.store import AuditStore, default_sqlite_url, make_engine, migrate
from iub_contracts import streams
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog, default_catalog_dir, load_catalog
from iub_contracts.messages import AuditRecorded, DeadLetter, DecisionMade, InformationGiven
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.health import serve_health
from iub_runtime.logging import configure_logging
from iub_runtime.pii import redact_all

log = structlog.get_logger("iub.audit")


def level_and_topic(
    catalog: Catalog, kommun: str, insats_id: str, on: dt.date
) -> tuple[DocumentationLevel | None, str | None]:
    """The documentation level and topic of the insats version in force (never from the request)."""
    v = catalog.version_in_force(kommun, insats_id, on)
    return (None, None) if v is None else (v.documentation.level, v.topic)


def prepare_record(record) -> tuple[dict, str | None]:
    """The record as stored, and the identity column (individual level only); PII guard for the rest."""
    body = record.model_dump(mode="json")
    if body["level"] == "individual":
        return body, body["personnummer"]
    check_no_pii(body)  # 14 kap 4–5 §: refuse rather than store personal data
    return body, None


def create_app(settings: AuditSettings | None = None) -> FastStream:
    """Build the audit service."""
    settings = settings or AuditSettings()
    configure_logging("audit", json=settings.log_json, level=settings.log_level)
    rt = Runtime(settings=settings, service="audit")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    state: dict = {}

    async def on_decisions_made(msgs: list[DecisionMade]) -> list[dict]:
        """Document each decision at the insats's level, then hand every request over to notify."""
        prepared, outcomes = [], []
        for msg in msgs:
            level, topic = level_and_topic(state["catalog"], msg.kommun, msg.insats_id, request_day(msg.received_at))
            try:
                prepared.append(prepare_record(build_decision_record(msg, level, topic)))
                outcomes.append((msg, level, None))
            except (PiiRefused, IdentityMissing) as exc:
                outcomes.append((msg, level, f"{type(exc).__name__}: {exc}"))
        stored = iter(await asyncio.to_thread(state["store"].append_many, prepared, now=rt.clock()))
        out, fields = [], []
        for msg, level, reason in outcomes:
            s = None if reason else next(stored)
            if reason:
                # refused: the record goes to operators (masked); the person is still informed
                out.append((streams.dead_letter_stream(streams.DECISIONS), DeadLetter(
                    stream=streams.DECISIONS, group=streams.GROUP_AUDIT, entry_id=f"request:{msg.request_id}",
                    deliveries=1, error_type=reason.split(":")[0], dead_lettered_at=rt.clock(),
                    payload=redact_all(msg.model_dump_json())), f"audit-refused:{msg.request_id}"))
            out.append((streams.RECORDED, AuditRecorded(
                correlation_id=msg.request_id, occurred_at=rt.clock(), request_id=msg.request_id,
                kommun=msg.kommun, insats_id=msg.insats_id, channel=msg.channel, language=msg.language,
                delivery=msg.delivery, received_at=msg.received_at, level=level, documented=reason is None,
                record_hash=s.hash if s else None, refusal_reason=reason, decision=msg.decision, error=msg.error,
            ), f"audit:{msg.request_id}:decision"))
            fields.append({"outcome": "refused" if reason else "ok", "level": level.value if level else None,
                           "created": bool(s and s.created)})
        await rt.writer.publish_many(out)
        return fields

    async def on_information_given(msgs: list[InformationGiven]) -> list[dict]:
        """Document that the 11 kap 6 § information was given, at the insats's level."""
        store: AuditStore = state["store"]
        ids = [str(m.request_id) for m in msgs]
        identities = await asyncio.to_thread(store.identities_for, ids)
        prepared, fields = [], []
        for msg in msgs:
            level, topic = level_and_topic(state["catalog"], msg.kommun, msg.insats_id, request_day(msg.occurred_at))
            # raises IdentityMissing while the decision record is not there yet: the claimer retries
            record = build_information_record(msg.model_copy(update={"level": level}),
                                               identities.get(str(msg.request_id)), topic)
            try:
                prepared.append(prepare_record(record))
                fields.append({"level": level.value if level else None})
            except PiiRefused as exc:
                log.warning("information_record_refused", reason=str(exc), correlation_id=str(msg.request_id))
                fields.append({"outcome": "refused"})
        await asyncio.to_thread(store.append_many, prepared, now=rt.clock())
        return fields

    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_AUDIT, model=DecisionMade,
                      handle_batch=on_decisions_made, description="Document each decision at the insats's level")
    register_consumer(broker, rt, stream=streams.INFORMATION, group=streams.GROUP_AUDIT,
                      model=InformationGiven, handle_batch=on_information_given,
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
        await rt.prepare_streams()
        state["health"] = await serve_health(rt, settings.metrics_port, settings.metrics_host)
        log.info("audit_started", catalog_version=state["catalog"].version, db=engine.dialect.name)

    @app.after_shutdown
    async def _stop() -> None:
        if state.get("health") is not None:
            state["health"].close()
        await rt.close()

    app.iub_runtime = rt
    app.iub_state = state
    return app
