"""Kundcenter end to end: a signed agent form becomes a request, and the information goes back to the call."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from iub_runtime import webhooks
from iub_runtime.processes import free_port, wait_until
from tests.e2e.conftest import start_system, stop_system

pytestmark = pytest.mark.e2e

WEBHOOK_SECRET = "e2e-telephony-secret-0123456789"
REPLY_SECRET = "e2e-notify-signing-secret"


class Receiver(BaseHTTPRequestHandler):
    """The telephony platform's reply endpoint: keeps every POST it gets."""

    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def platform():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/replies"
    server.shutdown()


def signed(event: dict) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    msg_id, ts = f"msg_{uuid.uuid4().hex}", int(time.time())
    return body, {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(ts),
                  "webhook-signature": webhooks.sign(WEBHOOK_SECRET, msg_id, ts, body)}


def test_an_agent_form_is_answered_on_the_call_with_the_right_to_apply(platform):
    running = start_system({"IUB_DEV_WEBHOOK_SECRET": WEBHOOK_SECRET, "IUB_TELEPHONY_REPLY_URL": platform,
                            "IUB_SIGNING_SECRET": REPLY_SECRET})
    try:
        event = {"type": "agent.form_submitted", "call_ref": "call-0042",
                 "occurred_at": dt.datetime.now(dt.UTC).isoformat(), "agent_id": "agent-7",
                 "form": {"kommun": "ostersund", "insats_id": "arbetsmarknadsinsatser",
                          "facts": {"personnummer": "19590101-2384", "folkbokford_i_kommunen": True}}}
        body, headers = signed(event)
        r = httpx.post(f"{running.base_url}/v1/telephony/events", content=body, headers=headers, timeout=10)
        assert r.status_code == 202, r.text
        rid = r.json()["request_id"]

        # a replayed webhook creates nothing new
        again = httpx.post(f"{running.base_url}/v1/telephony/events", content=body, headers=headers, timeout=10)
        assert again.status_code == 200
        assert again.json()["request_id"] == rid

        wait_until(lambda: len(Receiver.received) >= 1, 30, what="the reply to the call")
        reply_headers, reply_body = Receiver.received[0]
        webhooks.verify(REPLY_SECRET, reply_headers["webhook-id"], reply_headers["webhook-timestamp"],
                        reply_headers["webhook-signature"], reply_body, time.time())
        reply = json.loads(reply_body)
        assert reply["call_ref"] == "call-0042"
        assert reply["request_id"] == rid
        # born 1959: 66 on the request day, outside Arbetsmarknadsinsatser's 18–65 — told they can apply
        assert "11 kap. 1 §" in reply["text"]
        assert "hindrar inte" in reply["text"]
        status = httpx.get(f"{running.base_url}/v1/requests/{rid}", timeout=5).json()
        assert status["decision"]["outcome"] == "not_eligible_without_needs_assessment"
        assert len(Receiver.received) == 1
    finally:
        stop_system(running)
