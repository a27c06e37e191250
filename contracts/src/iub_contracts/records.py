"""Documentation records, one model per level; each holds only what its level may hold.

- individual (14 kap 3 § SoL): identity, insats, decision, consent basis, dates, information;
- anonymised (14 kap 5 § SoL): de-identified facts only — age band, legal gender, reason codes;
- advisory (14 kap 4 § SoL): no personal data at all — insats, day, channel, topic, information.

``extra="forbid"``: a field a level may not hold cannot be smuggled in.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from iub_contracts.decision import VillkorResult
from iub_contracts.facts import PERSONNUMMER_12
from iub_contracts.messages import AuditStep, Channel

AGE_BANDS = ("0-12", "13-14", "15-17", "18-20", "21-29", "30-44", "45-64", "65-79", "80+", "okänd")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    request_id: uuid.UUID
    step: AuditStep
    kommun: str
    insats_id: str
    day: dt.date = Field(description="The day of the contact")
    channel: Channel


class InformationPart(BaseModel):
    """The 11 kap 6 § information as given (template and hash, never personal data)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    status: Literal["delivered", "failed"]
    template: str
    language: str
    text_sha256: str
    delivered_via: str
    attempts: int


class ConsentBasis(BaseModel):
    """Who consented, recorded by whom and when (individual level only)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    guardian: str
    consent: bool | None
    recorded_by: str | None
    recorded_at: dt.datetime | None


class IndividualRecord(_Record):
    """14 kap 3 § SoL: documentation at individual level."""

    level: Literal["individual"] = "individual"
    personnummer: str = Field(pattern=PERSONNUMMER_12)
    insats_name: str | None = None
    catalog_version: str
    received_at: AwareDatetime
    outcome: str | None = None
    error_code: str | None = None
    villkor: list[VillkorResult] = Field(default_factory=list)
    consent_state: str | None = None
    consent_basis: list[ConsentBasis] = Field(default_factory=list)
    valid_until: dt.date | None = None
    information: InformationPart | None = None


class AnonymisedRecord(_Record):
    """14 kap 5 § SoL: de-identified facts only (board decision for the whole insats)."""

    level: Literal["anonymised"] = "anonymised"
    age_band: Literal[AGE_BANDS]  # type: ignore[valid-type]
    legal_gender: Literal["kvinna", "man", "okänt"]
    outcome: str | None = None
    reason_codes: list[Annotated[str, Field(pattern=r"^[a-z0-9_:.-]+$", max_length=80)]] = Field(
        default_factory=list
    )
    information: InformationPart | None = None


class AdvisoryRecord(_Record):
    """14 kap 4 § SoL: advisory insats, documented without any personal data."""

    level: Literal["advisory"] = "advisory"
    topic: str = Field(pattern=r"^[a-z0-9_-]+$")
    information: InformationPart | None = None


DocumentationRecord = Annotated[
    IndividualRecord | AnonymisedRecord | AdvisoryRecord, Field(discriminator="level")
]
