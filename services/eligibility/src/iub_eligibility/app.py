"""Composition root of the eligibility service: settings, logging, catalogue, broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import REGISTRY

from iub_contracts import streams
from iub_contracts.calendar import request_day
from iub_contracts.catalog import HasHadInsatsVillkor, leaf_villkor
from iub_contracts.catalog_loader import default_catalog_dir, load_catalog
from iub_contracts.messages import DecisionMade, ProviderFactsRecorded, RequestReceived
from iub_eligibility.domain.request import evaluate_request, evaluate_revision
from iub_eligibility.settings import EligibilitySettings
from iub_runtime import history, metrics
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.health import serve_health
from iub_runtime.logging import configure_logging

log = structlog.get_logger("iub.eligibility")


def create_app(settings: EligibilitySettings | None = None) -> FastStream:
    """Build the eligibility service."""
    settings = settings or EligibilitySettings()
    configure_logging("eligibility", json=settings.log_json, level=settings.log_level)
    rt = Runtime(settings=settings, service="eligibility")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[
        make_canonical_log_middleware(rt), RedisPrometheusMiddleware(registry=REGISTRY, app_name="eligibility")])
    catalog_dir = Path(settings.catalog_dir) if settings.catalog_dir else default_catalog_dir()
    state: dict = {}
    secret = history.secret_of(settings.history_key, settings.development())

    async def _history(m: RequestReceived | ProviderFactsRecorded):
        """The person's end records, only when a history villkor needs them (never blocks: None on error)."""
        day = m.request_day if isinstance(m, ProviderFactsRecorded) else request_day(m.received_at)
        version = state["catalog"].version_in_force(m.kommun, m.insats_id, day)
        kommun = state["catalog"].kommun(m.kommun)
        if version is None or kommun is None or not any(
                isinstance(v, HasHadInsatsVillkor)
                for v in leaf_villkor([*version.villkor, *kommun.kommun_villkor])):
            return None
        return await history.read_ends(rt.redis, secret, m.kommun, m.facts.personnummer)

    async def on_requests_received(msgs: list[RequestReceived]) -> list[dict]:
        """Decide each request and publish the decisions once each, pipelined."""
        ends = await asyncio.gather(*(_history(m) for m in msgs))
        made = [evaluate_request(state["catalog"], m, rt.clock(), e or ()) for m, e in zip(msgs, ends, strict=True)]
        await rt.writer.publish_many([(streams.DECISIONS, d, f"eligibility:{d.request_id}") for d in made])
        fields = []
        for d in made:
            outcome = d.decision.outcome.value if d.decision else f"error:{d.error.code.value}"
            metrics.DECISIONS.labels(kommun=d.kommun if d.decision else "unknown", outcome=outcome).inc()
            fields.append({"outcome_detail": outcome})
        return fields

    register_consumer(broker, rt, stream=streams.REQUESTS, group=streams.GROUP_ELIGIBILITY,
                      model=RequestReceived, handle_batch=on_requests_received,
                      description="Decide each request against the catalogue in force")
    async def on_provider_facts(msgs: list[ProviderFactsRecorded]) -> list[dict]:
        """Decide each case again after a provider's villkor and consent facts: a revision, published once."""
        ends = await asyncio.gather(*(_history(m) for m in msgs))
        made = [evaluate_revision(state["catalog"], m, rt.clock(), e or ()) for m, e in zip(msgs, ends, strict=True)]
        await rt.writer.publish_many([(streams.REVISIONS, d, f"eligibility:{d.case_id}:r{d.revision}") for d in made])
        return [{"outcome_detail": d.decision.outcome.value if d.decision else f"error:{d.error.code.value}",
                 "revision": d.revision} for d in made]

    register_consumer(broker, rt, stream=streams.PROVIDER_FACTS, group=streams.GROUP_ELIGIBILITY,
                      model=ProviderFactsRecorded, handle_batch=on_provider_facts,
                      description="Decide a case again after a provider's villkor and consent facts")
    broker.publisher(streams.REVISIONS, title=streams.REVISIONS, schema=DecisionMade,
                     description="A revision of a decision after a provider's facts (the earlier one is kept)")
    broker.publisher(streams.DECISIONS, title=streams.DECISIONS, schema=DecisionMade,
                     description="The decision (or decision error) for each request")

    app = FastStream(broker, logger=None, specification=AsyncAPI(title="iub eligibility", version="1"))

    @app.on_startup
    async def _start() -> None:
        state["catalog"] = load_catalog(catalog_dir)
        await rt.connect()
        await rt.prepare_streams()
        state["health"] = await serve_health(rt, settings.metrics_port, settings.metrics_host)
        log.info("eligibility_started", catalog_version=state["catalog"].version,
                 kommuner=len(state["catalog"].kommuner))

    @app.after_shutdown
    async def _stop() -> None:
        if state.get("health") is not None:
            state["health"].close()
        await rt.close()

    app.iub_handlers = {"requests": on_requests_received, "provider_facts": on_provider_facts}
    app.iub_runtime = rt  # for handler tests (TestRedisBroker) and operators' tooling
    app.iub_state = state
    return app
