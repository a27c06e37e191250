"""HTTP bodies of the intake API (Mitt val mitt stöd backend and Kundcenter telephony).

Input models forbid unknown fields and hide the input in validation errors, so an error can
never echo a personnummer. Output models are what the app and the telephony platform show.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from iub_contracts.catalog import DocumentationLevel
from iub_contracts.decision import Decision
from iub_contracts.language import LANGUAGE_TAGS, canonical_language
from iub_contracts.messages import Channel
from iub_contracts.questions import Question


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def _text_only(value: Any) -> Any:
    """Dates and times come as ISO text; a number (a Unix time?) is refused, not guessed."""
    if isinstance(value, int | float):
        raise ValueError("ska vara text i ISO 8601-format")
    return value


# The input types are as strict as their JSON schema says: no "yes" for true, no "5" for 5, no
# number for a date. What the schema documents is exactly what is accepted.
Date = Annotated[dt.date, BeforeValidator(_text_only)]
DateTime = Annotated[dt.datetime, BeforeValidator(_text_only)]
AwareDateTime = Annotated[AwareDatetime, BeforeValidator(_text_only)]
Bool = StrictBool


class GuardianIn(_In):
    """One vårdnadshavare and whether they consented (a non-identifying label, never a name)."""

    label: str = Field(max_length=40, description="Non-identifying label, e.g. 'vårdnadshavare 1'")
    consent: Bool | None = Field(default=None, description="True given, False refused, None not asked")
    recorded_by: str | None = Field(default=None, max_length=80, description="Staff id")
    recorded_at: DateTime | None = None


class PreviousInsatsIn(_In):
    """An insats the person has had; ``ended_on`` None means it is still ongoing."""

    ref: str = Field(max_length=80)
    ended_on: Date | None = None


LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
Language = Annotated[str, AfterValidator(canonical_language)]


def _language() -> Any:
    """The preferred language: a listed BCP 47 tag, never free text (free text could carry personal data)."""
    return Field(default="sv", max_length=16, pattern=LANGUAGE_TAG,
                 description="Preferred language, one of: " + ", ".join(LANGUAGE_TAGS)
                 + " (any case). Without a reviewed text in it the information is in Swedish.")


class DeliveryIn(_In):
    """Where the 11 kap 6 § information goes: app callback, the call, or polling only.

    The target stays at intake; the services after it only get an opaque handle to it.
    """

    kind: Literal["app_callback", "telephony", "poll"] = "poll"
    callback_url: str | None = Field(default=None, max_length=2000)
    call_ref: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _target_matches_kind(self) -> DeliveryIn:
        if self.kind == "app_callback" and not self.callback_url:
            raise ValueError("app_callback needs callback_url")
        if self.kind == "telephony" and not self.call_ref:
            raise ValueError("telephony needs call_ref")
        return self


# --------------------------------------------------------------------------- requests


class FactsIn(_In):
    """The applicant's facts as a client sends them; personnummer in any common form."""

    personnummer: str | None = Field(
        default=None,
        max_length=13,
        description="YYYYMMDD-NNNN, YYMMDD-NNNN, YYMMDD+NNNN (100 år eller äldre) or samordningsnummer; "
        "validated (Luhn) and stored as 12 digits. Leave out to be anonymous where the insats allows it.",
    )
    birth_date: Date | None = None
    stated_age: StrictInt | None = Field(
        default=None, ge=0, le=130, description="Age as stated by an anonymous person"
    )
    legal_gender: Literal["kvinna", "man"] | None = None
    folkbokford_i_kommunen: Bool | None = None
    barnet_folkbokfort_i_kommunen: Bool | None = None
    bosatt_eller_vistas_i_kommunen: Bool | None = None
    placerad_av_kommunen: Bool | None = Field(default=None, description="Placed outside the home BY the kommun")
    placerad_i_kommunen: Bool | None = Field(
        default=None, description="Placed outside the home IN the kommun, by this or another kommun"
    )
    previous_insatser: list[PreviousInsatsIn] | None = Field(default=None, max_length=50)
    current_insatser: list[Annotated[str, Field(max_length=80)]] | None = Field(default=None, max_length=50)
    other_facts: dict[Annotated[str, Field(max_length=80)], Bool] = Field(default_factory=dict, max_length=50)
    guardians: list[GuardianIn] | None = Field(default=None, max_length=6)


class RequestIn(_In):
    """POST /v1/requests: a request for an insats."""

    kommun: str = Field(min_length=1, max_length=80)
    insats_id: str = Field(min_length=1, max_length=120)
    channel: Channel = Field(default=Channel.APP, description="'telephony' only for telephony platform clients")
    language: Language = _language()
    facts: FactsIn = Field(default_factory=FactsIn)
    delivery: DeliveryIn = Field(default_factory=DeliveryIn)


class PreviewIn(_In):
    """POST /v1/eligibility/preview: 'can I get this?' — nothing is stored or logged."""

    kommun: str = Field(min_length=1, max_length=80)
    insats_id: str = Field(min_length=1, max_length=120)
    facts: FactsIn = Field(default_factory=FactsIn)
    at: Date | None = Field(default=None, description="The day to evaluate (default: today in Sweden)")


class Accepted(BaseModel):
    """202 answer: the request is durably on the stream."""

    request_id: uuid.UUID
    status: Literal["received"] = "received"
    location: str


class RequestStatus(BaseModel):
    """GET /v1/requests/{id}: status, decision and the information as delivered."""

    request_id: uuid.UUID
    kommun: str
    insats_id: str | None = Field(default=None, description="None once a 14 kap 4–5 § request was informed")
    status: Literal["received", "decided", "informed", "information_failed"]
    received_at: dt.datetime | None = Field(default=None,
                                            description="None once a 14 kap 4–5 § request was informed")
    decision: dict | None = None
    decision_error: dict | None = None
    information: str | None = None
    information_status: str | None = None


class PreviewOut(BaseModel):
    """The answer to 'can I get this?': the decision the request would get, and whether identity is needed."""

    decision: Decision
    anonymous_allowed: bool = Field(description="Whether the insats may be asked for without personnummer")


class FieldProblem(BaseModel):
    """One problem with one field: its path and what is wrong (never the submitted value)."""

    field: str
    problem: str


class ProblemDetail(BaseModel):
    """Error body: names fields and problems, never the submitted values."""

    title: str
    status: int
    errors: list[FieldProblem] = Field(default_factory=list)
    see: str | None = Field(default=None, description="Where to look instead, e.g. the list endpoint")
    information: str | None = Field(
        default=None, description="The 11 kap 6 § information when intake cannot take the request on (404)"
    )


# --------------------------------------------------------------------------- catalogue


class ContactOut(BaseModel):
    """How people get in touch: the ways as the kommun's document gives them."""

    ways: list[str] = Field(description="Each way in plain Swedish, e.g. 'Ring kundcenter på …'")
    kundcenter_phone: str | None = None
    switchboard_phone: str | None = None
    app: str | None = None
    visiting_address: str | None = None
    web: str | None = None
    how_to_apply: str = Field(description="How to apply for needs-assessed insatser (11 kap. 1 § SoL)")


class KommunOut(BaseModel):
    """One kommun (or länsverksamhet) as the app lists it."""

    kommun: str
    name: str
    kind: Literal["kommun", "lansverksamhet"]
    insatser: int = Field(description="Number of insatser offered without needs assessment today")
    insatser_url: str
    contact: ContactOut


class VillkorOut(BaseModel):
    """One villkor in plain Swedish, and how the utförare checks it."""

    id: str
    text: str
    confirm_by: list[str]
    applies_to: Literal["insats", "kommun"] = Field(description="'kommun': a villkor of every insats of the kommun")


class ConsentOut(BaseModel):
    """Guardian consent rules in plain Swedish, one line per age band."""

    under_15: str
    age_15_17: str
    from_18: str


class DocumentationOut(BaseModel):
    """How carrying out the insats is documented, explained."""

    level: DocumentationLevel
    legal_basis: str
    anonymous_allowed: bool
    explanation: str = Field(description="Plain Swedish; says 'Du kan vara anonym' for 14:4 and 14:5 insatser")


class InsatsOut(BaseModel):
    """One insats as the app shows it."""

    id: str
    name: str
    unit: str
    utforare: str | None = None
    description: str
    malgrupp: str = Field(description="Who the board wants to reach; never a reason to deny")
    villkor: list[VillkorOut]
    consent: ConsentOut
    documentation: DocumentationOut
    valid_from: dt.date
    valid_to: dt.date | None = None
    contact: ContactOut
    questions: list[Question] = Field(
        default_factory=list,
        description="What the app must ask: each fact key with the question in sv, en and sv-lattlast, the "
        "answer type, the villkor or consent rule it serves and how the utförare confirms it. A fact key "
        "not listed here is refused (422).",
    )


class KommunList(BaseModel):
    """GET /v1/kommuner."""

    kommuner: list[KommunOut]


class InsatsList(BaseModel):
    """GET /v1/kommuner/{kommun}/insatser."""

    kommun: str
    name: str
    insatser: list[InsatsOut]


# --------------------------------------------------------------------------- telephony


class TelephonyForm(_In):
    """The agent's form with the caller's answers: a request like the app's, delivered to the call."""

    kommun: str = Field(min_length=1, max_length=80)
    insats_id: str = Field(min_length=1, max_length=120)
    language: Language = _language()
    facts: FactsIn = Field(default_factory=FactsIn)


class _TelephonyBase(_In):
    call_ref: str = Field(
        min_length=1, max_length=200, description="The platform's caller-line reference; information goes back to it"
    )
    occurred_at: AwareDateTime
    agent_id: str | None = Field(default=None, max_length=80, description="Kundcenter agent (staff id)")


class CallStarted(_TelephonyBase):
    """A call reached the customer centre (acknowledged and counted, nothing stored)."""

    type: Literal["call.started"]


class AgentFormSubmitted(_TelephonyBase):
    """An agent submitted the form for the caller: becomes a request with channel telephony."""

    type: Literal["agent.form_submitted"]
    form: TelephonyForm


class CallEnded(_TelephonyBase):
    """The call ended (acknowledged and counted, nothing stored)."""

    type: Literal["call.ended"]


TelephonyEvent = Annotated[CallStarted | AgentFormSubmitted | CallEnded, Field(discriminator="type")]
"""POST /v1/telephony/events: one Kundcenter platform event, signed the Standard Webhooks way
(headers webhook-id, webhook-timestamp, webhook-signature: v1,base64(HMAC-SHA256(secret,
'id.timestamp.body'))), 5 minutes tolerance, each webhook-id processed once."""


class TelephonyAck(BaseModel):
    """Answer to a call event, or to a webhook-id already processed (nothing done again)."""

    status: Literal["acknowledged", "duplicate"]
    type: str
    request_id: uuid.UUID | None = Field(default=None, description="For a duplicate form: the request it created")


# --------------------------------------------------------------------------- partsinsyn (audit)


class InsynRequest(BaseModel):
    """Whose records, and optionally in which of the client's kommuner."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    personnummer: str = Field(min_length=10, max_length=13, description="10 or 12 digits, with or without '-'/'+'")
    kommuner: list[str] | None = Field(default=None, max_length=300,
                                       description="Limit to these kommuner (default: every kommun of the client)")
    requested_by: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,80}$",
                                     description="Staff id of the handläggare asking (kept in the lookup log)")


class InsynResponse(BaseModel):
    """Every individual-level record (14 kap 3 § SoL) of the person in the kommuner asked for."""

    records: list[dict[str, Any]]
    count: int
