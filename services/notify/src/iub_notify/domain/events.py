"""The proof-of-information event built from what was rendered and what the delivery did."""

from __future__ import annotations

import datetime as dt

from iub_contracts.messages import AuditRecorded, InformationGiven, InformationStatus

from iub_notify.domain.information import InformationText


def information_given(
    msg: AuditRecorded, info: InformationText, delivered: bool, attempts: int, now: dt.datetime
) -> InformationGiven:
    """The 'information given' event for audit and intake; carries no personal data."""
    return InformationGiven(
        correlation_id=msg.request_id,
        occurred_at=now,
        request_id=msg.request_id,
        kommun=msg.kommun,
        insats_id=msg.insats_id,
        channel=msg.channel,
        level=msg.level,
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
    )
