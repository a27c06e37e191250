"""The provider JSON API called in-process: the web page shares its validation, scope and rules.

A page action becomes one ASGI request to the same application, with the signed-in provider
client already on the request state (the audit guard takes it from there, so no key is kept or
passed around). The JSON API stays the one implementation of the inbox, the case view, facts
and events; the page only renders its answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

from iub_runtime.auth import ClientConfig


@dataclass(frozen=True)
class Answer:
    """Status and decoded JSON body of an in-process call."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problems(self) -> list[tuple[str, str]]:
        """(field, problem) of a problem+json answer (the API names fields, never values)."""
        if not isinstance(self.body, dict):
            return []
        return [(str(e.get("field", "")), str(e.get("problem", "")))
                for e in self.body.get("errors") or [] if isinstance(e, dict)]

    def title(self) -> str:
        """The problem's title, or an empty string."""
        return str(self.body.get("title", "")) if isinstance(self.body, dict) else ""


async def call(app: ASGIApp, client: ClientConfig, method: str, path: str, *,
               params: dict[str, Any] | None = None, body: Any = None) -> Answer:
    """One request to ``app`` as ``client`` (the caller checked the client's operation)."""
    raw = json.dumps(body).encode("utf-8") if body is not None else b""
    query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")})
    headers = [(b"host", b"provider-web.internal"), (b"accept", b"application/json")]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode("utf-8"), "root_path": "",
             "query_string": query.encode("ascii"), "headers": headers, "client": ("127.0.0.1", 0),
             "server": ("provider-web.internal", 80), "state": {"iub_client": client}}
    sent = False
    status, chunks = 500, []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    data = b"".join(chunks)
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = None
    return Answer(status, decoded)
