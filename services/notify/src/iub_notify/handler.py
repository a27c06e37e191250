"""The notify handler: inform from the decision, deliver once, record the outcome, then publish the proof.

Informing does not wait on documenting (11 kap 6 § holds whether or not the audit store is up):
notify reads the decisions stream itself; audit documents the decision and, after it, the
information. Each request is handled on its own task; a failed attempt leaves the entry waiting
with its own back-off (``Later``) instead of holding anyone else.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis

from iub_contracts import streams
from iub_contracts.api import DeliveryIn
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog
from iub_contracts.messages import DELIVERY_TARGET_KEY, DecisionMade
from iub_notify.delivery import Deliverer, Delivery, DeliveryResult
from iub_notify.domain.events import delivery_dead_letter, information_given
from iub_notify.domain.information import InformationText, information_context
from iub_notify.ledger import DeliveryLedger, SentRecord
from iub_notify.queue import waits_for
from iub_notify.texts import Templates
from iub_runtime import metrics
from iub_runtime.consumer import Later
from iub_runtime.retry import Backoff

log = structlog.get_logger("iub.notify")
ATTEMPTS = Counter("iub_notify_delivery_attempts_total", "Delivery attempts of the information", ["via"])
ONCE_KEY = "notify:{request_id}"
FAILED_ONCE_KEY = "notify-failed:{request_id}"
# the latest revision's outcome per provider case (case id, revision, outcomes: no personal data)
CASE_OUTCOME_KEY = "iub:notify:case-outcome:{case_id}"
CASE_OUTCOME_TTL_S = 400 * 86400  # an insats runs for months


def delivery_id(msg: DecisionMade) -> str:
    """What the information is given once for: the request, or one revision of its decision."""
    return str(msg.request_id) if msg.revision == 0 else f"{msg.request_id}:r{msg.revision}"


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
        retries: int = 4,
        backoff: Backoff | None = None,
    ) -> None:
        self.redis, self.writer, self.catalog, self.templates = redis, writer, catalog, templates
        self.deliverers, self.ledger, self.clock = deliverers, ledger, clock
        self.retries = retries
        self.backoff = backoff or Backoff(0.5, 30.0)

    async def handle_revision(self, msg: DecisionMade) -> dict | Later:
        """A revision: inform again only when the outcome changed (the earlier information still holds).

        "Changed" is against the outcome of the latest revision seen for the case (kept under the
        case id, no personal data), so two provider posts close together compare with each other,
        not both with the decision before them; an older revision arriving late is superseded.
        """
        outcome = msg.decision.outcome.value if msg.decision else None
        key = CASE_OUTCOME_KEY.format(case_id=msg.case_id or msg.request_id)
        raw = await self.redis.get(key)
        last = json.loads(raw) if raw else None
        if last is not None and last["revision"] > msg.revision:
            return {"outcome": "superseded"}
        before = last["outcome"] if last is not None and last["revision"] < msg.revision else (
            msg.previous_outcome.value if msg.previous_outcome else None)
        if last is not None and last["revision"] == msg.revision:
            before = last["before"]  # a redelivery: decide as the first delivery did
        await self.redis.set(key, json.dumps({"revision": msg.revision, "outcome": outcome, "before": before}),
                             ex=CASE_OUTCOME_TTL_S)
        if before is not None and outcome == before:
            return {"outcome": "unchanged"}
        return await self.handle(msg)

    async def handle(self, msg: DecisionMade) -> dict | Later:
        """Send unless already sent (ledger), then publish the dead letter (if failed) and the event."""
        rid = delivery_id(msg)
        if await self.redis.exists(f"iub:once:{ONCE_KEY.format(request_id=rid)}"):
            return {"outcome": "duplicate"}
        sent = await self.ledger.sent(rid)
        if sent is None:
            step = await self._attempt(msg)
            if isinstance(step, Later):
                return step
            sent = step
        else:
            log.info("information_resumed", request_id=rid)  # a crash after sending: finish, do not resend
        await self._publish(msg, sent)
        return {"outcome": "informed" if sent.delivered else "delivery_failed", "attempts": sent.attempts}

    def level_of(self, msg: DecisionMade) -> DocumentationLevel | None:
        """The documentation level of the insats version in force on the request's day."""
        if msg.decision is not None:
            return msg.decision.documentation_level
        v = self.catalog.version_in_force(msg.kommun, msg.insats_id, request_day(msg.received_at)) \
            if self.catalog.kommun(msg.kommun) else None
        return v.documentation.level if v else None

    async def compose(self, msg: DecisionMade) -> InformationText:
        """The text for one request, in its language, with the queue as it is now."""
        waits = await waits_for(self.redis, msg.kommun) if self.catalog.kommun(msg.kommun) else {}
        return self.templates.render(information_context(msg, self.catalog, waits), msg.language)

    async def target_of(self, msg: DecisionMade) -> DeliveryIn | None:
        """The delivery target kept at intake under the message's handle (or carried by an old entry)."""
        d = msg.delivery
        if d.kind == "poll":
            return DeliveryIn()
        if d.handle:
            raw = await self.redis.get(DELIVERY_TARGET_KEY.format(handle=d.handle))
            return None if raw is None else DeliveryIn.model_validate(json.loads(raw))
        return DeliveryIn(kind=d.kind, callback_url=d.callback_url, call_ref=d.call_ref)

    async def _attempt(self, msg: DecisionMade) -> SentRecord | Later:
        rid = delivery_id(msg)
        token = await self.ledger.lease(rid)
        if token is None:  # another process is sending right now: look again shortly
            return Later("DeliveryInProgress", delay_s=1.0)
        async with self.ledger.holding(rid, token):
            if (sent := await self.ledger.sent(rid)) is not None:
                return sent  # the holder before us finished sending
            info = await self.compose(msg)
            target = await self.target_of(msg)
            if target is None:  # expired with the retention (or never kept): nothing to send to
                attempt, result = await self.ledger.attempts(rid), DeliveryResult(False, error="delivery_target_gone")
            else:
                attempt = await self.ledger.next_attempt(rid)
                result = await self.deliverers[msg.delivery.kind].deliver(
                    Delivery(request_id=rid, kommun=msg.kommun, text=info.text, target=target, attempt=attempt))
                ATTEMPTS.labels(via=msg.delivery.kind).inc()
                if not result.delivered and result.retryable and attempt <= self.retries:
                    # its own schedule: the entry waits, nobody else does
                    return Later(f"Delivery:{result.error}", delay_s=self.backoff.delay(attempt))
            sent = SentRecord(delivered=result.delivered, attempts=attempt, error=result.error,
                              text=info.text, template=info.template, language=info.language,
                              language_requested=info.language_requested, fallback=info.fallback)
            await self.ledger.record(rid, sent)  # before any publish: a crash from here on never resends
            if msg.delivery.handle:  # the target is no longer needed: it goes now, not at the retention
                await self.redis.delete(DELIVERY_TARGET_KEY.format(handle=msg.delivery.handle))
            return sent

    async def _publish(self, msg: DecisionMade, sent: SentRecord) -> None:
        rid = delivery_id(msg)
        info = InformationText(text=sent.text, template=sent.template, language=sent.language,
                               language_requested=sent.language_requested, fallback=sent.fallback)
        now = self.clock()
        if not sent.delivered:
            # never silently dropped: operators see it in the dead-letter stream, coverage counts it
            await self.writer.publish(streams.dead_letter_stream(streams.DECISIONS),
                                      delivery_dead_letter(msg, sent.attempts, sent.error, now),
                                      once_key=FAILED_ONCE_KEY.format(request_id=rid))
            metrics.DEAD_LETTERS.labels(service="notify", stream=streams.DECISIONS).inc()
        event = information_given(msg, self.level_of(msg), info, sent.delivered, sent.attempts, now)
        await self.writer.publish(streams.INFORMATION, event, once_key=ONCE_KEY.format(request_id=rid))
        metrics.INFORMATION.labels(via=msg.delivery.kind, status=event.status.value).inc()
        # ids, counts and template names only: never the text, the URL or the call reference
        log.info("information_given", request_id=rid, via=msg.delivery.kind, status=event.status.value,
                 attempts=sent.attempts, template=sent.template, language_fallback=sent.fallback)
