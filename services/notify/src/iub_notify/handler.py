"""The notify handler: compose, deliver once, record the outcome, then publish the proof."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis

from iub_contracts import streams
from iub_contracts.catalog_loader import Catalog
from iub_contracts.messages import AuditRecorded
from iub_notify.delivery import Deliverer, Delivery
from iub_notify.domain.events import delivery_dead_letter, information_given
from iub_notify.domain.information import InformationText, information_context
from iub_notify.ledger import DeliveryLedger, SentRecord
from iub_notify.queue import waits_for
from iub_notify.texts import Templates
from iub_runtime import metrics
from iub_runtime.consumer import note

log = structlog.get_logger("iub.notify")
ATTEMPTS = Counter("iub_notify_delivery_attempts_total", "Delivery attempts of the information", ["via"])
ONCE_KEY = "notify:{request_id}"
FAILED_ONCE_KEY = "notify-failed:{request_id}"


class DeliveryInProgress(Exception):
    """Another consumer holds the sending lease: leave the entry pending, it is retried later."""


class Notifier:
    """Gives the 11 kap 6 § information once per request, whatever the outcome."""

    def __init__(
        self,
        *,
        redis: Redis,
        writer,
        catalog: Catalog,
        templates: Templates,
        deliverers: Mapping[str, Deliverer],
        ledger: DeliveryLedger,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.redis, self.writer, self.catalog, self.templates = redis, writer, catalog, templates
        self.deliverers, self.ledger, self.clock = deliverers, ledger, clock

    async def handle(self, msg: AuditRecorded) -> None:
        """Send unless already sent (ledger), then publish the dead letter (if failed) and the event."""
        rid = str(msg.request_id)
        if await self.redis.exists(f"iub:once:{ONCE_KEY.format(request_id=rid)}"):
            note(outcome="duplicate")
            return
        sent = await self.ledger.sent(rid)
        if sent is None:
            sent = await self._send(msg)
        else:
            log.info("information_resumed", request_id=rid)  # a crash after sending: finish, do not resend
        await self._publish(msg, sent)

    async def compose(self, msg: AuditRecorded) -> InformationText:
        """The text for one request, in its language, with the queue as it is now."""
        waits = await waits_for(self.redis, msg.kommun) if self.catalog.kommun(msg.kommun) else {}
        return self.templates.render(information_context(msg, self.catalog, waits), msg.language)

    async def _send(self, msg: AuditRecorded) -> SentRecord:
        rid = str(msg.request_id)
        token = await self.ledger.wait_for_lease(rid)
        if token is None:
            raise DeliveryInProgress()  # the holder is alive and still retrying: leave the entry pending
        async with self.ledger.holding(rid, token):
            if (sent := await self.ledger.sent(rid)) is not None:
                return sent  # the holder we waited for finished sending
            info = await self.compose(msg)
            result = await self.deliverers[msg.delivery.kind].deliver(
                Delivery(request_id=rid, kommun=msg.kommun, text=info.text, target=msg.delivery)
            )
            sent = SentRecord(delivered=result.delivered, attempts=result.attempts, error=result.error,
                              text=info.text, template=info.template, language=info.language,
                              language_requested=info.language_requested, fallback=info.fallback)
            await self.ledger.record(rid, sent)  # before any publish: a crash from here on never resends
            ATTEMPTS.labels(via=msg.delivery.kind).inc(result.attempts)
            return sent

    async def _publish(self, msg: AuditRecorded, sent: SentRecord) -> None:
        rid = str(msg.request_id)
        info = InformationText(text=sent.text, template=sent.template, language=sent.language,
                               language_requested=sent.language_requested, fallback=sent.fallback)
        now = self.clock()
        if not sent.delivered:
            # never silently dropped: operators see it in the dead-letter stream, coverage counts it
            await self.writer.publish(streams.dead_letter_stream(streams.RECORDED),
                                      delivery_dead_letter(msg, sent.attempts, sent.error, now),
                                      once_key=FAILED_ONCE_KEY.format(request_id=rid))
            metrics.DEAD_LETTERS.labels(service="notify", stream=streams.RECORDED).inc()
        event = information_given(msg, info, sent.delivered, sent.attempts, now)
        await self.writer.publish(streams.INFORMATION, event, once_key=ONCE_KEY.format(request_id=rid))
        metrics.INFORMATION.labels(via=msg.delivery.kind, status=event.status.value).inc()
        note(outcome="informed" if sent.delivered else "delivery_failed")
        # ids, counts and template names only: never the text, the URL or the call reference
        log.info("information_given", request_id=rid, via=msg.delivery.kind, status=event.status.value,
                 attempts=sent.attempts, template=sent.template, language_fallback=sent.fallback)
