"""The insats catalogue: what a social board offers without individual needs assessment.

One YAML file per kommun or utförare under ``catalog/``. These models validate those files;
the eligibility service evaluates them, intake shows them, notify reads contact routes from them.

Rules these models encode (see DOMAIN.md):
- målgrupp is free text, shown to people and never evaluated (11 kap 5 § SoL);
- villkor are summary facts with a structured ``kind``; each says how the utförare confirms it;
- the documentation level belongs to the insats (14 kap 3/4/5 § SoL), and a 14:5 level is a
  board decision for the whole insats, never for one person.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LAW_IN_FORCE = dt.date(2025, 7, 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(_Strict):
    """Where in a source document a catalogue statement comes from."""

    file: str = Field(description="Source document file name under shared/seeds/")
    section: str = Field(description="Section number or heading in the document, e.g. '4.5.4'")
    quote: str | None = Field(default=None, description="Short verbatim quote (proper å/ä/ö)")


class ReadingStatus(StrEnum):
    """Where a reading of the source text stands with the social board."""

    AWAITING_BOARD = "awaiting_board"
    CONFIRMED = "confirmed"


class Reading(_Strict):
    """How an ambiguous or silent passage of the source document was read, for the board to confirm.

    A decision that rests on a reading still ``awaiting_board`` names the reading's id in its
    staff-facing part (``Decision.readings``), never in the text to the person.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable id, unique per kommun")
    topic: Literal["villkor", "consent", "documentation", "kommun_villkor", "malgrupp", "other"] = Field(
        description="What the reading decides"
    )
    source: SourceRef = Field(description="The passage read, with its verbatim quote")
    reading: str = Field(description="The reading chosen and encoded in the catalogue (Swedish)")
    alternative: str = Field(description="The other way the text can be read, and what it would change")
    status: ReadingStatus = ReadingStatus.AWAITING_BOARD
    confirmed_on: dt.date | None = Field(default=None, description="Date of the board's decision")
    decision_ref: str | None = Field(default=None, description="The board's decision reference (§, dnr)")
    ages: tuple[int, int] | None = Field(
        default=None,
        description="Only decisions about a person of this age (inclusive range) or of unknown age rest "
        "on the reading; default every decision on the insats or villkor",
    )
    insatser: list[str] = Field(
        default_factory=list,
        description="For a kommun-wide reading only: the insatser it affects",
    )

    @model_validator(mode="after")
    def _status_coherent(self) -> Reading:
        if self.source.quote is None:
            raise ValueError("a reading needs the source quote (source.quote)")
        confirmed = self.status is ReadingStatus.CONFIRMED
        if confirmed and (self.confirmed_on is None or not self.decision_ref):
            raise ValueError("a confirmed reading needs confirmed_on and decision_ref")
        if not confirmed and (self.confirmed_on is not None or self.decision_ref):
            raise ValueError("confirmed_on and decision_ref belong to a confirmed reading")
        return self

    @property
    def is_open(self) -> bool:
        """Whether the board has yet to confirm it."""
        return self.status is ReadingStatus.AWAITING_BOARD

    def applies_to_age(self, age: int | None) -> bool:
        """Whether a decision about a person of this age rests on the reading."""
        return self.ages is None or age is None or self.ages[0] <= age <= self.ages[1]


class DocumentationLevel(StrEnum):
    """The three documentation levels of SoL 2025:400."""

    INDIVIDUAL = "individual"  # 14 kap 3 §
    ANONYMISED = "anonymised"  # 14 kap 5 §: de-identified facts only
    ADVISORY = "advisory"  # 14 kap 4 §: no personal data at all


LEGAL_BASIS = {
    DocumentationLevel.INDIVIDUAL: "14 kap 3 § SoL",
    DocumentationLevel.ANONYMISED: "14 kap 5 § SoL",
    DocumentationLevel.ADVISORY: "14 kap 4 § SoL",
}


class Documentation(_Strict):
    """How carrying out the insats is documented."""

    level: DocumentationLevel
    board_decision: str | None = Field(
        default=None,
        description=(
            "For 14:5 only: the board's decision on särskilda skäl, which covers every "
            "participant of the insats (never one person)."
        ),
    )
    source: SourceRef

    @property
    def legal_basis(self) -> str:
        """The SoL paragraph the level rests on."""
        return LEGAL_BASIS[self.level]

    @model_validator(mode="after")
    def _anonymised_needs_board_decision(self) -> Documentation:
        if self.level is DocumentationLevel.ANONYMISED and not self.board_decision:
            raise ValueError("a 14 kap 5 § level needs the board decision text (board_decision)")
        if self.level is not DocumentationLevel.ANONYMISED and self.board_decision:
            raise ValueError("board_decision is only for 14 kap 5 § (anonymised) insatser")
        return self


# --------------------------------------------------------------------------- villkor


class _VillkorBase(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Stable id within the insats")
    text: str = Field(description="The villkor in plain Swedish, as shown to people")
    confirm_by: list[str] = Field(
        min_length=1,
        description="How the utförare confirms it summarily, e.g. 'ID-handling', 'hyreskontrakt'",
    )
    source: SourceRef
    readings: list[Reading] = Field(default_factory=list, description="Readings this villkor rests on")


class AgeVillkor(_VillkorBase):
    """Age at the request date within [min_years, max_years] (both inclusive)."""

    kind: Literal["age"] = "age"
    min_years: int | None = Field(default=None, ge=0, le=130)
    max_years: int | None = Field(default=None, ge=0, le=130)

    @model_validator(mode="after")
    def _has_a_bound(self) -> AgeVillkor:
        if self.min_years is None and self.max_years is None:
            raise ValueError("an age villkor needs min_years or max_years")
        if (
            self.min_years is not None
            and self.max_years is not None
            and self.min_years > self.max_years
        ):
            raise ValueError("min_years is greater than max_years")
        return self


class FolkbokfordVillkor(_VillkorBase):
    """Registered (folkbokförd) in the kommun; optionally about the child rather than the applicant.

    ``without_it_until_next_weekday``: a person who is not folkbokförd may still get the insats,
    but only until the next weekday (Östersund, Akutboendet); the decision carries valid_until.
    """

    kind: Literal["folkbokford"] = "folkbokford"
    subject: Literal["applicant", "child"] = "applicant"
    without_it_until_next_weekday: bool = False


class BosattVillkor(_VillkorBase):
    """'Bosatt eller vistas stadigvarande' in the kommun (a different fact from folkbokförd)."""

    kind: Literal["bosatt_eller_vistas"] = "bosatt_eller_vistas"


class LegalGenderVillkor(_VillkorBase):
    """Legal gender ('kvinna i juridisk mening')."""

    kind: Literal["legal_gender"] = "legal_gender"
    gender: Literal["kvinna", "man"]


class HasHadInsatsVillkor(_VillkorBase):
    """Has had an earlier insats; optionally it ended no longer than ``ended_within_days`` ago.

    The earlier insats is referenced by one id (``insats_ref``), by a list ("any of": ``any_of``)
    or by the unit that carried it out (``unit``: "efter insats på Bryggan"). Every id resolves
    to an insats of the same catalogue or to one the catalogue declares external
    (``KommunCatalog.external_insatser``); a unit must be the unit of an insats in the catalogue.
    """

    kind: Literal["has_had_insats"] = "has_had_insats"
    insats_ref: str | None = Field(default=None, description="Id of the earlier insats, e.g. 'bostad-forst'")
    any_of: list[str] = Field(default_factory=list, description="Ids of insatser, any one of which meets it")
    unit: str | None = Field(default=None, description="Any insats of this unit (the catalogue's `unit`) meets it")
    insats_name: str = Field(description="Its name in Swedish, for explanations")
    ended_within_days: int | None = Field(
        default=None, ge=1, description="Window in days counted from the earlier insats's end date (inclusive)"
    )

    @model_validator(mode="after")
    def _one_reference(self) -> HasHadInsatsVillkor:
        given = [self.insats_ref is not None, bool(self.any_of), self.unit is not None]
        if sum(given) != 1:
            raise ValueError("a has_had_insats villkor references exactly one of insats_ref, any_of or unit")
        if self.any_of and len(self.any_of) != len(set(self.any_of)):
            raise ValueError("any_of lists an insats twice")
        return self

    @property
    def stated_ref(self) -> str:
        """The ref a person's stated history answers with (the question's ``ref``)."""
        return self.insats_ref or self.id

    @property
    def referenced_ids(self) -> list[str]:
        """The insats ids the villkor names (empty for a unit reference)."""
        return [self.insats_ref] if self.insats_ref else list(self.any_of)

    def accepts(self, insats_id: str, unit: str | None) -> bool:
        """Whether an earlier insats (by id and unit) meets the reference."""
        if self.unit is not None:
            return unit == self.unit
        return insats_id in self.referenced_ids


class CurrentlyHasVillkor(_VillkorBase):
    """Currently has a named insats or treater (e.g. a CRA-behandlare)."""

    kind: Literal["currently_has"] = "currently_has"
    ref: str = Field(description="Key, e.g. 'cra-behandlare'")
    name: str = Field(description="Its name in Swedish, for explanations")


class PlacedVillkor(_VillkorBase):
    """Placed outside the home *by* the kommun (anywhere) or *in* the kommun (by any kommun).

    ``by_or_in`` lists the ways that meet it: "by" reads ``placerad_av_kommunen``, "in" reads
    ``placerad_i_kommunen`` (Östersund, Trädet 4.4.6: both).
    """

    kind: Literal["placed_outside_home"] = "placed_outside_home"
    by_or_in: list[Literal["by", "in"]] = Field(default_factory=lambda: ["by"], min_length=1)


class FactVillkor(_VillkorBase):
    """Any other summary yes/no fact the utförare can establish by looking (e.g. a lease)."""

    kind: Literal["fact"] = "fact"
    fact: str = Field(pattern=r"^[a-z0-9_]+$", description="Key in ApplicantFacts.other_facts")
    question: str = Field(description="The yes/no question in Swedish; 'ja' meets the villkor")
    question_en: str | None = Field(
        default=None, description="The same question in English (every catalogue file gives it)"
    )
    question_lattlast: str | None = Field(
        default=None, description="The same question in lättläst Swedish (every catalogue file gives it)"
    )
    when_not_met: str | None = Field(
        default=None, description="Explanation when the answer is no (e.g. why an assessment is needed)"
    )


SimpleVillkor = Annotated[
    AgeVillkor
    | FolkbokfordVillkor
    | BosattVillkor
    | LegalGenderVillkor
    | HasHadInsatsVillkor
    | CurrentlyHasVillkor
    | PlacedVillkor
    | FactVillkor,
    Field(discriminator="kind"),
]


class AnyOfVillkor(_VillkorBase):
    """Met when any one of its options is met (Mellerud, Lotsen: bosatt i Mellerud eller Bengtsfors)."""

    kind: Literal["any_of"] = "any_of"
    options: list[SimpleVillkor] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique_option_ids(self) -> AnyOfVillkor:
        ids = [o.id for o in self.options]
        if len(ids) != len(set(ids)):
            raise ValueError("option ids must be unique within an any_of villkor")
        return self


Villkor = Annotated[
    AgeVillkor
    | FolkbokfordVillkor
    | BosattVillkor
    | LegalGenderVillkor
    | HasHadInsatsVillkor
    | CurrentlyHasVillkor
    | PlacedVillkor
    | FactVillkor
    | AnyOfVillkor,
    Field(discriminator="kind"),
]


def leaf_villkor(villkor: list) -> list:
    """Every simple villkor, the options of any_of villkor included (what facts are asked about)."""
    out: list = []
    for v in villkor:
        out.extend(v.options if isinstance(v, AnyOfVillkor) else [v])
    return out


# --------------------------------------------------------------------------- consent


class ConsentRequirement(StrEnum):
    """Whose consent an age band needs."""

    NONE = "none"
    ONE_GUARDIAN = "one_guardian"
    ALL_GUARDIANS = "all_guardians"


class ConsentPolicy(_Strict):
    """Guardian consent rules of one insats (21 kap 2 § SoL and the kommun's rules).

    Defaults are the law's: under 15 one guardian's consent; 15–17 consent unless the board
    has judged the insats suitable without it (lämplighetsbedömning).
    """

    under_15: ConsentRequirement = ConsentRequirement.ONE_GUARDIAN
    age_15_17: ConsentRequirement = ConsentRequirement.ONE_GUARDIAN
    suitable_15_17_without_consent: bool = Field(
        default=False, description="The board's lämplighetsbedömning for 15–17 year olds"
    )
    exemption_reason: str | None = Field(
        default=None,
        description="Why under-15s need no consent (e.g. Mellerud: rådgivningssamtal is not a "
        "programinsats). Required when under_15 is 'none'.",
    )
    source: SourceRef | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ConsentPolicy:
        if self.suitable_15_17_without_consent and self.age_15_17 is not ConsentRequirement.NONE:
            raise ValueError("suitable_15_17_without_consent needs age_15_17: none")
        if (
            self.age_15_17 is ConsentRequirement.NONE
            and not self.suitable_15_17_without_consent
            and not self.exemption_reason
        ):
            raise ValueError(
                "15–17 without consent needs the board's lämplighetsbedömning "
                "(suitable_15_17_without_consent: true) or an exemption_reason"
            )
        if self.under_15 is ConsentRequirement.NONE and not self.exemption_reason:
            raise ValueError("under_15: none needs an exemption_reason")
        return self


# --------------------------------------------------------------------------- insats


class InsatsVersion(_Strict):
    """One dated version of an insats; the version in force at the request date is used."""

    valid_from: dt.date = LAW_IN_FORCE
    valid_to: dt.date | None = Field(default=None, description="Last day in force, inclusive")
    name: str
    unit: str = Field(description="Enhet / verksamhet that carries it out")
    utforare: str | None = Field(
        default=None, description="Provider when not the board's own unit (e.g. 'Västerås stad')"
    )
    description: str = Field(description="Innehåll och genomförande, shortened, in Swedish")
    malgrupp: str = Field(description="Who the board wants to reach. Shown, NEVER evaluated.")
    villkor: list[Villkor] = Field(default_factory=list)
    kommun_villkor_apply: bool = Field(
        default=True, description="Whether the catalogue's kommun-wide villkor apply to this insats"
    )
    kommun_villkor_exception: str | None = Field(
        default=None, description="Why the kommun-wide villkor do not apply (with source)"
    )
    consent: ConsentPolicy = Field(default_factory=ConsentPolicy)
    documentation: Documentation
    topic: str = Field(description="Topic category for follow-up statistics, e.g. 'vald'")
    anonymous_allowed: bool = Field(
        default=False,
        description="Whether a person may ask without identity (true for advisory and 14:5)",
    )
    alternatives: list[str] = Field(
        default_factory=list,
        description="Alternatives named for when the wait is long (with/without needs assessment)",
    )
    source: SourceRef
    notes: str | None = Field(default=None, description="How an ambiguous text was read")
    readings: list[Reading] = Field(
        default_factory=list, description="Readings of the source the whole insats version rests on"
    )

    @model_validator(mode="after")
    def _anonymity_follows_level(self) -> InsatsVersion:
        lvl = self.documentation.level
        if lvl is not DocumentationLevel.INDIVIDUAL and not self.anonymous_allowed:
            raise ValueError("advisory and 14:5 insatser must allow anonymous requests")
        if lvl is DocumentationLevel.INDIVIDUAL and self.anonymous_allowed:
            raise ValueError("an individually documented insats cannot be anonymous")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if not self.kommun_villkor_apply and not self.kommun_villkor_exception:
            raise ValueError("kommun_villkor_apply: false needs kommun_villkor_exception")
        ids = [v.id for v in self.villkor]
        if len(ids) != len(set(ids)):
            raise ValueError("villkor ids must be unique within an insats")
        return self


class Insats(_Strict):
    """An insats utan individuell behovsprövning with its dated versions."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    versions: list[InsatsVersion] = Field(min_length=1)

    def in_force(self, on: dt.date) -> InsatsVersion | None:
        """The version in force on a date, or None."""
        for v in self.versions:
            if v.valid_from <= on and (v.valid_to is None or on <= v.valid_to):
                return v
        return None

    @model_validator(mode="after")
    def _no_overlap(self) -> Insats:
        vs = sorted(self.versions, key=lambda v: v.valid_from)
        for a, b in zip(vs, vs[1:], strict=False):
            if a.valid_to is None or a.valid_to >= b.valid_from:
                raise ValueError(f"versions of {self.id} overlap at {b.valid_from}")
        return self


class Contact(_Strict):
    """How people get in touch with the kommun or utförare, as the document gives it."""

    kundcenter_phone: str | None = None
    switchboard_phone: str | None = None
    app: str | None = Field(default=None, description="e.g. 'Mitt val mitt stöd'")
    visiting_address: str | None = None
    web: str | None = None
    how_to_apply: str = Field(description="How to apply for needs-assessed insatser, in Swedish")


class CodeEntry(_Strict):
    """One code of a fixed per-kommun list, with its Swedish label."""

    code: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=40)
    label: str


class Scale(_Strict):
    """A de-identified scale (e.g. wellbeing 1–5) recorded at the start and end of a 14:5 insats."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=40)
    label: str
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError("a scale needs min < max")
        return self


class FollowupCodes(_Strict):
    """The kommun's fixed lists for documenting the carrying out of insatser (14 kap 3–5 § SoL).

    ``end_reasons``: why a participant ended early; ``situation``: de-identified social situation
    codes (14:5, at start and end); ``scales``: de-identified wellbeing scales (14:5, start and end).
    """

    end_reasons: list[CodeEntry] = Field(min_length=1)
    situation: list[CodeEntry] = Field(default_factory=list)
    scales: list[Scale] = Field(default_factory=list)
    note_max_chars: int = Field(default=500, ge=1, le=4000, description="Length limit of a 14:3 note")
    readings: list[str] = Field(
        default_factory=list, description="Ids of readings (in `readings`) these lists rest on"
    )


class ExternalInsats(_Strict):
    """An insats a history villkor references that is not in this catalogue (e.g. a needs-assessed one)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="The id villkor reference it by")
    name: str = Field(description="Its name in Swedish")
    why: str = Field(description="Why it is not in the catalogue (e.g. needs-assessed, another provider)")
    source: SourceRef


class KommunCatalog(_Strict):
    """All IUB insatser of one kommun or utförare, from one source document."""

    kommun: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable id, e.g. 'sala'")
    name: str = Field(description="Display name in Swedish")
    kind: Literal["kommun", "lansverksamhet"] = "kommun"
    source_file: str
    contact: Contact
    kommun_villkor: list[Villkor] = Field(
        default_factory=list,
        description="Villkor that apply to every insats unless the insats says otherwise",
    )
    reasonable_wait_days: int | None = Field(
        default=None, description="What the kommun counts as reasonable time before alternatives"
    )
    insatser: list[Insats]
    readings: list[Reading] = Field(
        default_factory=list,
        description="Readings that affect several insatser (each names them in `insatser`)",
    )
    external_insatser: list[ExternalInsats] = Field(
        default_factory=list,
        description="Insatser that history villkor reference but that are not in this catalogue, with source",
    )
    followup: FollowupCodes | None = Field(
        default=None, description="Codes the carrying out of insatser is documented with (issue 10)"
    )

    @model_validator(mode="after")
    def _history_references_resolve(self) -> KommunCatalog:
        ids = {i.id for i in self.insatser}
        external = {e.id for e in self.external_insatser}
        if ids & external:
            raise ValueError(f"external_insatser repeats catalogue insatser: {sorted(ids & external)}")
        units = {v.unit for i in self.insatser for v in i.versions}
        problems = []
        for insats in self.insatser:
            for version in insats.versions:
                for v in leaf_villkor([*version.villkor, *self.kommun_villkor]):
                    if not isinstance(v, HasHadInsatsVillkor):
                        continue
                    unknown = [r for r in v.referenced_ids if r not in ids | external]
                    if unknown:
                        problems.append(f"{insats.id}/{v.id}: references no insats: {unknown} "
                                        "(declare it in external_insatser with its source)")
                    if v.unit is not None and v.unit not in units:
                        problems.append(f"{insats.id}/{v.id}: no insats of unit {v.unit!r}")
        if self.followup is not None:
            known = {r.id for r, _ in self.all_readings()}
            missing = [r for r in self.followup.readings if r not in known]
            if missing:
                problems.append(f"followup: unknown readings {missing}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> KommunCatalog:
        ids = [i.id for i in self.insatser]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate insats ids: {sorted(dupes)}")
        known = set(ids)
        for r in self.readings:
            if not r.insatser:
                raise ValueError(f"kommun-wide reading {r.id} must list the insatser it affects")
            unknown = sorted(set(r.insatser) - known)
            if unknown:
                raise ValueError(f"reading {r.id} names unknown insatser: {unknown}")
        # The same reading may repeat on several versions of one insats; one id, one content.
        by_id: dict[str, Reading] = {}
        for r in self._raw_readings():
            if by_id.setdefault(r.id, r) != r:
                raise ValueError(f"reading id {r.id} is used for two different readings")
        return self

    def readings_for(self, insats_id: str, version: InsatsVersion) -> list[Reading]:
        """Every reading a decision on this insats version can rest on, each once (any status)."""
        # the readings of the follow-up code lists concern documenting the carrying out, not decisions
        followup = set(self.followup.readings) if self.followup else set()
        found: list[Reading] = [r for r in self.readings if insats_id in r.insatser and r.id not in followup]
        found += version.readings
        if version.kommun_villkor_apply:
            found += [r for v in self.kommun_villkor for r in v.readings]
        found += [r for v in version.villkor for r in v.readings]
        seen: set[str] = set()
        return [r for r in found if not (r.id in seen or seen.add(r.id))]

    def _raw_readings(self) -> list[Reading]:
        out = list(self.readings)
        out += [r for v in self.kommun_villkor for r in v.readings]
        for insats in self.insatser:
            for version in insats.versions:
                out += version.readings
                out += [r for v in version.villkor for r in v.readings]
        return out

    def all_readings(self) -> list[tuple[Reading, str]]:
        """Every reading once with where it sits: 'kommun', 'insats:<id>' or 'villkor:<insats>/<id>'."""
        out: list[tuple[Reading, str]] = [(r, "kommun") for r in self.readings]
        seen = {r.id for r in self.readings}
        for v in self.kommun_villkor:
            for r in v.readings:
                if r.id not in seen:
                    seen.add(r.id)
                    out.append((r, f"kommun_villkor:{v.id}"))
        for insats in self.insatser:
            for version in insats.versions:
                for r in version.readings:
                    if r.id not in seen:
                        seen.add(r.id)
                        out.append((r, f"insats:{insats.id}"))
                for v in version.villkor:
                    for r in v.readings:
                        if r.id not in seen:
                            seen.add(r.id)
                            out.append((r, f"villkor:{insats.id}/{v.id}"))
        return out

    def insats(self, insats_id: str) -> Insats | None:
        """The insats with this id, or None."""
        return next((i for i in self.insatser if i.id == insats_id), None)
