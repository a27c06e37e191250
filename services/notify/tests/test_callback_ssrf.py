"""Notify's side of 'no SSRF' (issue 13, point 5): redirects are never followed, addresses are checked at send time."""

from __future__ import annotations

import asyncio

import httpx
from notify_receiver import Receiver

from iub_contracts.messages import DeliveryTarget
from iub_notify.delivery import AppCallbackDeliverer, Delivery, SignedPoster
from iub_runtime import urlpolicy

SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLW5vdGlmeQ=="
LOOPBACK = urlpolicy.networks(["127.0.0.0/8"])


def delivery(url: str) -> Delivery:
    return Delivery(request_id="0b8f2f8e-6a8c-4c8e-9a57-3c1f6f7c2a11", kommun="sala", text="Du har rätt att ansöka.",
                    target=DeliveryTarget(kind="app_callback", callback_url=url))


class Redirector:
    """A server answering every request with a redirect to ``location``."""

    def __init__(self, location: str, status: int = 302) -> None:
        self.location, self.status, self.hits = location, status, 0

    async def __aenter__(self) -> Redirector:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/cb"

    async def _serve(self, reader, writer) -> None:
        self.hits += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {self.status} Moved\r\nLocation: {self.location}\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


async def test_a_redirect_from_the_callback_is_not_followed_even_by_a_client_that_would():
    async with Receiver() as inside, httpx.AsyncClient(follow_redirects=True) as client:
        for status in (301, 302, 303, 307, 308):
            async with Redirector(inside.url + "/internal", status) as out:
                poster = SignedPoster(client, SECRET, timeout_s=2)
                result = await AppCallbackDeliverer(poster, LOOPBACK).deliver(delivery(out.url))
                assert not result.delivered and result.error == f"http_{status}"
                assert out.hits == 1 and not result.retryable  # a refusal: not retried either
        assert inside.requests == []


async def test_the_address_is_checked_again_at_send_time():
    async with Receiver() as rx, httpx.AsyncClient() as client:
        poster = SignedPoster(client, SECRET, timeout_s=2)
        refused = await AppCallbackDeliverer(poster, []).deliver(delivery(rx.url + "/cb"))
        assert (refused.delivered, refused.error) == (False, "callback_address_refused")
        assert rx.requests == []

        async def rebound(_host: str, _port: int) -> list[str]:  # the name now points inwards
            return ["93.184.216.34", "169.254.169.254"]

        rebinding = await AppCallbackDeliverer(poster, LOOPBACK, rebound).deliver(
            delivery("https://app.example.se/cb"))
        assert rebinding.error == "callback_address_refused"
        ok = await AppCallbackDeliverer(poster, LOOPBACK).deliver(delivery(rx.url + "/cb"))
        assert ok.delivered and len(rx.requests) == 1
