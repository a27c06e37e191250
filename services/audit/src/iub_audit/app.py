"""Composition root of the audit service.

``create_api``: what ``python -m iub_audit`` serves with uvicorn — FastAPI with partsinsyn,
/health and /metrics, whose lifespan starts the FastStream broker (the consumers).
``create_app``: the same consumers as a bare FastStream app (``faststream run``, AsyncAPI docs).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream import FastStream
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from iub_audit import followup_page, insyn, insyn_log, provider_api, provider_events_api, provider_web
from iub_audit.service import AuditService, build_service
from iub_audit.settings import AuditSettings
from iub_contracts.api import FieldProblem
from iub_runtime.auth import ClientRegistry, Operation
from iub_runtime.health import check_health
from iub_runtime.http_limits import BodyLimit
from iub_runtime.logging import configure_logging
from iub_runtime.ratelimit import RateLimiter
from iub_runtime.signing import require_secret

log = structlog.get_logger("iub.audit")
MAX_BODY_BYTES = 16_384  # an insyn body is a personnummer and a few kommun ids

DESCRIPTION = """Partsinsyn (förvaltningslagen) in the individual-level documentation (14 kap. 3 § SoL), and the
provider (utförare) API: inbox, case view and villkor and consent facts (`provider:read`, `provider:write`,
scoped to one kommun and its units; a case of another unit answers like one that does not exist).

Every call except `/health` needs a client key (`Authorization: Bearer <key>` or `X-API-Key`) with
`audit:insyn`; lookups are rate-limited per client (429 with `Retry-After`) and each one is itself
recorded (who, when, which requests were shown; the person only as a keyed hash). The personnummer
travels in the body, never in a URL. Errors are `application/problem+json` and never repeat values.
"""


class ClientsConfigError(RuntimeError):
    """The clients configuration cannot be used (the message names no secret)."""


def load_registry(settings: AuditSettings) -> ClientRegistry | None:
    """The clients allowed partsinsyn, or None when none are configured (insyn then answers 503)."""
    if settings.clients_file and settings.clients_json:
        raise ClientsConfigError("set IUB_CLIENTS_FILE or IUB_CLIENTS_JSON, not both")
    try:
        if settings.clients_file:
            return ClientRegistry.from_file(settings.clients_file)
        if settings.clients_json:
            return ClientRegistry.from_json(settings.clients_json)
    except ValidationError as exc:  # locations only: the JSON holds key hashes
        where = "; ".join(".".join(map(str, e["loc"])) for e in exc.errors(include_input=False))
        raise ClientsConfigError(f"invalid clients configuration at {where}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClientsConfigError(f"the clients configuration cannot be read: {type(exc).__name__}") from None
    return None


def create_app(settings: AuditSettings | None = None, service: AuditService | None = None) -> FastStream:
    """The consumers alone, as a FastStream app."""
    settings = settings or AuditSettings()
    configure_logging("audit", json=settings.log_json, level=settings.log_level)
    svc = service or build_service(settings)
    app = FastStream(svc.broker, logger=None, specification=AsyncAPI(title="iub audit", version="1"))
    app.on_startup(svc.open)
    app.after_shutdown(svc.close)
    app.iub_service = svc
    return app


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    """Where each validation error is, never what was sent (it may be a personnummer)."""
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if isinstance(p, int | str)]
        kind = str(e.get("type", ""))
        out.append(FieldProblem(field=".".join(loc) or "body",
                                problem="ogiltig JSON" if kind == "json_invalid" else kind or "ogiltigt värde"))
    return out


def create_api(settings: AuditSettings | None = None, registry: ClientRegistry | None = None,
               service: AuditService | None = None) -> FastAPI:
    """The audit service over HTTP: partsinsyn, /health, /metrics; the lifespan runs the consumers."""
    settings = settings or AuditSettings()
    configure_logging("audit", json=settings.log_json, level=settings.log_level)
    registry = registry if registry is not None else load_registry(settings)
    svc = service or build_service(settings)

    limiter: dict[str, RateLimiter] = {}
    guard = insyn.Guard(lambda: registry, lambda: limiter.get("insyn"), settings.insyn_rate_per_minute)
    # providers: the client's own rate (a staff page reads the inbox often), not the insyn rate
    provider_guard = insyn.Guard(lambda: registry, lambda: limiter.get("insyn"), 1_000_000)
    if settings.insyn_log_key is not None:  # a configured key is a secret: never a default (InsecureSecret)
        require_secret(settings.insyn_log_key, setting="IUB_INSYN_LOG_KEY", development=settings.development())
    lookups = insyn.LookupLog(lambda: svc.store, insyn_log.load_key(
        settings.insyn_log_key, Path(settings.var_dir) / "insyn-log.key"), lambda: svc.rt.clock())

    @contextlib.asynccontextmanager
    async def lifespan(_api: FastAPI):
        await svc.open()
        await asyncio.to_thread(insyn_log.ensure_table, svc.store.engine)
        limiter["insyn"] = RateLimiter(svc.rt.redis, 60, prefix="iub:insyn-rate")
        await svc.broker.start()
        if registry is None:
            log.warning("insyn_not_configured", reason="no IUB_CLIENTS_FILE/IUB_CLIENTS_JSON: /v1/insyn answers 503")
        log.info("audit_http_started", port=settings.port, clients=len(registry.clients) if registry else 0)
        try:
            yield
        finally:
            await svc.broker.stop()
            await svc.close()

    api = FastAPI(title="IUB audit", version="1", lifespan=lifespan,
                  summary="Partsinsyn in the documentation of insatser utan individuell behovsprövning",
                  description=DESCRIPTION, docs_url=None, redoc_url=None, openapi_url=None)

    @api.exception_handler(insyn.Problem)
    async def _problem(_req: Request, exc: insyn.Problem) -> JSONResponse:
        return insyn.problem_response(exc)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return insyn.problem_response(insyn.Problem(422, "Ogiltig begäran", _field_problems(exc)))

    @api.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        # routing errors (404, 405 with its Allow header); their texts are Starlette's own, never input
        if exc.status_code == 400:  # a body that cannot be decoded is invalid JSON, like any other
            return insyn.problem_response(insyn.Problem(422, "Ogiltig begäran",
                                                        [FieldProblem(field="body", problem="ogiltig JSON")]))
        return insyn.problem_response(insyn.Problem(exc.status_code, str(exc.detail)[:200],
                                                    headers=dict(getattr(exc, "headers", None) or {})))

    @api.get("/health", tags=["drift"], responses={503: {"description": "Redis or a consumer group is missing"}})
    async def health() -> JSONResponse:
        """Broker reachable and consumer groups present (no credential needed)."""
        h = await check_health(svc.rt.redis, svc.rt.group_pairs())
        return JSONResponse(h, status_code=200 if h["ok"] else 503)

    operator = [] if registry is None and settings.development() else [Depends(guard.require(Operation.OPS_READ))]
    if settings.metrics_port is None:  # else /metrics is served on its own port (with /health) by the service

        @api.get("/metrics", tags=["drift"], include_in_schema=False, dependencies=operator)
        async def prometheus_metrics() -> Response:
            """Prometheus metrics (no personal data in any label), for the operator credential only."""
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # the API description: public or behind any client key (IUB_DOCS_PUBLIC; private by default in production)
    docs_guard = [] if settings.docs_are_public() else [Depends(guard.require(Operation.INSYN))]

    @api.get("/openapi.json", include_in_schema=False, dependencies=docs_guard)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(api.openapi())

    @api.get("/docs", include_in_schema=False, dependencies=docs_guard)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="IUB audit – API")

    @api.get("/redoc", include_in_schema=False, dependencies=docs_guard)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="IUB audit – API")

    api.include_router(insyn.build_router(lambda: svc.store, guard, lookups))
    api.include_router(provider_api.build_router(lambda: svc, provider_guard, provider_events_api.case_events))
    api.include_router(provider_events_api.build_router(lambda: svc, provider_guard))
    api.include_router(followup_page.build_router(lambda: svc, provider_guard))
    api.include_router(provider_web.build_router(lambda req: req.app, lambda: registry, provider_web.SessionStore(
        lambda: svc.rt.redis, settings.provider_session_ttl_s), provider_web.web_settings(settings),
        lambda: svc.rt.clock(), lambda: svc.catalog))
    api.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, titles=insyn.TITLES)  # before any parsing
    api.state.service = svc
    return api
