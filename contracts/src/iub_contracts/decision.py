"""The eligibility decision: outcome, why, and what the person can do next."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from iub_contracts.catalog import ConsentRequirement, DocumentationLevel, SourceRef

RIGHT_TO_APPLY = (
    "Du kan alltid ansöka om insatsen och få ditt behov prövat av socialnämnden "
    "(11 kap. 1 § socialtjänstlagen). Att villkoren inte är uppfyllda hindrar inte en ansökan."
)


class Outcome(StrEnum):
    """What the system says about a request. A 'no' is never a final refusal (11 kap 1 §)."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible_without_needs_assessment"
    NEEDS_CONSENT = "needs_consent"
    NEEDS_FACTS = "needs_facts"  # a villkor's fact was not given: reported, never guessed


class VillkorStatus(StrEnum):
    """Result of one villkor."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class VillkorResult(BaseModel):
    """One villkor evaluated: status, Swedish explanation, source and how to confirm it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    villkor_id: str
    kind: str
    scope: str = Field(description="'insats' or 'kommun' (a kommun-wide villkor)")
    status: VillkorStatus
    explanation: str
    confirm_by: list[str]
    source: SourceRef


class ConsentState(StrEnum):
    """Consent outcome for the person's age band."""

    NOT_REQUIRED = "not_required"
    GIVEN = "given"
    MISSING = "missing"
    UNKNOWN = "unknown"  # age or guardians not given


class ConsentResult(BaseModel):
    """Consent status with whose consent is missing, and the rule that applied."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    required: ConsentRequirement
    state: ConsentState
    missing_from: list[str] = Field(default_factory=list, description="Guardian labels")
    explanation: str
    basis: str = Field(description="Law paragraph or kommun rule the requirement rests on")


class ReadingRef(BaseModel):
    """Staff-facing: a reading of the source, still awaiting the board, that a decision rests on."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    id: str = Field(description="Id in the readings register (`iub catalog readings`)")
    topic: str
    reading: str = Field(description="The reading chosen (Swedish)")
    status: str = Field(default="awaiting_board")


class Decision(BaseModel):
    """The engine's answer for one kommun, insats and person at one date."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    outcome: Outcome
    kommun: str
    insats_id: str
    insats_name: str
    decided_on: dt.date
    villkor: list[VillkorResult]
    consent: ConsentResult
    documentation_level: DocumentationLevel
    legal_basis: str
    valid_until: dt.date | None = Field(
        default=None, description="Last day the insats may be given without needs assessment"
    )
    catalog_version: str
    summary: str = Field(description="One-paragraph explanation in Swedish")
    right_to_apply: str | None = Field(
        default=None, description="Set whenever the outcome is not eligible (11 kap 1 §)"
    )
    checklist: list[str] = Field(
        default_factory=list, description="What the utförare checks summarily (ID, lease, …)"
    )
    readings: list[ReadingRef] = Field(
        default_factory=list,
        description="Staff-facing only: readings of the source still awaiting the board that this "
        "decision rests on; never part of the text to the person",
    )
    insats_version_from: dt.date | None = Field(
        default=None, description="valid_from of the insats version the decision was made on"
    )
    staff_note: str | None = Field(
        default=None,
        description="Staff-facing note, e.g. that the decision used the version in force on the day "
        "the request was received",
    )


class DecisionErrorCode(StrEnum):
    """Why no decision could be made."""

    UNKNOWN_KOMMUN = "unknown_kommun"
    UNKNOWN_INSATS = "unknown_insats"
    NOT_IN_FORCE = "not_in_force"


class DecisionError(BaseModel):
    """No decision could be made; the 11 kap 6 § information still goes out."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    code: DecisionErrorCode
    kommun: str
    insats_id: str
    message: str = Field(description="Clear reason in Swedish, no personal data")
    catalog_version: str
