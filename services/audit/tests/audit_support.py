"""Builders for audit tests: decisions as eligibility publishes them, for insatser of each level.

FIGURES collects what the issue note reports; conftest prints it at the end of the run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from pathlib import Path

from iub_audit.domain.documenting import Prepared, document_decision
from iub_audit.domain.linkage import LinkKeys
from iub_audit.domain.signing import Signer
from iub_audit.store import AuditStore, Stored
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.facts import ApplicantFacts, Guardian
from iub_contracts.messages import (
    Channel,
    DecisionMade,
    DeliveryTarget,
    InformationGiven,
    InformationStatus,
    RequestReceived,
)
from iub_eligibility.domain.request import evaluate_request

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "catalog")
NOW = dt.datetime(2025, 9, 5, 10, 0, tzinfo=dt.UTC)
PNR = "198112189876"

# one insats of each documentation level
INDIVIDUAL = ("ostersund", "akutboendet")
ANONYMISED = ("jamtland-lansverksamheter", "cmv-stodsamtal-valdsutsatta")
ADVISORY = ("mellerud", "radgivningssamtal")
LEVEL_OF = {INDIVIDUAL: "individual", ANONYMISED: "anonymised", ADVISORY: "advisory"}

FIGURES: Counter = Counter()
SIGNER = Signer(b"test-chain-key-" + b"c" * 32)
KEYS = LinkKeys(b"test-link-key-" + b"l" * 32)


def decision(kommun: str, insats: str, *, facts: ApplicantFacts | None = None, channel=Channel.APP,
             delivery: DeliveryTarget | None = None, at: dt.datetime = NOW) -> DecisionMade:
    """A DecisionMade as eligibility would publish it for a request."""
    rid = uuid.uuid4()
    req = RequestReceived(correlation_id=rid, occurred_at=at, request_id=rid, kommun=kommun, insats_id=insats,
                          channel=channel, facts=facts or ApplicantFacts(personnummer=PNR),
                          delivery=delivery or DeliveryTarget(), received_at=at)
    return evaluate_request(CATALOG, req, at)


def information(msg: DecisionMade, *, at: dt.datetime | None = None, level=None) -> InformationGiven:
    """The InformationGiven notify would publish after documenting ``msg``."""
    return InformationGiven(
        correlation_id=msg.request_id, occurred_at=at or msg.received_at + dt.timedelta(seconds=2),
        request_id=msg.request_id, kommun=msg.kommun, insats_id=msg.insats_id, channel=msg.channel,
        level=level, language="sv", language_requested="sv", language_fallback=False,
        template="information/sv@0a1b2c3d4e5f", text="Du har rätt att ansöka (11 kap. 1 §).",
        text_sha256="ab" * 32, delivered_via=msg.delivery.kind, status=InformationStatus.DELIVERED, attempts=1,
        outcome=msg.decision.outcome.value if msg.decision else None,
    )


def guardian(label: str, consent: bool = True) -> Guardian:
    """A guardian who consented, recorded by staff."""
    return Guardian(label=label, consent=consent, recorded_by="handläggare 7", recorded_at=NOW)


def store_decision(store: AuditStore, msg: DecisionMade) -> Stored:
    """Document a decision as the handler does; counts the record for the figures."""
    outcome = document_decision(CATALOG, msg, KEYS).record
    assert isinstance(outcome, Prepared), outcome
    stored = store.append_many([outcome.item], now=NOW)[0]
    store.flush_staged(NOW, everything=True)  # 14 kap 4–5 § records join the chain at once in these tests
    if stored.created:
        FIGURES[f"records written: {outcome.level}"] += 1
    return stored


def write(store: AuditStore, kommun_insats: tuple[str, str], n: int = 1, at: dt.datetime = NOW) -> list[Stored]:
    """n decisions of one insats, documented."""
    return [store_decision(store, decision(*kommun_insats, at=at)) for _ in range(n)]
