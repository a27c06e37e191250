"""What a person (or a kundcenter agent on their behalf) tells about themselves.

Every fact is optional: ``None`` means *not given*, which the engine reports as an unknown
fact, never as met or unmet. Facts relative to the kommun ("folkbokförd i kommunen") are
booleans about the kommun the request is addressed to.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PERSONNUMMER_12 = r"^(18|19|20)\d{10}$"  # 18xx: born before 1900, written with "+" (100 years or older)


class Guardian(BaseModel):
    """One vårdnadshavare and whether they consented; consent is a fact with provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    label: str = Field(
        max_length=40, description="Non-identifying label, e.g. 'vårdnadshavare 1'"
    )
    consent: bool | None = Field(default=None, description="True given, False refused, None not asked")
    recorded_by: str | None = Field(default=None, max_length=80, description="Staff id")
    recorded_at: dt.datetime | None = None


class PreviousInsats(BaseModel):
    """An insats the person has had; ``ended_on`` None means it is still ongoing."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    ref: str = Field(max_length=80)
    ended_on: dt.date | None = None


class ApplicantFacts(BaseModel):
    """The facts villkor and consent are evaluated against."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    personnummer: str | None = Field(
        default=None, pattern=PERSONNUMMER_12, description="12 digits, normalised by intake"
    )
    birth_date: dt.date | None = None
    stated_age: int | None = Field(
        default=None, ge=0, le=130, description="Age as stated when the person is anonymous"
    )
    legal_gender: Literal["kvinna", "man"] | None = None
    folkbokford_i_kommunen: bool | None = None
    barnet_folkbokfort_i_kommunen: bool | None = None
    bosatt_eller_vistas_i_kommunen: bool | None = None
    placerad_av_kommunen: bool | None = Field(
        default=None, description="Placed outside the home BY the kommun (wherever the child lives)"
    )
    placerad_i_kommunen: bool | None = Field(
        default=None, description="Placed outside the home IN the kommun, by this or another kommun"
    )
    previous_insatser: list[PreviousInsats] | None = Field(default=None, max_length=50)
    current_insatser: list[str] | None = Field(
        default=None, max_length=50, description="Refs of insatser/treaters the person has now"
    )
    other_facts: dict[str, bool] = Field(default_factory=dict, max_length=50)
    guardians: list[Guardian] | None = Field(
        default=None, max_length=6, description="All vårdnadshavare; None when not given"
    )


class RecordedEnd(BaseModel):
    """An earlier insats's end as documented at individual level (14 kap 3 §) in the same kommun.

    Read by eligibility from audit's history index (keyed by kommun and a keyed hash of the
    personnummer), never stated by the person; answers ``has_had_insats`` villkor.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    insats_id: str = Field(max_length=120)
    unit: str = Field(max_length=200)
    ended_on: dt.date
