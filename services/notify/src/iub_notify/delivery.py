"""Delivery adapters behind one interface: app callback, telephony reply, polling.

Each call is **one attempt**, bounded by a per-attempt timeout. The retries of a failing or
hanging endpoint are scheduled by the handler (the entry waits in the stream with its own
back-off), so one slow endpoint never holds anyone else's information.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
import structlog

from iub_contracts.api import DeliveryIn
from iub_runtime import urlpolicy
from iub_runtime.webhooks import sign

log = structlog.get_logger("iub.notify.delivery")


@dataclass(frozen=True)
class Delivery:
    """What to deliver: the request it belongs to, the text, where, and which attempt this is."""

    request_id: str
    kommun: str
    text: str
    target: DeliveryIn
    attempt: int = 1


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of one attempt: delivered, or the error kind and whether another attempt may help."""

    delivered: bool
    attempts: int = 1
    error: str | None = None
    retryable: bool = False


class Deliverer(Protocol):
    """One way of getting the information to the person."""

    async def deliver(self, d: Delivery) -> DeliveryResult: ...


class PollDeliverer:
    """The text is shown by GET /v1/requests/{id}: publishing the event is the delivery."""

    async def deliver(self, d: Delivery) -> DeliveryResult:
        """Nothing to send: intake shows the text once the event is published."""
        log.info("delivery_attempt", via="poll", attempt=d.attempt, result="delivered")
        return DeliveryResult(delivered=True)


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


class SignedPoster:
    """POSTs a signed JSON body, one attempt at a time, within a hard per-attempt timeout."""

    def __init__(self, client: httpx.AsyncClient, secret: str, *, timeout_s: float = 5.0):
        self.client, self.secret, self.timeout_s = client, secret, timeout_s
        self.log = structlog.get_logger("iub.notify.delivery")  # per instance: tests capture it

    async def post(self, url: str, msg_id: str, payload: dict, *, via: str = "http",
                   attempt: int = 1) -> DeliveryResult:
        """One attempt: delivered on 2xx; a refusal (4xx) is final; 5xx, 408/425/429 and network errors may retry."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,  # the receiver dedupes on this: a resend is not a second message
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(self.secret, msg_id, ts, body),
        }
        try:
            # httpx's timeout is per read; the outer bound also stops an endpoint that trickles bytes
            async with asyncio.timeout(self.timeout_s):
                # a redirect is an answer, never followed: it could point into the house (SSRF)
                r = await self.client.post(url, content=body, headers=headers, timeout=self.timeout_s,
                                           follow_redirects=False)
            if 200 <= r.status_code < 300:
                self.log.info("delivery_attempt", via=via, attempt=attempt, result="delivered")
                return DeliveryResult(True)
            result = DeliveryResult(False, error=f"http_{r.status_code}", retryable=_retryable(r.status_code))
        except TimeoutError:
            result = DeliveryResult(False, error="timeout", retryable=True)
        except httpx.HTTPError as exc:
            result = DeliveryResult(False, error=type(exc).__name__, retryable=True)
        # never the URL, the body or the response: they may carry personal data
        self.log.warning("delivery_attempt", via=via, attempt=attempt, result=result.error,
                         retryable=result.retryable)
        return result


class AppCallbackDeliverer:
    """Mitt val mitt stöd: POST to the app backend's callback URL, signed like the telephony webhooks."""

    def __init__(self, poster: SignedPoster, allowed_networks: Sequence[urlpolicy.IPNetwork] | None = None,
                 resolver: urlpolicy.Resolver = urlpolicy.resolve) -> None:
        # allowed_networks None: no address check (unit tests of the poster); the service passes its setting
        self.poster, self.allowed_networks, self.resolver = poster, allowed_networks, resolver

    async def deliver(self, d: Delivery) -> DeliveryResult:
        if self.allowed_networks is not None:
            try:  # intake checked the URL at admission; the name is resolved again now (DNS may have changed)
                await urlpolicy.check_resolved(d.target.callback_url or "", None, self.allowed_networks, self.resolver)
            except urlpolicy.UrlRefused:
                log.warning("delivery_attempt", via="app_callback", attempt=0, result="callback_address_refused")
                return DeliveryResult(False, error="callback_address_refused", retryable=False)
        payload = {"type": "information.given", "request_id": d.request_id, "kommun": d.kommun, "text": d.text}
        return await self.poster.post(d.target.callback_url, f"info_{d.request_id}", payload, via="app_callback",
                                      attempt=d.attempt)


class TelephonyDeliverer:
    """Kundcenter: the platform gets the text for the call reference (agent screen or voice)."""

    def __init__(self, poster: SignedPoster, reply_url: str | None) -> None:
        self.poster, self.reply_url = poster, reply_url

    async def deliver(self, d: Delivery) -> DeliveryResult:
        if not self.reply_url:
            log.warning("delivery_attempt", via="telephony", attempt=d.attempt, result="no_telephony_reply_url")
            return DeliveryResult(False, error="no_telephony_reply_url")
        payload = {"type": "information.given", "call_ref": d.target.call_ref, "request_id": d.request_id,
                   "text": d.text}
        return await self.poster.post(self.reply_url, f"info_{d.request_id}", payload, via="telephony",
                                      attempt=d.attempt)
