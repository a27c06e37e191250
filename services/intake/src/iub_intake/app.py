"""Composition root of intake: FastAPI (served by uvicorn) plus the broker for status updates."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from iub_contracts import streams
from iub_contracts.api import FieldProblem
from iub_contracts.catalog_loader import default_catalog_dir, load_catalog
from iub_contracts.messages import DecisionMade, InformationGiven
from iub_intake.access import require
from iub_intake.api import catalog, preview, requests, telephony
from iub_intake.api_docs import mount_offline_docs
from iub_intake.clients import dev_client, load_registry
from iub_intake.context import Intake
from iub_intake.middleware import AccessLog, BodyLimit
from iub_intake.ops_dashboard import build_ops_router
from iub_intake.problems import ProblemError, field_problems, from_error, problem, problem_responses
from iub_intake.ratelimit import RateLimiter
from iub_intake.settings import IntakeSettings
from iub_intake.status import record_many
from iub_runtime import urlpolicy
from iub_runtime.auth import ClientRegistry, Operation
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.health import check_health, serve_health
from iub_runtime.logging import configure_logging
from iub_runtime.topology import make_broker

log = structlog.get_logger("iub.intake")

DESCRIPTION = """Requests for insatser utan individuell behovsprövning (SoL 2025:400) from the app
**Mitt val mitt stöd** and from **Kundcenter**'s telephony platform.

Every call except `/health` needs the client's API key (`Authorization: Bearer <key>` or
`X-API-Key`); each key is scoped to kommuner and operations and rate-limited (429 with
`Retry-After`). Errors are `application/problem+json` and never repeat submitted values.
"""


def create_api(settings: IntakeSettings | None = None, registry: ClientRegistry | None = None,
               resolver: urlpolicy.Resolver | None = None) -> FastAPI:
    """Build the intake API and its stream consumers (refuses to build without clients or explicit dev mode)."""
    settings = settings or IntakeSettings()
    configure_logging("intake", json=settings.log_json, level=settings.log_level)
    registry = registry if registry is not None else load_registry(settings)
    rt = Runtime(settings=settings, service="intake")
    intake = Intake(settings=settings, rt=rt, registry=registry,
                    dev=dev_client(settings) if registry is None else None)
    if resolver is not None:  # tests: names resolved without DNS
        intake.resolver = resolver
    broker = make_broker(settings, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    catalog_dir = Path(settings.catalog_dir) if settings.catalog_dir else default_catalog_dir()

    async def on_decisions_made(msgs: list[DecisionMade]) -> None:
        """Keep the decisions for GET /v1/requests/{id}."""
        await record_many(rt.redis, decisions=msgs, sharded=settings.sharded())

    async def on_information_given(msgs: list[InformationGiven]) -> None:
        """Keep the information as delivered for GET /v1/requests/{id} (the polling channel)."""
        await record_many(rt.redis, information=msgs, sharded=settings.sharded())

    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_INTAKE, model=DecisionMade,
                      handle_batch=on_decisions_made, description="Request status: decided")
    register_consumer(broker, rt, stream=streams.INFORMATION, group=streams.GROUP_INTAKE,
                      model=InformationGiven, handle_batch=on_information_given,
                      description="Request status: information given")
    broker.publisher(rt.all_streams((streams.REQUESTS,))[0], title=streams.REQUESTS, schema=None,
                     description="Requests accepted by intake (RequestReceived)."
                     + streams.pattern_note(streams.REQUESTS))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        intake.state["catalog"] = load_catalog(catalog_dir)
        await rt.connect()
        await rt.prepare_streams()
        intake.state["limiter"] = RateLimiter(rt.redis, settings.rate_window_s)
        await broker.start()
        health_server = await serve_health(rt, settings.metrics_port, settings.metrics_host)
        if registry is None:
            log.warning("intake_auth_disabled", reason="IUB_AUTH_DISABLED=true: every caller may do everything")
        log.info("intake_started", port=settings.port, catalog_version=intake.catalog.version,
                 clients=len(registry.clients) if registry else 0)
        try:
            yield
        finally:
            if health_server is not None:
                health_server.close()
            await broker.stop()
            await rt.close()

    api = FastAPI(title="IUB intake", version="1", summary="Requests for insatser utan individuell behovsprövning",
                  description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    api.state.intake = intake

    @api.exception_handler(ProblemError)
    async def _problem(_req: Request, exc: ProblemError) -> JSONResponse:
        return from_error(exc)

    @api.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, errors=field_problems(exc))

    @api.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        # routing and body-parsing errors; their detail texts are Starlette's own, never input
        if exc.status_code == 400:  # a body that cannot even be decoded is invalid JSON, like any other
            return problem(422, errors=[FieldProblem(field="body", problem="ogiltig JSON")])
        return problem(exc.status_code, str(exc.detail)[:200], headers=getattr(exc, "headers", None))

    @api.exception_handler(RedisError)
    async def _redis_down(_req: Request, exc: RedisError) -> JSONResponse:
        # nothing was accepted: the caller retries (with its Idempotency-Key) once Redis answers again
        log.warning("redis_unavailable", error_type=type(exc).__name__)
        return problem(503, "Tjänsten är tillfälligt otillgänglig", headers={"Retry-After": "5"})

    @api.get("/health", tags=["drift"], responses={503: {"description": "Redis or a consumer group is missing"}})
    async def health() -> JSONResponse:
        """Broker reachable and consumer groups present (no credential needed)."""
        h = await check_health(rt.redis, rt.group_pairs())
        return JSONResponse(h, status_code=200 if h["ok"] else 503)

    operator = [Depends(require(Operation.OPS_READ, browser=True))]
    if settings.metrics_port is None:

        @api.get("/metrics", tags=["drift"], include_in_schema=False, dependencies=operator)
        async def prometheus_metrics() -> Response:
            """Prometheus metrics, for the operator credential only (or on IUB_METRICS_PORT, not here)."""
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # the API description: public or behind any client key (IUB_DOCS_PUBLIC; private by default in production)
    docs_checks = [] if settings.docs_are_public() else [require(None, browser=True)]

    @api.get("/openapi.json", include_in_schema=False, dependencies=[Depends(d) for d in docs_checks])
    async def openapi_document() -> JSONResponse:
        return JSONResponse(api.openapi())

    mount_offline_docs(api, dependencies=docs_checks)  # /docs and /redoc with packaged assets: no CDN

    for module in (catalog, requests, preview, telephony):
        api.include_router(module.router)
    # the operator dashboard: read-only, operator credential (Basic in a browser: password = API key)
    api.include_router(build_ops_router(lambda: rt.redis, require(Operation.OPS_READ, browser=True),
                                        streams=rt.all_streams,
                                        replication=lambda: (settings.redis_mode, settings.replicas_to_ack(),
                                                             [s for s in rt.shards if s])),
                       responses=problem_responses(401, 403, 413, 429, 503))

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, summary=api.summary,
                                 description=api.description, routes=api.routes, tags=api.openapi_tags)
            api.openapi_schema = telephony.telephony_openapi(schema)
        return api.openapi_schema

    api.openapi = openapi
    # outermost first: the access line sees every answer, the body limit runs before any parsing
    api.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    api.add_middleware(AccessLog)

    api.state.runtime = rt
    api.state.broker = broker
    api.state.data = intake.state
    return api
