"""The provider (utförare) API: inbox, case view and the facts a provider records.

A *case* is one request for an insats as the provider sees it. Its id is the id of the
request's decision record in the audit store: the request id for 14 kap 3 § insatser, the
keyed record id for 14 kap 4–5 § insatser (never the id the client got). Input models are
strict (``extra="forbid"``) and never echo a value in an error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from iub_contracts.catalog import DocumentationLevel
from iub_contracts.decision import ConsentRequirement, ConsentState, Outcome

StaffId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,39}$",
                               description="The staff member's id in the kommun (letters first, no free text)")]
GuardianLabel = Annotated[str, Field(pattern=r"^vårdnadshavare [1-6]$",
                                     description="'vårdnadshavare 1' … 'vårdnadshavare 6' (never a name)")]
VillkorKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=120)]


class CaseStatus(StrEnum):
    """Where a case stands: the decision's outcome, then the carrying out."""

    NEEDS_FACTS = "needs_facts"
    NEEDS_CONSENT = "needs_consent"
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible_without_needs_assessment"
    STARTED = "started"
    ENDED = "ended"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class VillkorConfirmationIn(_In):
    """One villkor confirmed or refuted summarily, with how (one of its confirm_by items)."""

    key: VillkorKey = Field(description="The villkor id, as in the case's checklist")
    result: Literal["confirmed", "refuted"]
    confirm_by: str = Field(max_length=200, description="One of the villkor's confirm_by items, exactly")


class GuardianConsentIn(_In):
    """One guardian's consent: given or refused, recorded by whom and when."""

    guardian: GuardianLabel
    given: bool
    recorded_by: StaffId
    recorded_at: AwareDatetime = Field(description="Not before the request, not in the future")


class ProviderFactsIn(_In):
    """What a provider records for a case; eligibility then decides again (never an outcome by hand)."""

    event_id: uuid.UUID = Field(description="Idempotency: a retried post with the same id is documented once")
    staff_id: StaffId
    villkor: list[VillkorConfirmationIn] = Field(default_factory=list, max_length=30)
    consents: list[GuardianConsentIn] = Field(default_factory=list, max_length=6)
    child_consent: bool | None = Field(
        default=None, description="The child's own consent, only where the catalogue asks for it")


class FactsAccepted(BaseModel):
    """202: the facts are kept and on their way to eligibility; the revision follows."""

    case_id: uuid.UUID
    event_id: uuid.UUID
    revision: int = Field(description="The revision these facts will produce")
    duplicate: bool = Field(description="True when this event id was recorded before (nothing new written)")


class ChecklistItem(BaseModel):
    """One villkor of the decision, how to confirm it, and what the provider recorded."""

    villkor_id: str
    kind: str
    scope: str
    status: str = Field(description="met / not_met / unknown in the current revision")
    confirm_by: list[str]
    explanation: str | None = Field(default=None, description="14 kap 3 § only (it may mention the person)")
    recorded: Literal["confirmed", "refuted"] | None = None
    recorded_confirm_by: str | None = None
    recorded_by: str | None = None
    recorded_at: dt.datetime | None = None


class GuardianConsent(BaseModel):
    """A guardian's consent as recorded; ``guardian`` is what a provider posts consent under."""

    guardian: str = Field(description="'vårdnadshavare N', the N-th guardian")
    label: str | None = Field(default=None, description="14 kap 3 § only: the label the request gave")
    given: bool | None
    recorded_by: str | None = None
    recorded_at: dt.datetime | None = None


class CaseConsent(BaseModel):
    """The consent state of the current revision and each guardian's consent."""

    required: ConsentRequirement | None = None
    state: ConsentState | None = None
    missing_from: list[str] = Field(default_factory=list)
    guardians: list[GuardianConsent] = Field(default_factory=list)
    child_consent: bool | None = None


class Revision(BaseModel):
    """One decision of the case: 0 is the first, each later one follows a provider's facts."""

    revision: int
    outcome: str | None
    decided_on: dt.date
    event_id: uuid.UUID | None = Field(default=None, description="The provider's event that led to it")


class CasePerson(BaseModel):
    """What the documentation level allows to show about the person."""

    personnummer: str | None = Field(default=None, description="14 kap 3 § only")
    age_band: str | None = Field(default=None, description="14 kap 5 § only")
    legal_gender: str | None = Field(default=None, description="14 kap 5 § only")
    reason_codes: list[str] = Field(default_factory=list, description="14 kap 5 § only")


class CaseEvent(BaseModel):
    """A carrying-out event (start, contact, end) in order; its details depend on the level."""

    event_id: str
    kind: str
    date: dt.date
    details: dict[str, Any] = Field(default_factory=dict)


class CaseSummary(BaseModel):
    """One line of the inbox."""

    case_id: uuid.UUID
    kommun: str
    insats_id: str
    insats_name: str
    unit: str
    level: DocumentationLevel
    status: CaseStatus
    outcome: Outcome | None
    revision: int
    request_day: dt.date
    updated_at: dt.datetime


class ProviderInbox(BaseModel):
    """A page of the provider's cases, newest first."""

    items: list[CaseSummary]
    page: int
    page_size: int
    total: int


class ProviderCase(CaseSummary):
    """A case: the decision with its checklist and consent state, revisions, events, and the person
    only as far as the level allows (identity 14:3; age band, gender, reason codes 14:5; nothing 14:4)."""

    checklist: list[ChecklistItem] = Field(default_factory=list)
    consent: CaseConsent = Field(default_factory=CaseConsent)
    person: CasePerson | None = None
    revisions: list[Revision] = Field(default_factory=list)
    events: list[CaseEvent] = Field(default_factory=list)
    right_to_apply: str | None = None



# --------------------------------------------------------------------------- carrying out (issue 10, point 4)

EventKind = Literal["start", "contact", "end"]
ContactForm = Literal["individual", "group", "phone", "digital"]
EndKind = Literal["completed", "ended_early", "never_started"]
Code = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$", max_length=40)]


class CarryingOutEventIn(_In):
    """One event of carrying out an insats: start, a contact, or the end (idempotent on event_id).

    ``situation``/``scales``: 14 kap 5 § only, at start and end, codes and scales from the
    kommun's catalogue (no free text). ``note``: 14 kap 3 § only, short, personal data (shown in
    partsinsyn, never logged).
    """

    event_id: uuid.UUID
    kind: EventKind
    date: dt.date = Field(description="Not before the request, not in the future")
    form: ContactForm | None = Field(default=None, description="contact: how it took place")
    minutes: int | None = Field(default=None, ge=1, le=1440, description="contact: its length")
    end: EndKind | None = Field(default=None, description="end: how the insats ended")
    reason: Code | None = Field(default=None, description="end ended_early: a code from the kommun's list")
    situation: Code | None = Field(default=None, description="14:5 start/end: de-identified social situation code")
    scales: dict[Code, int] = Field(default_factory=dict, max_length=10,
                                    description="14:5 start/end: de-identified scales (e.g. mående 1–5)")
    note: str | None = Field(default=None, max_length=4000, description="14:3 only: a short note (personal data)")


class EventAccepted(BaseModel):
    """201: the event is documented at the insats's level (or was before: duplicate)."""

    case_id: uuid.UUID
    event_id: uuid.UUID
    kind: EventKind
    status: CaseStatus
    duplicate: bool


class AdvisoryCountIn(_In):
    """14 kap 4 §: counts of an advisory insats per day, topic and channel; nobody identified, no case id."""

    event_id: uuid.UUID
    kommun: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
    insats_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=120)]
    date: dt.date
    topic: Code = Field(description="The topic of the advice (a code, no free text)")
    channel: Literal["app", "telephony"] = Field(description="How the people reached the service")
    form: ContactForm | None = Field(default=None, description="How the contacts took place")
    count: int = Field(ge=1, le=10_000)


class CountAccepted(BaseModel):
    """201: the count is documented (or was before: duplicate)."""

    event_id: uuid.UUID
    duplicate: bool
