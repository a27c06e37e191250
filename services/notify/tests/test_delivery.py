"""The delivery adapters against a real local HTTP server: one signed attempt, its timeout, refusals, logs."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from notify_receiver import Receiver
from structlog.testing import capture_logs

from iub_contracts.api import DeliveryIn
from iub_notify.delivery import AppCallbackDeliverer, Delivery, PollDeliverer, SignedPoster, TelephonyDeliverer
from iub_runtime.webhooks import SignatureError, verify

SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLW5vdGlmeQ=="
RID = "0b8f2f8e-6a8c-4c8e-9a57-3c1f6f7c2a11"
TEXT = "Sala kommun – Krisstöd\nDu har alltid rätt att ansöka om insatser hos socialnämnden."


def delivery(url: str, kind: str = "app_callback", attempt: int = 1) -> Delivery:
    target = DeliveryIn(kind=kind, callback_url=url if kind == "app_callback" else None,
                            call_ref="call-0042" if kind == "telephony" else None)
    return Delivery(request_id=RID, kommun="sala", text=TEXT, target=target, attempt=attempt)


def poster(client: httpx.AsyncClient, timeout_s: float = 2) -> SignedPoster:
    return SignedPoster(client, SECRET, timeout_s=timeout_s)


def verifies(request) -> bool:
    try:
        verify(SECRET, request.headers.get("webhook-id"), request.headers.get("webhook-timestamp"),
               request.headers.get("webhook-signature"), request.body, now=time.time())
        return True
    except SignatureError:
        return False


async def test_an_app_callback_is_posted_once_signed_so_that_the_receiver_verifies_it():
    async with Receiver((200,)) as rx, httpx.AsyncClient() as client:
        result = await AppCallbackDeliverer(poster(client)).deliver(delivery(rx.url + "/cb"))
    assert (result.delivered, result.attempts, result.error) == (True, 1, None)
    [req] = rx.requests
    assert (req.method, req.path) == ("POST", "/cb")
    assert verifies(req)
    assert req.headers["webhook-id"] == f"info_{RID}"
    assert json.loads(req.body) == {"type": "information.given", "request_id": RID, "kommun": "sala", "text": TEXT}


async def test_a_tampered_body_does_not_verify():
    async with Receiver((200,)) as rx, httpx.AsyncClient() as client:
        await AppCallbackDeliverer(poster(client)).deliver(delivery(rx.url))
    req = rx.requests[0]
    req.body = req.body.replace("Krisstöd".encode(), b"Krisstod")
    assert not verifies(req)


@pytest.mark.parametrize(
    ("status", "delivered", "error", "retryable"),
    [
        (200, True, None, False),
        (503, False, "http_503", True),
        (429, False, "http_429", True),
        (408, False, "http_408", True),
        (400, False, "http_400", False),
        (410, False, "http_410", False),
    ],
    ids=["accepted", "a server error may succeed later", "too many requests may succeed later",
         "a request timeout may succeed later", "a bad request is a refusal", "gone is a refusal"],
)
async def test_one_attempt_says_whether_another_may_succeed(status, delivered, error, retryable):
    async with Receiver((status,)) as rx, httpx.AsyncClient() as client:
        result = await AppCallbackDeliverer(poster(client)).deliver(delivery(rx.url))
    assert (result.delivered, result.error, result.retryable) == (delivered, error, retryable)
    assert len(rx.requests) == 1 and verifies(rx.requests[0])


async def test_a_hanging_receiver_is_cut_off_at_the_per_attempt_timeout():
    async with Receiver((200,), delay_s=5) as rx, httpx.AsyncClient() as client:
        started = time.monotonic()
        result = await AppCallbackDeliverer(poster(client, timeout_s=0.5)).deliver(delivery(rx.url))
        took = time.monotonic() - started
    assert (result.delivered, result.error, result.retryable) == (False, "timeout", True)
    assert took < 1.5


async def test_an_unreachable_receiver_fails_with_the_error_kind():
    async with Receiver() as rx:
        url = rx.url  # the port is free again once the server is closed
    async with httpx.AsyncClient() as client:
        result = await AppCallbackDeliverer(poster(client)).deliver(delivery(url))
    assert (result.delivered, result.error, result.retryable) == (False, "ConnectError", True)


async def test_the_telephony_reply_carries_the_call_reference_and_is_signed():
    async with Receiver((200,)) as rx, httpx.AsyncClient() as client:
        result = await TelephonyDeliverer(poster(client), rx.url + "/reply").deliver(delivery("", "telephony"))
    assert result.delivered
    [req] = rx.requests
    assert verifies(req)
    assert json.loads(req.body)["call_ref"] == "call-0042"


async def test_telephony_without_a_reply_url_fails_without_an_attempt():
    result = await TelephonyDeliverer(poster(None), None).deliver(delivery("", "telephony"))  # type: ignore[arg-type]
    assert (result.delivered, result.error, result.retryable) == (False, "no_telephony_reply_url", False)


async def test_polling_is_delivered_by_publishing_the_event():
    result = await PollDeliverer().deliver(delivery("", "poll"))
    assert result.delivered


async def test_each_attempt_is_logged_without_the_text_the_url_or_the_call_reference():
    async with Receiver((503, 200)) as rx, httpx.AsyncClient() as client:
        with capture_logs() as logs:
            for attempt in (1, 2):
                await AppCallbackDeliverer(poster(client)).deliver(delivery(rx.url + "/secret-token", attempt=attempt))
    attempts = [e for e in logs if e["event"] == "delivery_attempt"]
    assert [(e["attempt"], e["result"]) for e in attempts] == [(1, "http_503"), (2, "delivered")]
    dumped = json.dumps(logs, ensure_ascii=False, default=str)
    assert "secret-token" not in dumped and "Krisstöd" not in dumped and "127.0.0.1" not in dumped
