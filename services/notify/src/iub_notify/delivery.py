"""Delivery adapters behind one interface: app callback, telephony reply, polling."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Protocol

import httpx
from iub_contracts.messages import DeliveryTarget
from iub_runtime.webhooks import sign


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
        return DeliveryResult(delivered=True, attempts=1)


class SignedPoster:
    """POSTs a signed JSON body with retries and exponential backoff."""

    def __init__(self, client: httpx.AsyncClient, secret: str, *, retries: int = 4, base_delay_s: float = 0.5):
        self.client, self.secret, self.retries, self.base_delay_s = client, secret, retries, base_delay_s

    async def post(self, url: str, msg_id: str, payload: dict) -> DeliveryResult:
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
            try:
                r = await self.client.post(url, content=body, headers=headers, timeout=10)
                if 200 <= r.status_code < 300:
                    return DeliveryResult(True, attempt)
                error = f"http_{r.status_code}"
                if 400 <= r.status_code < 500 and r.status_code not in (408, 425, 429):
                    return DeliveryResult(False, attempt, error)  # the receiver refuses: no retry
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            if attempt <= self.retries:
                await asyncio.sleep(self.base_delay_s * 2 ** (attempt - 1))
        return DeliveryResult(False, self.retries + 1, error)


class AppCallbackDeliverer:
    """Mitt val mitt stöd: POST to the app backend's callback URL, signed like the telephony webhooks."""

    def __init__(self, poster: SignedPoster) -> None:
        self.poster = poster

    async def deliver(self, d: Delivery) -> DeliveryResult:
        payload = {"type": "information.given", "request_id": d.request_id, "kommun": d.kommun, "text": d.text}
        return await self.poster.post(d.target.callback_url, f"info_{d.request_id}", payload)


class TelephonyDeliverer:
    """Kundcenter: the platform gets the text for the call reference (agent screen or voice)."""

    def __init__(self, poster: SignedPoster, reply_url: str | None) -> None:
        self.poster, self.reply_url = poster, reply_url

    async def deliver(self, d: Delivery) -> DeliveryResult:
        if not self.reply_url:
            return DeliveryResult(False, 0, "no_telephony_reply_url")
        payload = {"type": "information.given", "call_ref": d.target.call_ref, "request_id": d.request_id,
                   "text": d.text}
        return await self.poster.post(self.reply_url, f"info_{d.request_id}", payload)
