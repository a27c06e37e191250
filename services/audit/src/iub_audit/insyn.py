"""Partsinsyn over HTTP for case workers: a person's individual-level records, scoped per kommun.

The personnummer travels in a POST body (never in a URL, which proxies and access logs keep)
and is never logged; errors name fields, never values. Anonymised and advisory records are
not linkable to anyone (14 kap 4–5 § SoL) and are never returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from fastapi import APIRouter, Depends, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from personnummer import personnummer as pnr_lib

from iub_audit.store import AuditStore
from iub_contracts.api import FieldProblem, InsynRequest, InsynResponse, ProblemDetail
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation

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


def build_router(get_store: Callable[[], AuditStore], get_registry: Callable[[], ClientRegistry | None]) -> APIRouter:
    """POST /v1/insyn, authenticated with a client key that has audit:insyn."""
    router = APIRouter(tags=["partsinsyn"])

    async def client(credentials: HTTPAuthorizationCredentials | None = Security(bearer),
                     header_key: str | None = Security(api_key)) -> ClientConfig:
        registry = get_registry()
        if registry is None:
            raise Problem(503, "Insyn är inte konfigurerad (IUB_CLIENTS_FILE eller IUB_CLIENTS_JSON)")
        found = registry.authenticate(credentials.credentials if credentials is not None else header_key)
        if found is None:
            log.warning("insyn_unauthenticated")
            raise Problem(401, "Ogiltig eller saknad API-nyckel", headers={"WWW-Authenticate": 'Bearer realm="iub"'})
        if Operation.INSYN not in found.operations:
            log.warning("insyn_forbidden", client_id=found.id)
            raise Problem(403, f"Klienten får inte utföra {Operation.INSYN.value}")
        return found

    @router.post("/v1/insyn", response_model=InsynResponse, responses={
        401: {"model": ProblemDetail}, 403: {"model": ProblemDetail}, 422: {"model": ProblemDetail},
        503: {"model": ProblemDetail}})
    async def insyn(body: InsynRequest, who: ClientConfig = Depends(client)) -> JSONResponse:
        """Partsinsyn: the person's individual-level records in the client's kommuner."""
        try:
            pnr = normalise(body.personnummer)
        except ValueError:
            raise Problem(422, "Ogiltig begäran",
                          [FieldProblem(field="personnummer", problem="ogiltigt personnummer")]) from None
        kommuner = scope(who, body.kommuner)
        rows = await asyncio.to_thread(get_store().export_person, pnr, kommuner)
        # who looked, where and how much: never whom
        log.info("insyn_lookup", client_id=who.id, kommuner=kommuner or ["*"], records=len(rows))
        return JSONResponse(InsynResponse(records=rows, count=len(rows)).model_dump(mode="json"),
                            headers={"Cache-Control": "no-store"})

    return router
