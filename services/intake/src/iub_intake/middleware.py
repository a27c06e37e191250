"""ASGI middleware of the intake API: body size limit before parsing, and one access line per call."""

from __future__ import annotations

import time
from typing import Any

import structlog

from iub_intake.problems import TITLES
from iub_runtime.http_limits import BodyLimit as _BodyLimit

Scope = dict[str, Any]
log = structlog.get_logger("iub.intake.http")

# routes whose calls leave no trace at all (the preview promises nothing is stored or logged)
UNLOGGED_ROUTES = frozenset({"/v1/eligibility/preview"})


class BodyLimit(_BodyLimit):
    """The shared body limit with intake's problem titles."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        super().__init__(app, max_bytes, TITLES)


class AccessLog:
    """One structlog line per call: method, route template, status, client id, duration. No bodies."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route not in UNLOGGED_ROUTES:
                log.info("http_request", method=scope["method"], route=route or "unmatched", status=status,
                         client=(scope.get("state") or {}).get("client_id"),
                         duration_ms=round((time.perf_counter() - start) * 1000, 3))
