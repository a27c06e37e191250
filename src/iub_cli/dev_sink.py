"""A local stand-in for Kundcenter's telephony platform under ``iub up``: it receives notify's
signed replies (the 11 kap 6 § information for a caller) so the telephony channel works end to end
in development instead of ending ``information_failed`` / ``no_telephony_reply_url``.

It verifies each reply's Standard Webhooks signature with notify's signing secret, answers 200
(401 for a bad signature), prints one line per reply (type and request id only: the call
reference and the text stay out of the terminal) and lists what it received at ``GET /``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from iub_runtime.webhooks import SignatureError, verify

PATH = "/kundcenter/replies"
MAX_BODY = 64_000


class TelephonySink:
    """An HTTP server on 127.0.0.1 that accepts signed telephony replies, in a thread."""

    def __init__(self, secret: str, port: int = 0, on_reply: Callable[[str], None] | None = None) -> None:
        self.secret = secret
        self.on_reply = on_reply or (lambda _line: None)
        self.received: deque[dict[str, Any]] = deque(maxlen=200)
        self.refused = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # the sink prints its own lines
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._answer(HTTPStatus.OK, {"received": list(sink.received), "refused": sink.refused})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != PATH or length > MAX_BODY:
                    self._answer(HTTPStatus.NOT_FOUND if self.path != PATH else HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                 {"ok": False})
                    return
                body = self.rfile.read(length)
                try:
                    verify(sink.secret, self.headers.get("webhook-id"), self.headers.get("webhook-timestamp"),
                           self.headers.get("webhook-signature"), body, time.time())
                except SignatureError as exc:
                    sink.refused += 1
                    sink.on_reply(f"refused a reply: {exc}")
                    self._answer(HTTPStatus.UNAUTHORIZED, {"ok": False})
                    return
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                entry = {"type": payload.get("type"), "request_id": payload.get("request_id"),
                         "webhook_id": self.headers.get("webhook-id")}
                sink.received.append(entry)
                sink.on_reply(f"{entry['type']} for request {entry['request_id']} (signature verified)")
                self._answer(HTTPStatus.OK, {"ok": True})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="telephony-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def start(self) -> TelephonySink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
