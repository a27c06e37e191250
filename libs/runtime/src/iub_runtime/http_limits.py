"""ASGI body size limit for the HTTP services: bodies over the limit get 413 before anything parses them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from iub_contracts.api import ProblemDetail

PROBLEM_JSON = "application/problem+json"
Scope = dict[str, Any]


async def _send_problem(send: Any, status: int, titles: Mapping[int, str]) -> None:
    problem = ProblemDetail(title=titles.get(status, "Fel"), status=status)
    body = json.dumps(problem.model_dump(exclude_none=True)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 before anything parses them (chunked bodies too).

    The declared Content-Length is checked first; then the body is read up to the limit and
    handed to the app in one piece, so a chunked body that grows past the limit never reaches it.
    """

    def __init__(self, app: Any, max_bytes: int, titles: Mapping[int, str]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.titles = titles

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _send_problem(send, 413 if declared.isdigit() else 400, self.titles)
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
                await _send_problem(send, 413, self.titles)
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
