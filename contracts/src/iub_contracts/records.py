"""Documentation records, one model per level; each holds only what its level may hold.

- individual (14 kap 3 § SoL): identity, insats, decision, consent basis, dates, information;
- anonymised (14 kap 5 § SoL): de-identified facts only — age band, legal gender, reason codes;
- advisory (14 kap 4 § SoL): no personal data at all — insats, day, channel, topic, information.

``extra="forbid"``: a field a level may not hold cannot be smuggled in. Every field that is not
personal data by nature has a strict shape (ids, codes, hashes), so free text cannot ride along;
audit's PII guard scans what remains of anonymised and advisory records before they are stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from iub_contracts.decision import VillkorResult
from iub_contracts.facts import PERSONNUMMER_12
from iub_contracts.messages import AuditStep, Channel

AGE_BANDS = ("0-12", "13-14", "15-17", "18-20", "21-29", "30-44", "45-64", "65-79", "80+", "okänd")

Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=120)]
Code = Annotated[str, Field(pattern=r"^[a-z0-9_:.-]+$", max_length=80)]
# 'decision', 'information', a revision's 'decision:r2' / 'information:r2', carrying-out steps
Step = Annotated[str, Field(pattern=r"^[a-z]+(:[a-z0-9-]{1,40})?$", max_length=48)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    request_id: uuid.UUID
    step: Step
    kommun: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
    insats_id: Id
    day: dt.date = Field(description="The day of the contact (Swedish calendar day)")
    channel: Channel


class InformationPart(BaseModel):
    """The 11 kap 6 § information as given (template and hash, never personal data)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    status: Literal["delivered", "failed"]
    template: str = Field(pattern=r"^[A-Za-z0-9_./-]{1,120}(@[0-9a-f]{4,64})?$", description="Template id@version")
    language: str = Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]{1,12})*$", max_length=16)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    delivered_via: Literal["app_callback", "telephony", "poll"]
    attempts: int = Field(ge=0)


class ConsentBasis(BaseModel):
    """Who consented, recorded by whom and when (individual level only)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    guardian: str
    consent: bool | None
    recorded_by: str | None
    recorded_at: dt.datetime | None


class CarryingOutPart(BaseModel):
    """A carrying-out event as documented at 14 kap 4–5 §: codes and numbers only, no free text."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: Literal["start", "contact", "end"]
    date: dt.date
    form: Literal["individual", "group", "phone", "digital"] | None = None
    minutes: int | None = Field(default=None, ge=1, le=1440)
    end: Literal["completed", "ended_early", "never_started"] | None = None
    reason: Code | None = None
    situation: Code | None = None
    scales: dict[Code, int] = Field(default_factory=dict, max_length=10)


class IndividualCarryingOut(CarryingOutPart):
    """A carrying-out event at 14 kap 3 §: the same, plus a short note (personal data)."""

    event_id: uuid.UUID
    staff_note: str | None = Field(default=None, max_length=4000)


class IndividualRecord(_Record):
    """14 kap 3 § SoL: documentation at individual level (the decision, then the information)."""

    level: Literal["individual"] = "individual"
    personnummer: str = Field(pattern=PERSONNUMMER_12)
    insats_name: str | None = None
    catalog_version: str | None = Field(default=None, description="Catalogue version the decision used")
    received_at: AwareDatetime | None = Field(default=None, description="When intake received the request")
    outcome: Code | None = None
    error_code: Code | None = None
    villkor: list[VillkorResult] = Field(default_factory=list)
    consent_state: str | None = None
    consent_basis: list[ConsentBasis] = Field(default_factory=list)
    valid_until: dt.date | None = None
    information: InformationPart | None = None
    carrying_out: IndividualCarryingOut | None = None

    @model_validator(mode="after")
    def _decision_says_when_and_which_version(self) -> IndividualRecord:
        is_decision = self.step.split(":")[0] == AuditStep.DECISION.value
        if is_decision and (self.catalog_version is None or self.received_at is None):
            raise ValueError("a decision record needs catalog_version and received_at")
        return self


class AnonymisedRecord(_Record):
    """14 kap 5 § SoL: de-identified facts only (board decision for the whole insats)."""

    level: Literal["anonymised"] = "anonymised"
    age_band: Literal[AGE_BANDS]  # type: ignore[valid-type]
    legal_gender: Literal["kvinna", "man", "okänt"]
    outcome: Code | None = None
    reason_codes: list[Code] = Field(default_factory=list, max_length=50)
    information: InformationPart | None = None
    carrying_out: CarryingOutPart | None = None


class AdvisoryRecord(_Record):
    """14 kap 4 § SoL: advisory insats, documented without any personal data."""

    level: Literal["advisory"] = "advisory"
    topic: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=80)
    information: InformationPart | None = None
    count: int | None = Field(default=None, ge=1, le=10_000, description="Advisory counts: contacts that day")
    form: Literal["individual", "group", "phone", "digital"] | None = Field(
        default=None, description="Advisory counts: how the contacts took place")


DocumentationRecord = Annotated[
    IndividualRecord | AnonymisedRecord | AdvisoryRecord, Field(discriminator="level")
]
