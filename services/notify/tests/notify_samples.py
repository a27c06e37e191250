"""Sample audit records for every outcome, built by hand from the contracts (no eligibility import)."""

from __future__ import annotations

import datetime as dt
import uuid

from iub_contracts.catalog import ConsentRequirement, DocumentationLevel, SourceRef
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import (
    ConsentResult,
    ConsentState,
    Decision,
    DecisionError,
    DecisionErrorCode,
    Outcome,
    VillkorResult,
    VillkorStatus,
)
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, DecisionMade, DeliveryTarget

RECEIVED = dt.datetime(2025, 9, 5, 12, 0, tzinfo=dt.UTC)  # a Friday
NEXT_WEEKDAY = dt.date(2025, 9, 8)
SRC = SourceRef(file="test.txt", section="1")
UNMET = "Åldern uppfyller inte villkoret 18 år och uppåt."
UNKNOWN = "Det är inte känt om du är folkbokförd i kommunen."

OUTCOMES = ("eligible", "not_eligible", "needs_consent", "needs_consent_all", "needs_facts",
            "unknown_insats", "unknown_kommun", "time_limited", "queue")


def villkor(status: VillkorStatus, explanation: str) -> VillkorResult:
    return VillkorResult(villkor_id="v", kind="age", scope="insats", status=status, explanation=explanation,
                         confirm_by=["ID-handling"], source=SRC)


def consent(state: ConsentState = ConsentState.NOT_REQUIRED,
            required: ConsentRequirement = ConsentRequirement.NONE, missing: list[str] | None = None) -> ConsentResult:
    return ConsentResult(required=required, state=state, missing_from=missing or [],
                         explanation="Samtycke behövs.", basis="21 kap 2 § SoL")


def decision(kommun: str, insats: str, outcome: Outcome, *, villkor_results=(), consent_result=None,
             valid_until=None) -> Decision:
    return Decision(
        outcome=outcome, kommun=kommun, insats_id=insats, insats_name=insats, decided_on=RECEIVED.date(),
        villkor=list(villkor_results), consent=consent_result or consent(),
        documentation_level=DocumentationLevel.ADVISORY, legal_basis="14 kap 4 § SoL", valid_until=valid_until,
        catalog_version="test", summary="Sammanfattning.", checklist=["ID-handling"] if villkor_results else [],
    )


def record(kommun: str, insats: str, *, decision_: Decision | None = None, error: DecisionError | None = None,
           language: str = "sv", delivery: DeliveryTarget | None = None,
           request_id: uuid.UUID | None = None) -> DecisionMade:
    rid = request_id or uuid.uuid4()
    return DecisionMade(
        correlation_id=rid, occurred_at=RECEIVED, request_id=rid, kommun=kommun, insats_id=insats,
        channel=Channel.APP, language=language, delivery=delivery or DeliveryTarget(), facts=ApplicantFacts(),
        received_at=RECEIVED, decision=decision_, error=error,
    )


def first_insats(catalog: Catalog, kommun: str) -> str:
    return catalog.kommun(kommun).insatser[0].id


def sample(catalog: Catalog, kommun: str, outcome: str, language: str = "sv", **kw) -> DecisionMade:
    """A decision of one outcome for the first insats of a kommun."""
    insats = first_insats(catalog, kommun)
    met = villkor(VillkorStatus.MET, "Åldern uppfyller villkoret 18 år och uppåt.")
    if outcome in ("eligible", "queue"):
        d = decision(kommun, insats, Outcome.ELIGIBLE, villkor_results=[met])
    elif outcome == "time_limited":
        d = decision(kommun, insats, Outcome.ELIGIBLE, villkor_results=[met], valid_until=NEXT_WEEKDAY)
    elif outcome == "not_eligible":
        d = decision(kommun, insats, Outcome.NOT_ELIGIBLE, villkor_results=[villkor(VillkorStatus.NOT_MET, UNMET)])
    elif outcome == "needs_consent":
        d = decision(kommun, insats, Outcome.NEEDS_CONSENT,
                     consent_result=consent(ConsentState.MISSING, ConsentRequirement.ONE_GUARDIAN,
                                            ["vårdnadshavare 1"]))
    elif outcome == "needs_consent_all":
        d = decision(kommun, insats, Outcome.NEEDS_CONSENT,
                     consent_result=consent(ConsentState.MISSING, ConsentRequirement.ALL_GUARDIANS,
                                            ["vårdnadshavare 2"]))
    elif outcome == "needs_facts":
        d = decision(kommun, insats, Outcome.NEEDS_FACTS, villkor_results=[villkor(VillkorStatus.UNKNOWN, UNKNOWN)])
    elif outcome == "unknown_insats":
        err = DecisionError(code=DecisionErrorCode.UNKNOWN_INSATS, kommun=kommun, insats_id="finns-inte",
                            message="Okänd insats.", catalog_version="test")
        return record(kommun, "finns-inte", error=err, language=language, **kw)
    elif outcome == "unknown_kommun":
        err = DecisionError(code=DecisionErrorCode.UNKNOWN_KOMMUN, kommun="atlantis", insats_id=insats,
                            message="Okänd kommun.", catalog_version="test")
        return record("atlantis", insats, error=err, language=language, **kw)
    else:
        raise ValueError(outcome)
    return record(kommun, insats, decision_=d, language=language, **kw)
