"""Partsinsyn over HTTP for case workers: a person's individual-level records, scoped per kommun.

The personnummer travels in a POST body (never in a URL, which proxies and access logs keep)
and is never logged; errors name fields, never values. Anonymised and advisory records are
not linkable to anyone (14 kap 4–5 § SoL) and are never returned.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from personnummer import personnummer as pnr_lib

from iub_audit import insyn_log
from iub_audit.store import AuditStore
from iub_contracts.api import FieldProblem, InsynRequest, InsynResponse, ProblemDetail
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation
from iub_runtime.ratelimit import RateLimiter

log = structlog.get_logger("iub.audit.insyn")
PROBLEM_JSON = "application/problem+json"

bearer = HTTPBearer(auto_error=False, scheme_name="ApiKeyBearer", description="`Authorization: Bearer <key>`")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader")


class Problem(Exception):
    """Answer with an application/problem+json body."""

    def __init__(self, status: int, title: str, errors: list[FieldProblem] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.errors, self.headers = status, title, errors or [], headers or {}


def problem_response(exc: Problem) -> JSONResponse:
    """The JSON response of a Problem."""
    body = ProblemDetail(title=exc.title, status=exc.status, errors=exc.errors)
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=exc.status,
                        media_type=PROBLEM_JSON, headers={**exc.headers, "Cache-Control": "no-store"})


def normalise(raw: str) -> str:
    """The 12-digit form of a valid personnummer or samordningsnummer (ValueError names no value)."""
    try:
        return pnr_lib.Personnummer(raw.strip()).format(True)
    except Exception:
        raise ValueError("ogiltigt personnummer") from None


def scope(client: ClientConfig, asked: list[str] | None) -> list[str] | None:
    """The kommuner to search (None: all); 403 for a kommun outside the client's scope."""
    if asked is not None:
        outside = [k for k in asked if not client.may(Operation.INSYN, k)]
        if outside:
            raise Problem(403, "Klienten har inte behörighet för kommunen")
        return asked
    return None if "*" in client.kommuner else list(client.kommuner)


def presented_key(request: Request) -> str | None:
    """The API key in the headers: Bearer, else X-API-Key."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


TITLES = {401: "Ogiltig eller saknad API-nyckel", 403: "Klienten har inte behörighet", 404: "Finns inte",
          405: "Metoden stöds inte", 413: "Begäran är för stor", 422: "Ogiltig begäran", 429: "För många anrop",
          503: "Tjänsten är tillfälligt otillgänglig"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI 'responses' for problem statuses: application/problem+json, with their headers."""
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        entry: dict[str, Any] = {"model": ProblemDetail, "description": TITLES.get(s, "Fel"),
                                 "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}}
        if s in (429, 503):
            entry["headers"] = {"Retry-After": {"description": "Sekunder att vänta", "schema": {"type": "integer"}}}
        if s == 401:
            entry["headers"] = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
        out[s] = entry
    return out


@dataclass
class Guard:
    """Who may call: the clients, the rate limiter (once Redis is connected) and the insyn rate."""

    get_registry: Callable[[], ClientRegistry | None]
    get_limiter: Callable[[], RateLimiter | None]
    rate_per_minute: int

    async def check(self, request: Request, op: Operation) -> ClientConfig:
        """401/403/429/503 before anything else of the call is looked at; the client when allowed."""
        earlier = getattr(request.state, "iub_client", None)
        if earlier is not None:
            return earlier
        registry = self.get_registry()
        if registry is None:
            raise Problem(503, "Insyn är inte konfigurerad (IUB_CLIENTS_FILE eller IUB_CLIENTS_JSON)")
        found = registry.authenticate(presented_key(request))
        if found is None:
            log.warning("insyn_unauthenticated")
            raise Problem(401, "Ogiltig eller saknad API-nyckel", headers={"WWW-Authenticate": 'Bearer realm="iub"'})
        if op not in found.operations:
            log.warning("insyn_forbidden", client_id=found.id)
            raise Problem(403, f"Klienten får inte utföra {op.value}")
        limiter = self.get_limiter()
        if limiter is not None:
            verdict = await limiter.hit(f"{op.value}:{found.id}", min(found.rate_per_minute, self.rate_per_minute))
            if not verdict.allowed:
                log.warning("insyn_rate_limited", client_id=found.id)
                raise Problem(429, "För många anrop", headers={"Retry-After": str(verdict.retry_after_s)})
        request.state.iub_client = found
        return found

    def require(self, op: Operation) -> Callable[..., Awaitable[ClientConfig]]:
        """A dependency (documented security schemes) that AuthFirstRoute also runs before the body is read."""

        async def authorised(request: Request, _bearer: HTTPAuthorizationCredentials | None = Security(bearer),
                             _key: str | None = Security(api_key)) -> ClientConfig:
            return await self.check(request, op)

        async def before_body(request: Request) -> None:
            await self.check(request, op)

        authorised.iub_before_body = before_body  # type: ignore[attr-defined]
        return authorised


class AuthFirstRoute(APIRoute):
    """A route whose guard runs before FastAPI reads and parses the body (401 beats 422)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        checks = [d.call.iub_before_body for d in self.dependant.dependencies if hasattr(d.call, "iub_before_body")]
        if not checks:
            return handler

        async def authenticated_first(request: Request) -> Any:
            for check in checks:
                await check(request)
            return await handler(request)

        return authenticated_first


@dataclass
class LookupLog:
    """Where lookups are recorded: the store's engine and the key of the subject hash."""

    get_store: Callable[[], AuditStore]
    key: insyn_log.LookupKey
    clock: Callable[[], dt.datetime]
    _ready: set[int] = field(default_factory=set)

    async def record(self, who: ClientConfig, kommuner: list[str] | None, pnr: str, outcome: str,
                     request_ids: list[str], requested_by: str | None = None) -> None:
        """Append one lookup (in a thread: the store is synchronous); the table is created on first use."""
        engine = self.get_store().engine
        if id(engine) not in self._ready:
            await asyncio.to_thread(insyn_log.ensure_table, engine)
            self._ready.add(id(engine))
        await asyncio.to_thread(insyn_log.record, engine, self.key, at=self.clock(),
                                client_id=who.id, kommuner=kommuner, personnummer12=pnr, outcome=outcome,
                                request_ids=request_ids, requested_by=requested_by)


def build_router(get_store: Callable[[], AuditStore], guard: Guard, lookups: LookupLog) -> APIRouter:
    """POST /v1/insyn, authenticated (before the body is parsed) with a client key that has audit:insyn."""
    router = APIRouter(tags=["partsinsyn"], route_class=AuthFirstRoute)

    @router.post("/v1/insyn", response_model=InsynResponse,
                 responses=problem_responses(401, 403, 413, 422, 429, 503))
    async def insyn(body: InsynRequest, who: ClientConfig = Depends(guard.require(Operation.INSYN))) -> JSONResponse:
        """Partsinsyn: the person's individual-level records in the client's kommuner; every lookup is recorded."""
        try:
            pnr = normalise(body.personnummer)
        except ValueError:
            raise Problem(422, "Ogiltig begäran",
                          [FieldProblem(field="personnummer", problem="ogiltigt personnummer")]) from None
        try:
            kommuner = scope(who, body.kommuner)
        except Problem:
            await lookups.record(who, body.kommuner, pnr, "refused_scope", [], body.requested_by)
            raise
        rows = await asyncio.to_thread(get_store().export_person, pnr, kommuner)
        await lookups.record(who, kommuner, pnr, "shown", sorted({str(r.get("request_id")) for r in rows}),
                             body.requested_by)
        # who looked, where and how much: never whom
        log.info("insyn_lookup", client_id=who.id, kommuner=kommuner or ["*"], records=len(rows))
        return JSONResponse(InsynResponse(records=rows, count=len(rows)).model_dump(mode="json"),
                            headers={"Cache-Control": "no-store"})

    return router
