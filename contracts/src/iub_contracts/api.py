"""HTTP bodies of the intake API (Mitt val mitt stöd backend and Kundcenter telephony)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from iub_contracts.facts import Guardian, PreviousInsats
from iub_contracts.messages import Channel, DeliveryTarget


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class FactsIn(_In):
    """The applicant's facts as a client sends them; personnummer in any common form."""

    personnummer: str | None = Field(
        default=None, max_length=13, description="YYYYMMDD-NNNN, YYMMDD-NNNN, YYMMDD+NNNN (100+), samordningsnummer"
    )
    birth_date: dt.date | None = None
    stated_age: int | None = Field(default=None, ge=0, le=130)
    legal_gender: Literal["kvinna", "man"] | None = None
    folkbokford_i_kommunen: bool | None = None
    barnet_folkbokfort_i_kommunen: bool | None = None
    bosatt_eller_vistas_i_kommunen: bool | None = None
    placerad_av_kommunen: bool | None = None
    previous_insatser: list[PreviousInsats] | None = Field(default=None, max_length=50)
    current_insatser: list[str] | None = Field(default=None, max_length=50)
    other_facts: dict[str, bool] = Field(default_factory=dict, max_length=50)
    guardians: list[Guardian] | None = Field(default=None, max_length=6)


class RequestIn(_In):
    """POST /v1/requests: a request for an insats."""

    kommun: str = Field(min_length=1, max_length=80)
    insats_id: str = Field(min_length=1, max_length=120)
    channel: Channel = Channel.APP
    language: str = Field(default="sv", max_length=16)
    facts: FactsIn = Field(default_factory=FactsIn)
    delivery: DeliveryTarget = Field(default_factory=DeliveryTarget)


class PreviewIn(_In):
    """POST /v1/eligibility/preview: 'can I get this?' — nothing is stored or logged."""

    kommun: str = Field(min_length=1, max_length=80)
    insats_id: str = Field(min_length=1, max_length=120)
    facts: FactsIn = Field(default_factory=FactsIn)
    at: dt.date | None = None


class Accepted(BaseModel):
    """202 answer: the request is durably on the stream."""

    request_id: uuid.UUID
    status: Literal["received"] = "received"
    location: str


class RequestStatus(BaseModel):
    """GET /v1/requests/{id}: status, decision and the information as delivered."""

    request_id: uuid.UUID
    kommun: str
    insats_id: str
    status: Literal["received", "decided", "informed", "information_failed"]
    received_at: dt.datetime
    decision: dict | None = None
    decision_error: dict | None = None
    information: str | None = None
    information_status: str | None = None


class ProblemDetail(BaseModel):
    """Error body: names fields and problems, never the submitted values."""

    title: str
    status: int
    errors: list[dict] = Field(default_factory=list)
    see: str | None = None


class TelephonyEvent(_In):
    """POST /v1/telephony/events: one event of the Kundcenter platform (Standard Webhooks signed)."""

    type: Literal["call.started", "agent.form_submitted", "call.ended"]
    call_ref: str = Field(min_length=1, max_length=200)
    occurred_at: dt.datetime
    agent_id: str | None = Field(default=None, max_length=80)
    form: RequestIn | None = Field(default=None, description="The caller's answers (agent.form_submitted)")
