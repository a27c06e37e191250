"""Composition root of the notify service: templates, delivery adapters, ledger, broker."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import REGISTRY

from iub_contracts import streams
from iub_contracts.catalog_loader import default_catalog_dir, load_catalog
from iub_contracts.messages import DeadLetter, DecisionMade, InformationGiven
from iub_notify.delivery import AppCallbackDeliverer, PollDeliverer, SignedPoster, TelephonyDeliverer
from iub_notify.handler import Notifier
from iub_notify.ledger import DeliveryLedger
from iub_notify.settings import NotifySettings
from iub_notify.texts import Templates
from iub_runtime import urlpolicy
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.health import serve_health
from iub_runtime.logging import configure_logging
from iub_runtime.retry import Backoff
from iub_runtime.signing import require_secret

log = structlog.get_logger("iub.notify")


def build_notifier(rt: Runtime, settings: NotifySettings, client: httpx.AsyncClient, catalog_dir: Path) -> Notifier:
    """The handler with its adapters, once Redis is connected."""
    poster = SignedPoster(client, settings.signing_secret, timeout_s=settings.delivery_timeout_s)
    ledger = DeliveryLedger(rt.redis, ttl_s=int(settings.dedupe_ttl_hours * 3600), lease_s=settings.delivery_lease_s)
    return Notifier(
        redis=rt.redis,
        writer=rt.writer,
        catalog=load_catalog(catalog_dir),
        templates=Templates(Path(settings.templates_dir) if settings.templates_dir else None),
        deliverers={
            "poll": PollDeliverer(),
            "app_callback": AppCallbackDeliverer(poster, urlpolicy.networks(settings.callback_allowed_networks)),
            "telephony": TelephonyDeliverer(poster, settings.telephony_reply_url),
        },
        ledger=ledger,
        clock=rt.clock,
        retries=settings.delivery_retries,
        backoff=Backoff(settings.delivery_base_delay_s, settings.delivery_max_delay_s),
    )


def create_app(settings: NotifySettings | None = None) -> FastStream:
    """Build the notify service."""
    settings = settings or NotifySettings()
    configure_logging("notify", json=settings.log_json, level=settings.log_level)
    # refuses (InsecureSecret) an empty or default signing secret outside explicit development mode
    secret, generated = require_secret(settings.signing_secret, setting="IUB_SIGNING_SECRET",
                                       development=settings.development())
    if generated:
        log.warning("signing_secret_generated", reason="IUB_DEV_MODE without IUB_SIGNING_SECRET: a random one "
                    "for this process; receivers cannot verify callbacks")
    settings = settings.model_copy(update={"signing_secret": secret})
    # httpx logs every request URL at INFO; a callback URL may identify a person
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rt = Runtime(settings=settings, service="notify")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[
        make_canonical_log_middleware(rt), RedisPrometheusMiddleware(registry=REGISTRY, app_name="notify")])
    catalog_dir = Path(settings.catalog_dir) if settings.catalog_dir else default_catalog_dir()
    state: dict = {}

    async def on_decision_made(msg: DecisionMade):
        """Give the 11 kap 6 § information once per request, whatever the outcome (each on its own task)."""
        return await state["notifier"].handle(msg)

    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_NOTIFY, model=DecisionMade,
                      handle=on_decision_made, concurrency=settings.delivery_concurrency,
                      description="Give the 11 kap 6 § information to everyone who turned to the service, "
                      "from the decision (documentation never delays it)")
    async def on_revision(msg: DecisionMade):
        """Inform again (11 kap 6 §) when a provider's facts changed the outcome; an unchanged one is not resent."""
        return await state["notifier"].handle_revision(msg)

    register_consumer(broker, rt, stream=streams.REVISIONS, group=streams.GROUP_NOTIFY, model=DecisionMade,
                      handle=on_revision, concurrency=settings.delivery_concurrency,
                      description="Inform again when a revision changed the outcome")
    broker.publisher(streams.INFORMATION, title=streams.INFORMATION, schema=InformationGiven,
                     description="Proof that the information was given (no personal data)")
    broker.publisher(streams.dead_letter_stream(streams.DECISIONS), title="notify delivery failures",
                     schema=DeadLetter, description="Information that could not be delivered after its retries")

    app = FastStream(broker, logger=None, specification=AsyncAPI(title="iub notify", version="1"))

    @app.on_startup
    async def _start() -> None:
        await rt.connect()
        await rt.prepare_streams()
        state["http"] = httpx.AsyncClient(follow_redirects=False)
        state["notifier"] = build_notifier(rt, settings, state["http"], catalog_dir)
        state["health"] = await serve_health(rt, settings.metrics_port, settings.metrics_host)
        log.info("notify_started", catalog_version=state["notifier"].catalog.version,
                 templates_version=state["notifier"].templates.version)

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
