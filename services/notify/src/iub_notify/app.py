"""Composition root of the notify service: templates, delivery adapters, broker."""

from __future__ import annotations

from pathlib import Path

import httpx
import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.specification import AsyncAPI
from iub_contracts import streams
from iub_contracts.calendar import request_day
from iub_contracts.catalog_loader import default_catalog_dir, load_catalog
from iub_contracts.messages import AuditRecorded, DeadLetter, InformationGiven
from iub_runtime import metrics
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, note, register_consumer
from iub_runtime.health import serve_health
from iub_runtime.logging import configure_logging
from iub_runtime.streams import ensure_groups

from iub_notify.delivery import (
    AppCallbackDeliverer,
    Delivery,
    PollDeliverer,
    SignedPoster,
    TelephonyDeliverer,
)
from iub_notify.domain.events import information_given
from iub_notify.domain.information import Queue, compose_information, needs_alternatives
from iub_notify.queue import get_wait_days
from iub_notify.settings import NotifySettings

log = structlog.get_logger("iub.notify")


def create_app(settings: NotifySettings | None = None) -> FastStream:
    """Build the notify service."""
    settings = settings or NotifySettings()
    configure_logging("notify", json=settings.log_json, level=settings.log_level)
    rt = Runtime(settings=settings, service="notify")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    catalog_dir = Path(settings.catalog_dir) if settings.catalog_dir else default_catalog_dir()
    state: dict = {}

    async def on_audit_recorded(msg: AuditRecorded) -> None:
        """Give the 11 kap 6 § information once per request, whatever the outcome."""
        if await rt.redis.exists(f"iub:once:notify:{msg.request_id}"):
            note(outcome="duplicate")
            return
        catalog = state["catalog"]
        kommun = catalog.kommun(msg.kommun)
        version = catalog.version_in_force(msg.kommun, msg.insats_id, request_day(msg.received_at))
        queue = None
        if kommun is not None and version is not None:
            wait = await get_wait_days(rt.redis, msg.kommun, msg.insats_id)
            if needs_alternatives(wait, kommun.reasonable_wait_days):
                queue = Queue(wait_days=wait, alternatives=list(version.alternatives))
        info = compose_information(
            kommun_name=kommun.name if kommun else msg.kommun,
            insats_name=version.name if version else msg.insats_id,
            decision=msg.decision,
            contact=kommun.contact if kommun else None,
            language=msg.language,
            queue=queue,
        )
        result = await state["deliverers"][msg.delivery.kind].deliver(
            Delivery(request_id=str(msg.request_id), kommun=msg.kommun, text=info.text, target=msg.delivery)
        )
        event = information_given(msg, info, result.delivered, result.attempts, rt.clock())
        await rt.writer.publish(streams.INFORMATION, event, once_key=f"notify:{msg.request_id}")
        metrics.INFORMATION.labels(via=msg.delivery.kind, status=event.status.value).inc()
        if not result.delivered:
            # never silently dropped: the failure is recorded and shown to operators
            await rt.writer.publish(
                streams.dead_letter_stream(streams.RECORDED),
                DeadLetter(stream=streams.RECORDED, group=streams.GROUP_NOTIFY,
                           entry_id=f"request:{msg.request_id}", deliveries=result.attempts,
                           error_type=f"DeliveryFailed:{result.error}", dead_lettered_at=rt.clock(),
                           payload=msg.model_dump_json()),
                once_key=f"notify-failed:{msg.request_id}",
            )
            note(outcome="delivery_failed")

    register_consumer(broker, rt, stream=streams.RECORDED, group=streams.GROUP_NOTIFY, model=AuditRecorded,
                      handle=on_audit_recorded,
                      description="Give the 11 kap 6 § information to everyone who turned to the service")
    broker.publisher(streams.INFORMATION, title=streams.INFORMATION, schema=InformationGiven,
                     description="Proof that the information was given (no personal data)")

    app = FastStream(broker, logger=None, specification=AsyncAPI(title="iub notify", version="1"))

    @app.on_startup
    async def _start() -> None:
        state["catalog"] = load_catalog(catalog_dir)
        await rt.connect()
        await ensure_groups(rt.redis)
        client = httpx.AsyncClient()
        state["http"] = client
        poster = SignedPoster(client, settings.signing_secret, retries=settings.delivery_retries,
                              base_delay_s=settings.delivery_base_delay_s)
        state["deliverers"] = {
            "poll": PollDeliverer(),
            "app_callback": AppCallbackDeliverer(poster),
            "telephony": TelephonyDeliverer(poster, settings.telephony_reply_url),
        }
        state["health"] = await serve_health(rt, settings.metrics_port)
        log.info("notify_started", catalog_version=state["catalog"].version)

    @app.after_shutdown
    async def _stop() -> None:
        if state.get("health") is not None:
            state["health"].close()
        if "http" in state:
            await state["http"].aclose()
        await rt.close()

    app.iub_runtime = rt  # for handler tests (TestRedisBroker) and operators' tooling
    app.iub_state = state
    return app
