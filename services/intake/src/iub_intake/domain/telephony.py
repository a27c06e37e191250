"""Kundcenter events: an agent's form becomes a request like the app's, delivered to the call (pure)."""

from __future__ import annotations

from iub_contracts.api import AgentFormSubmitted, DeliveryIn, RequestIn
from iub_contracts.messages import Channel


def form_to_request(event: AgentFormSubmitted) -> RequestIn:
    """The request an agent's form stands for: channel telephony, information back to the call."""
    form = event.form
    return RequestIn(
        kommun=form.kommun,
        insats_id=form.insats_id,
        channel=Channel.TELEPHONY,
        language=form.language,
        facts=form.facts,
        delivery=DeliveryIn(kind="telephony", call_ref=event.call_ref),
    )
