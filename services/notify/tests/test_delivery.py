"""The delivery adapters against a real local HTTP server: signature, retries with backoff, refusals, logs."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from notify_receiver import Receiver
from structlog.testing import capture_logs

from iub_contracts.messages import DeliveryTarget
from iub_notify.delivery import AppCallbackDeliverer, Delivery, PollDeliverer, SignedPoster, TelephonyDeliverer
from iub_runtime.webhooks import SignatureError, verify

SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLW5vdGlmeQ=="
RID = "0b8f2f8e-6a8c-4c8e-9a57-3c1f6f7c2a11"
TEXT = "Sala kommun – Krisstöd\nDu har alltid rätt att ansöka om insatser hos socialnämnden."


def delivery(url: str, kind: str = "app_callback") -> Delivery:
    target = DeliveryTarget(kind=kind, callback_url=url if kind == "app_callback" else None,
                            call_ref="call-0042" if kind == "telephony" else None)
    return Delivery(request_id=RID, kommun="sala", text=TEXT, target=target)


def poster(client: httpx.AsyncClient, retries: int = 3, base: float = 0.02) -> SignedPoster:
    return SignedPoster(client, SECRET, retries=retries, base_delay_s=base, timeout_s=2)


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
    ("statuses", "delivered", "attempts", "error"),
    [
        ((503, 502, 200), True, 3, None),
        ((429, 200), True, 2, None),
        ((408, 200), True, 2, None),
        ((500,), False, 4, "http_500"),
        ((400,), False, 1, "http_400"),
        ((410,), False, 1, "http_410"),
    ],
    ids=["server errors are retried until the receiver accepts",
         "too many requests is retried",
         "a request timeout is retried",
         "a receiver that keeps failing gets the retries and then the delivery fails",
         "a bad request is a refusal and is not retried",
         "gone is a refusal and is not retried"],
)
async def test_the_callback_retries_what_may_succeed_and_gives_up_on_refusals(statuses, delivered, attempts, error):
    async with Receiver(statuses) as rx, httpx.AsyncClient() as client:
        result = await AppCallbackDeliverer(poster(client, retries=3)).deliver(delivery(rx.url))
    assert (result.delivered, result.attempts, result.error) == (delivered, attempts, error)
    assert len(rx.requests) == attempts
    assert {r.headers["webhook-id"] for r in rx.requests} == {f"info_{RID}"}  # one message, resent
    assert all(verifies(r) for r in rx.requests)  # every attempt is signed afresh


async def test_the_backoff_between_attempts_grows_exponentially():
    base = 0.05
    async with Receiver((503, 503, 503, 200)) as rx, httpx.AsyncClient() as client:
        result = await AppCallbackDeliverer(poster(client, retries=3, base=base)).deliver(delivery(rx.url))
    assert result.delivered and result.attempts == 4
    gaps = [b.at - a.at for a, b in zip(rx.requests, rx.requests[1:], strict=False)]
    for i, gap in enumerate(gaps):
        assert gap >= base * 2**i * 0.95, gaps  # sleeps are never shorter than asked


def test_the_backoff_doubles_up_to_its_cap():
    p = SignedPoster(None, SECRET, retries=6, base_delay_s=1, max_delay_s=8, timeout_s=10)  # type: ignore[arg-type]
    assert [p.delay(a) for a in range(1, 7)] == [1, 2, 4, 8, 8, 8]


async def test_an_unreachable_receiver_fails_after_the_retries_with_the_error_kind():
    async with Receiver() as rx:
        url = rx.url  # the port is free again once the server is closed
    async with httpx.AsyncClient() as client:
        result = await AppCallbackDeliverer(poster(client, retries=2)).deliver(delivery(url))
    assert (result.delivered, result.attempts, result.error) == (False, 3, "ConnectError")


async def test_the_telephony_reply_carries_the_call_reference_and_is_signed():
    async with Receiver((200,)) as rx, httpx.AsyncClient() as client:
        result = await TelephonyDeliverer(poster(client), rx.url + "/reply").deliver(delivery("", "telephony"))
    assert result.delivered
    [req] = rx.requests
    assert verifies(req)
    assert json.loads(req.body)["call_ref"] == "call-0042"


async def test_telephony_without_a_reply_url_fails_without_an_attempt():
    result = await TelephonyDeliverer(poster(None), None).deliver(delivery("", "telephony"))  # type: ignore[arg-type]
    assert (result.delivered, result.attempts, result.error) == (False, 0, "no_telephony_reply_url")


async def test_polling_is_delivered_by_publishing_the_event():
    result = await PollDeliverer().deliver(delivery("", "poll"))
    assert (result.delivered, result.attempts) == (True, 1)


async def test_each_attempt_is_logged_without_the_text_the_url_or_the_call_reference():
    async with Receiver((503, 200)) as rx, httpx.AsyncClient() as client:
        with capture_logs() as logs:
            await AppCallbackDeliverer(poster(client)).deliver(delivery(rx.url + "/secret-token"))
    attempts = [e for e in logs if e["event"] == "delivery_attempt"]
    assert [(e["attempt"], e["result"]) for e in attempts] == [(1, "http_503"), (2, "delivered")]
    dumped = json.dumps(logs, ensure_ascii=False, default=str)
    assert "secret-token" not in dumped and "Krisstöd" not in dumped and "127.0.0.1" not in dumped
