"""Delivery adapters behind one interface: app callback, telephony reply, polling."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
import structlog

from iub_contracts.messages import DeliveryTarget
from iub_runtime import urlpolicy
from iub_runtime.webhooks import sign

log = structlog.get_logger("iub.notify.delivery")


@dataclass(frozen=True)
class Delivery:
    """What to deliver: the request it belongs to, the text, and where."""

    request_id: str
    kommun: str
    text: str
    target: DeliveryTarget


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of all attempts: delivered or failed, with the attempt count and last error kind."""

    delivered: bool
    attempts: int
    error: str | None = None


class Deliverer(Protocol):
    """One way of getting the information to the person."""

    async def deliver(self, d: Delivery) -> DeliveryResult: ...


class PollDeliverer:
    """The text is shown by GET /v1/requests/{id}: publishing the event is the delivery."""

    async def deliver(self, d: Delivery) -> DeliveryResult:
        """Nothing to send: intake shows the text once the event is published."""
        log.info("delivery_attempt", via="poll", attempt=1, result="delivered")
        return DeliveryResult(delivered=True, attempts=1)


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


class SignedPoster:
    """POSTs a signed JSON body with retries and exponential backoff; one log line per attempt."""

    def __init__(self, client: httpx.AsyncClient, secret: str, *, retries: int = 4, base_delay_s: float = 0.5,
                 max_delay_s: float = 30.0, timeout_s: float = 10.0):
        self.client, self.secret, self.retries = client, secret, retries
        self.base_delay_s, self.max_delay_s, self.timeout_s = base_delay_s, max_delay_s, timeout_s
        self.log = structlog.get_logger("iub.notify.delivery")

    def delay(self, attempt: int) -> float:
        """Backoff before the next attempt: base · 2^(attempt-1), capped."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))

    async def post(self, url: str, msg_id: str, payload: dict, *, via: str = "http") -> DeliveryResult:
        """Deliver once the receiver answers 2xx; give up on a refusal (4xx) or after the retries."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        error = None
        for attempt in range(1, self.retries + 2):
            ts = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": msg_id,  # the receiver dedupes on this: a resend is not a second message
                "webhook-timestamp": str(ts),
                "webhook-signature": sign(self.secret, msg_id, ts, body),
            }
            retry = attempt <= self.retries
            try:
                # a redirect is an answer, never followed: it could point into the house (SSRF)
                r = await self.client.post(url, content=body, headers=headers, timeout=self.timeout_s,
                                           follow_redirects=False)
                if 200 <= r.status_code < 300:
                    self.log.info("delivery_attempt", via=via, attempt=attempt, result="delivered")
                    return DeliveryResult(True, attempt)
                error = f"http_{r.status_code}"
                retry = retry and _retryable(r.status_code)
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            # never the URL, the body or the response: they may carry personal data
            self.log.warning("delivery_attempt", via=via, attempt=attempt, result=error,
                        retry_in_s=self.delay(attempt) if retry else None)
            if not retry:
                return DeliveryResult(False, attempt, error)
            await asyncio.sleep(self.delay(attempt))
        return DeliveryResult(False, self.retries + 1, error)


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
                return DeliveryResult(False, 0, "callback_address_refused")
        payload = {"type": "information.given", "request_id": d.request_id, "kommun": d.kommun, "text": d.text}
        return await self.poster.post(d.target.callback_url, f"info_{d.request_id}", payload, via="app_callback")


class TelephonyDeliverer:
    """Kundcenter: the platform gets the text for the call reference (agent screen or voice)."""

    def __init__(self, poster: SignedPoster, reply_url: str | None) -> None:
        self.poster, self.reply_url = poster, reply_url

    async def deliver(self, d: Delivery) -> DeliveryResult:
        if not self.reply_url:
            log.warning("delivery_attempt", via="telephony", attempt=0, result="no_telephony_reply_url")
            return DeliveryResult(False, 0, "no_telephony_reply_url")
        payload = {"type": "information.given", "call_ref": d.target.call_ref, "request_id": d.request_id,
                   "text": d.text}
        return await self.poster.post(self.reply_url, f"info_{d.request_id}", payload, via="telephony")
