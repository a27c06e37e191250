"""Builders for audit tests: decisions as eligibility publishes them, for insatser of each level."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from iub_contracts.catalog_loader import load_catalog
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_contracts.messages import Channel, DecisionMade, DeliveryTarget, RequestReceived
from iub_eligibility.domain.request import evaluate_request

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "catalog")
NOW = dt.datetime(2025, 9, 5, 10, 0, tzinfo=dt.UTC)

# one insats of each documentation level
INDIVIDUAL = ("ostersund", "akutboendet")
ANONYMISED = ("jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta")
ADVISORY = ("mellerud", "radgivningssamtal")


def decision(kommun: str, insats: str, *, facts: ApplicantFacts | None = None, channel=Channel.APP,
             delivery: DeliveryTarget | None = None, at: dt.datetime = NOW) -> DecisionMade:
    """A DecisionMade as eligibility would publish it for a request."""
    rid = uuid.uuid4()
    req = RequestReceived(correlation_id=rid, occurred_at=at, request_id=rid, kommun=kommun, insats_id=insats,
                          channel=channel, facts=facts or ApplicantFacts(personnummer="198112189876"),
                          delivery=delivery or DeliveryTarget(), received_at=at)
    return evaluate_request(CATALOG, req, at)


def guardian(label: str, consent: bool = True) -> Guardian:
    return Guardian(label=label, consent=consent, recorded_by="handläggare 7", recorded_at=NOW)
