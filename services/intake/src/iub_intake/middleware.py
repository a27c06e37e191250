"""ASGI middleware of the intake API: body size limit before parsing, and one access line per call."""

from __future__ import annotations

import json
import time
from typing import Any

import structlog

from iub_contracts.api import ProblemDetail
from iub_intake.problems import PROBLEM_JSON, TITLES

Scope = dict[str, Any]
log = structlog.get_logger("iub.intake.http")

# routes whose calls leave no trace at all (the preview promises nothing is stored or logged)
UNLOGGED_ROUTES = frozenset({"/v1/eligibility/preview"})


async def _send_problem(send: Any, status: int) -> None:
    body = json.dumps(ProblemDetail(title=TITLES[status], status=status).model_dump(exclude_none=True)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 before anything parses them (chunked bodies too).

    The declared Content-Length is checked first; then the body is read up to the limit and
    handed to the app in one piece, so a chunked body that grows past the limit never reaches it.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _send_problem(send, 413 if declared.isdigit() else 400)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_problem(send, 413)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        given = False

        async def replay() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


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
