"""Every message that crosses a stream. Producers and consumers import these; nobody redefines them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from iub_contracts.catalog import DocumentationLevel
from iub_contracts.decision import Decision, DecisionError, Outcome
from iub_contracts.facts import ApplicantFacts

SCHEMA_VERSION = 1


class Envelope(BaseModel):
    """Fields every stream message carries."""

    # hide_input_in_errors: a validation error must never echo a personnummer into a log line
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    correlation_id: uuid.UUID = Field(description="The request id the message belongs to")
    occurred_at: AwareDatetime
    schema_version: Literal[1] = SCHEMA_VERSION


class Channel(StrEnum):
    """How the person reached the service."""

    APP = "app"  # Mitt val mitt stöd
    TELEPHONY = "telephony"  # Kundcenter


# where intake keeps a delivery target (JSON of iub_contracts.api.DeliveryIn) under its handle, for
# notify to read and delete once the information is given; expires with the stream retention
DELIVERY_TARGET_KEY = "iub:delivery:{handle}"


class DeliveryTarget(BaseModel):
    """How the 11 kap 6 § information goes out: its kind, and an opaque handle to the target.

    The target itself (callback URL, call reference) stays at intake: it is kept in Redis under
    ``iub:delivery:<handle>`` until notify has delivered (then deleted), so no URL or call
    reference — free text a client typed — travels on a stream or reaches the audit store.
    ``callback_url``/``call_ref`` are only read from entries written before the handle existed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["app_callback", "telephony", "poll"] = "poll"
    handle: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                               description="Opaque random key of the target kept at intake")
    callback_url: str | None = Field(default=None, max_length=2000, description="Legacy; never written now")
    call_ref: str | None = Field(default=None, max_length=200, description="Legacy; never written now")

    @model_validator(mode="after")
    def _target_matches_kind(self) -> DeliveryTarget:
        if self.kind == "app_callback" and not (self.callback_url or self.handle):
            raise ValueError("app_callback needs a handle")
        if self.kind == "telephony" and not (self.call_ref or self.handle):
            raise ValueError("telephony needs a handle")
        return self


class RequestReceived(Envelope):
    """A person asked for an insats; facts already minimised by intake for the insats's level."""

    request_id: uuid.UUID
    kommun: str = Field(max_length=80)
    insats_id: str = Field(max_length=120)
    channel: Channel
    language: str = Field(default="sv", max_length=16)
    facts: ApplicantFacts
    delivery: DeliveryTarget = Field(default_factory=DeliveryTarget)
    received_at: AwareDatetime

    @model_validator(mode="after")
    def _correlates(self) -> RequestReceived:
        if self.correlation_id != self.request_id:
            raise ValueError("correlation_id must be the request id")
        return self


class DecisionMade(Envelope):
    """Eligibility's answer for one request: a decision, or an error (unknown kommun/insats)."""

    request_id: uuid.UUID
    kommun: str
    insats_id: str
    channel: Channel
    language: str
    delivery: DeliveryTarget
    facts: ApplicantFacts = Field(description="As received (already minimised for the level)")
    received_at: AwareDatetime
    age_at_request: int | None = Field(default=None, description="Derived by eligibility, for age bands")
    legal_gender: Literal["kvinna", "man"] | None = Field(default=None, description="Derived by eligibility")
    decision: Decision | None = None
    error: DecisionError | None = None
    revision: int = Field(default=0, ge=0, le=9999,
                          description="0: the first decision; n > 0: the n-th revision after a provider's facts")
    case_id: uuid.UUID | None = Field(
        default=None, description="Revisions: the provider's case (the decision record's id in the audit store)")
    previous_outcome: Outcome | None = Field(
        default=None, description="Revisions: the outcome before; the person is informed again only when it changed")

    @model_validator(mode="after")
    def _exactly_one(self) -> DecisionMade:
        if (self.decision is None) == (self.error is None):
            raise ValueError("exactly one of decision and error")
        return self


class AuditStep(StrEnum):
    """What a documentation record is about; (request id, step) is unique."""

    DECISION = "decision"
    INFORMATION = "information"


class InformationStatus(StrEnum):
    """Result of delivering the 11 kap 6 § information."""

    DELIVERED = "delivered"
    FAILED = "failed"


class InformationGiven(Envelope):
    """Proof that the 11 kap 6 § information was given (or failed after retries). No personal data."""

    request_id: uuid.UUID
    kommun: str
    insats_id: str
    channel: Channel
    level: DocumentationLevel | None
    language: str = Field(description="Language actually used")
    language_requested: str
    language_fallback: bool
    template: str = Field(description="Template id and version")
    text: str = Field(description="The text as delivered (no personal data in it)")
    text_sha256: str
    delivered_via: Literal["app_callback", "telephony", "poll"]
    status: InformationStatus
    attempts: int = Field(ge=0)
    outcome: str | None = None
    revision: int = Field(default=0, ge=0, le=9999, description="The decision revision this information is about")
    case_id: uuid.UUID | None = Field(default=None, description="Revisions: the provider's case")


class DeadLetter(BaseModel):
    """An entry that could not be processed after N deliveries, moved aside for operators."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    stream: str
    group: str
    entry_id: str
    deliveries: int
    error_type: str = Field(description="Exception class name; never the message or the input")
    dead_lettered_at: AwareDatetime
    payload: str = Field(description="The original __data__ (may hold personal data; masked in ops)")


class VillkorConfirmation(BaseModel):
    """A villkor confirmed or refuted summarily by the utförare (ID card, lease …), never assessed."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    villkor_id: str = Field(max_length=120)
    confirmed: bool
    confirm_by: str = Field(max_length=200, description="One of the villkor's confirm_by items")
    staff_id: str = Field(max_length=40)
    at: AwareDatetime


class ProviderFactsRecorded(BaseModel):
    """A provider's villkor and consent facts for one case, for eligibility to decide again.

    Tolerant reader (unknown fields ignored). ``facts`` are the facts kept for the case at the
    insats's documentation level (see the audit README: what re-deciding needs per level) with
    the consents applied; ``confirmations`` are every villkor the providers have confirmed or
    refuted so far. A provider never sets an outcome: only these facts travel.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    correlation_id: uuid.UUID = Field(description="The case id")
    occurred_at: AwareDatetime
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: uuid.UUID = Field(description="The provider's event id (idempotency)")
    case_id: uuid.UUID
    revision: int = Field(ge=1, le=9999, description="The revision to make")
    previous_outcome: Outcome | None = None
    kommun: str = Field(max_length=80)
    insats_id: str = Field(max_length=120)
    level: DocumentationLevel
    channel: Channel
    language: str = Field(default="sv", max_length=16)
    request_day: dt.date = Field(description="The day the request was received: the catalogue version in force")
    facts: ApplicantFacts
    confirmations: list[VillkorConfirmation] = Field(default_factory=list, max_length=60)
