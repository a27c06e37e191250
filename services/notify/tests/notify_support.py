"""Shared by the handler and app tests: a notifier on real adapters, a writer that crashes, stream readers."""

from __future__ import annotations

import datetime as dt

from notify_samples import sample

from iub_contracts import streams
from iub_contracts.messages import DeadLetter, DecisionMade, DeliveryTarget, InformationGiven
from iub_notify.delivery import AppCallbackDeliverer, PollDeliverer, SignedPoster, TelephonyDeliverer
from iub_notify.handler import Notifier
from iub_notify.ledger import DeliveryLedger
from iub_runtime.consumer import Later
from iub_runtime.retry import Backoff
from iub_runtime.streams import StreamWriter

SECRET = "test-secret"
NOW = dt.datetime(2025, 9, 5, 12, 0, 1, tzinfo=dt.UTC)
DLQ = streams.dead_letter_stream(streams.DECISIONS)


class SimulatedCrash(Exception):
    """The process dies here (raised where a kill would land)."""


class CrashingWriter:
    """A StreamWriter whose first publish dies: the consumer crashed after sending, before publishing/acking."""

    def __init__(self, inner: StreamWriter, crashes: int = 1) -> None:
        self.inner, self.crashes = inner, crashes

    async def publish(self, stream, message, *, once_key=None):
        if self.crashes:
            self.crashes -= 1
            raise SimulatedCrash()
        return await self.inner.publish(stream, message, once_key=once_key)


def make_notifier(redis, http, catalog, templates, *, writer=None, retries=2, reply_url=None, lease_s=30,
                  timeout_s=2.0):
    poster = SignedPoster(http, SECRET, timeout_s=timeout_s)
    return Notifier(
        redis=redis,
        writer=writer or StreamWriter(redis, retention_s=3600, dedupe_ttl_s=3600),
        catalog=catalog,
        templates=templates,
        deliverers={"poll": PollDeliverer(), "app_callback": AppCallbackDeliverer(poster),
                    "telephony": TelephonyDeliverer(poster, reply_url)},
        ledger=DeliveryLedger(redis, ttl_s=3600, lease_s=lease_s),
        clock=lambda: NOW,
        retries=retries,
        backoff=Backoff(0.01, 0.05),
    )


async def settle(notifier: Notifier, msg: DecisionMade):
    """Handle a message as the runtime does: again after each Later's delay, until it is done."""
    import asyncio

    while isinstance(result := await notifier.handle(msg), Later):
        await asyncio.sleep(result.delay_s or 0.01)
    return result


def app_record(catalog, url: str, outcome: str = "eligible", kommun: str = "sala") -> DecisionMade:
    return sample(catalog, kommun, outcome, delivery=DeliveryTarget(kind="app_callback", callback_url=url))


async def events(redis, stream=streams.INFORMATION) -> list:
    model = InformationGiven if stream == streams.INFORMATION else DeadLetter
    return [model.model_validate_json(f[b"__data__"]) for _, f in await redis.xrange(stream)]
