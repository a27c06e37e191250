"""The proof-of-information event built from what was rendered and what the delivery did."""

from __future__ import annotations

import datetime as dt
import json

from iub_contracts.catalog import DocumentationLevel
from iub_contracts.messages import DeadLetter, DecisionMade, InformationGiven, InformationStatus
from iub_contracts.streams import DECISIONS, GROUP_NOTIFY
from iub_notify.domain.information import InformationText


def information_given(
    msg: DecisionMade, level: DocumentationLevel | None, info: InformationText, delivered: bool, attempts: int,
    now: dt.datetime,
) -> InformationGiven:
    """The 'information given' event for audit and intake; carries no personal data."""
    return InformationGiven(
        correlation_id=msg.request_id,
        occurred_at=now,
        request_id=msg.request_id,
        kommun=msg.kommun,
        insats_id=msg.insats_id,
        channel=msg.channel,
        level=level,
        language=info.language,
        language_requested=info.language_requested,
        language_fallback=info.fallback,
        template=info.template,
        text=info.text,
        text_sha256=info.sha256,
        delivered_via=msg.delivery.kind,
        status=InformationStatus.DELIVERED if delivered else InformationStatus.FAILED,
        attempts=attempts,
        outcome=msg.decision.outcome.value if msg.decision else (msg.error.code.value if msg.error else None),
        revision=msg.revision,
        case_id=msg.case_id,
    )


def delivery_dead_letter(msg: DecisionMade, attempts: int, error: str | None, now: dt.datetime) -> DeadLetter:
    """The dead letter that shows operators a delivery that failed after its retries (no target, no facts)."""
    return DeadLetter(
        stream=DECISIONS,
        group=GROUP_NOTIFY,
        entry_id=f"request:{msg.request_id}",
        deliveries=attempts,
        error_type=f"DeliveryFailed:{error or 'unknown'}",
        dead_lettered_at=now,
        payload=json.dumps({"request_id": str(msg.request_id), "kommun": msg.kommun, "insats_id": msg.insats_id,
                            "channel": msg.channel.value, "delivered_via": msg.delivery.kind, "error": error}),
    )
