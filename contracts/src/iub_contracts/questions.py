"""The questions the app must ask for one insats: which fact keys, in sv, en and lättläst Swedish.

Derived from the insats version's villkor (and the kommun-wide villkor that apply) and its
consent policy, so the app can render a form without reading the catalogue YAML. The same list
decides which fact keys a request for the insats may carry (``allowed_fact_keys``): a key no
villkor asks about is refused at intake, never silently ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from iub_contracts.catalog import (
    AgeVillkor,
    AnyOfVillkor,
    BosattVillkor,
    ConsentPolicy,
    ConsentRequirement,
    CurrentlyHasVillkor,
    FactVillkor,
    FolkbokfordVillkor,
    HasHadInsatsVillkor,
    InsatsVersion,
    KommunCatalog,
    LegalGenderVillkor,
    PlacedVillkor,
)

# Facts any request may carry whatever the villkor: identity and age (documentation level,
# consent, de-identified statistics under 14 kap 5 §), legal gender (statistics) and guardians.
ALWAYS_ALLOWED = frozenset({"personnummer", "birth_date", "stated_age", "legal_gender", "guardians"})

AnswerType = Literal["boolean", "age", "legal_gender", "previous_insats", "current_insats", "guardians"]


class QuestionText(BaseModel):
    """One question in Swedish, English and lättläst Swedish (keys are the language tags)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    sv: str
    en: str
    sv_lattlast: str = Field(alias="sv-lattlast")


class Serves(BaseModel):
    """The villkor or consent rule an answer is used for."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["villkor", "consent"]
    id: str = Field(description="Villkor id, or 'consent'")
    option: str | None = Field(default=None, description="For an any_of villkor: the option answered")
    scope: Literal["insats", "kommun"] = "insats"
    text: str = Field(description="The villkor or consent rule in plain Swedish")


class Question(BaseModel):
    """One fact the app asks for, how to put the answer into the request's facts, and what it serves."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    key: str = Field(
        description="Where the answer goes in `facts`, e.g. 'folkbokford_i_kommunen' or "
        "'other_facts.hyreskontrakt_i_kommunen'"
    )
    answer_type: AnswerType = Field(
        description="boolean: true/false; age: an integer in `stated_age` (or birth_date/personnummer); "
        "legal_gender: one of `choices`; previous_insats: an item {ref, ended_on} in previous_insatser "
        "(omit the item for no, send [] for none); current_insats: `ref` in current_insatser; "
        "guardians: a list of {label, consent}"
    )
    question: QuestionText
    serves: list[Serves]
    confirm_by: list[str] = Field(description="How the utförare confirms the answer summarily")
    also_accepts: list[str] = Field(default_factory=list, description="Other fact keys that answer it")
    min_value: int | None = Field(default=None, description="age: lowest age that meets every villkor")
    max_value: int | None = Field(default=None, description="age: highest age that meets every villkor")
    choices: list[str] | None = None
    ref: str | None = Field(default=None, description="previous_insats/current_insats: the ref to send")
    ended_within_days: int | None = Field(
        default=None, description="previous_insats: ended at most this many days before the request"
    )
    only_if_age_below: int | None = Field(
        default=None, description="Ask only when the person is younger than this (guardian consent)"
    )


def _t(sv: str, en: str, lattlast: str) -> QuestionText:
    return QuestionText(sv=sv, en=en, sv_lattlast=lattlast)


_CONFIRM_CONSENT = "utföraren registrerar varje vårdnadshavares samtycke (vem och när)"


def _simple(v, kommun: KommunCatalog, scope: str, parent: AnyOfVillkor | None) -> list[Question]:
    name = kommun.name
    serves = [
        Serves(
            kind="villkor",
            id=parent.id if parent else v.id,
            option=v.id if parent else None,
            scope=scope,  # type: ignore[arg-type]
            text=(parent or v).text,
        )
    ]
    confirm = list(v.confirm_by)
    if isinstance(v, AgeVillkor):
        return [
            Question(
                key="stated_age",
                answer_type="age",
                question=_t("Hur gammal är du?", "How old are you?", "Hur många år är du?"),
                serves=serves,
                confirm_by=confirm,
                also_accepts=["birth_date", "personnummer"],
                min_value=v.min_years,
                max_value=v.max_years,
            )
        ]
    if isinstance(v, FolkbokfordVillkor):
        if v.subject == "child":
            text = _t(
                f"Är barnet folkbokfört i {name}?",
                f"Is the child registered as resident (folkbokförd) in {name}?",
                f"Är barnet skrivet i {name}? Det betyder att barnets adress hos Skatteverket är där.",
            )
            key = "barnet_folkbokfort_i_kommunen"
        else:
            text = _t(
                f"Är du folkbokförd i {name}?",
                f"Are you registered as resident (folkbokförd) in {name}?",
                f"Är du skriven i {name}? Det betyder att din adress hos Skatteverket är där.",
            )
            key = "folkbokford_i_kommunen"
        return [Question(key=key, answer_type="boolean", question=text, serves=serves, confirm_by=confirm)]
    if isinstance(v, BosattVillkor):
        return [
            Question(
                key="bosatt_eller_vistas_i_kommunen",
                answer_type="boolean",
                question=_t(
                    f"Är du bosatt eller vistas du stadigvarande i {name}?",
                    f"Do you live or stay permanently in {name}?",
                    f"Bor du eller är du för det mesta i {name}?",
                ),
                serves=serves,
                confirm_by=confirm,
            )
        ]
    if isinstance(v, LegalGenderVillkor):
        return [
            Question(
                key="legal_gender",
                answer_type="legal_gender",
                question=_t(
                    "Vilket är ditt juridiska kön?",
                    "What is your legal gender?",
                    "Vilket kön står i dina papper, till exempel i ditt pass?",
                ),
                serves=serves,
                confirm_by=confirm,
                also_accepts=["personnummer"],
                choices=["kvinna", "man"],
            )
        ]
    if isinstance(v, HasHadInsatsVillkor):
        within = (
            f" (avslutad för högst {v.ended_within_days} dagar sedan)" if v.ended_within_days else ""
        )
        within_en = f" (ended at most {v.ended_within_days} days ago)" if v.ended_within_days else ""
        within_ll = " Säg också när den slutade." if v.ended_within_days else ""
        return [
            Question(
                key="previous_insatser",
                answer_type="previous_insats",
                question=_t(
                    f"Har du haft {v.insats_name}{within}? När avslutades den?",
                    f"Have you had {v.insats_name}{within_en}? When did it end?",
                    f"Har du fått {v.insats_name}?{within_ll}",
                ),
                serves=serves,
                confirm_by=confirm,
                ref=v.stated_ref,
                ended_within_days=v.ended_within_days,
            )
        ]
    if isinstance(v, CurrentlyHasVillkor):
        return [
            Question(
                key="current_insatser",
                answer_type="current_insats",
                question=_t(
                    f"Har du {v.name} just nu?",
                    f"Do you currently have {v.name}?",
                    f"Har du {v.name} nu?",
                ),
                serves=serves,
                confirm_by=confirm,
                ref=v.ref,
            )
        ]
    if isinstance(v, PlacedVillkor):
        out = []
        for way in v.by_or_in:
            if way == "by":
                text = _t(
                    f"Är barnet placerat utanför det egna hemmet av {name}?",
                    f"Has {name} placed the child outside their own home?",
                    f"Bor barnet i ett familjehem eller på ett boende som {name} har ordnat?",
                )
                key = "placerad_av_kommunen"
            else:
                text = _t(
                    f"Är barnet placerat utanför det egna hemmet i {name} (av {name} eller av en annan "
                    "kommun)?",
                    f"Is the child placed outside their own home in {name} (by {name} or by another "
                    "municipality)?",
                    f"Bor barnet i ett familjehem eller på ett boende i {name}?",
                )
                key = "placerad_i_kommunen"
            out.append(
                Question(key=key, answer_type="boolean", question=text, serves=serves, confirm_by=confirm)
            )
        return out
    if isinstance(v, FactVillkor):
        return [
            Question(
                key=f"other_facts.{v.fact}",
                answer_type="boolean",
                question=_t(v.question, v.question_en or v.question, v.question_lattlast or v.question),
                serves=serves,
                confirm_by=confirm,
            )
        ]
    raise ValueError(f"no question for villkor kind {v.kind!r}")


def _consent_needed(policy: ConsentPolicy) -> bool:
    return (
        policy.under_15 is not ConsentRequirement.NONE
        or policy.age_15_17 is not ConsentRequirement.NONE
    )


def _merge(questions: list[Question]) -> list[Question]:
    """One question per key (and ref): serves and confirm_by joined, age ranges intersected."""
    merged: dict[tuple[str, str | None], Question] = {}
    for q in questions:
        k = (q.key, q.ref)
        if k not in merged:
            merged[k] = q
            continue
        old = merged[k]
        lo = [x for x in (old.min_value, q.min_value) if x is not None]
        hi = [x for x in (old.max_value, q.max_value) if x is not None]
        merged[k] = old.model_copy(
            update={
                "serves": [*old.serves, *[s for s in q.serves if s not in old.serves]],
                "confirm_by": [*old.confirm_by, *[c for c in q.confirm_by if c not in old.confirm_by]],
                "min_value": max(lo) if lo else None,
                "max_value": min(hi) if hi else None,
            }
        )
    return list(merged.values())


def questions_for(kommun: KommunCatalog, version: InsatsVersion) -> list[Question]:
    """Every question for one insats version, in the order of its villkor, then consent."""
    scoped = [("kommun", v) for v in (kommun.kommun_villkor if version.kommun_villkor_apply else [])]
    scoped += [("insats", v) for v in version.villkor]
    out: list[Question] = []
    for scope, v in scoped:
        if isinstance(v, AnyOfVillkor):
            for option in v.options:
                out += _simple(option, kommun, scope, v)
        else:
            out += _simple(v, kommun, scope, None)
    policy = version.consent
    if _consent_needed(policy):
        rule = Serves(kind="consent", id="consent", text=_consent_rule(policy))
        out.append(
            Question(
                key="stated_age",
                answer_type="age",
                question=_t("Hur gammal är du?", "How old are you?", "Hur många år är du?"),
                serves=[rule],
                confirm_by=["ID-handling eller uppgift från vårdnadshavare"],
                also_accepts=["birth_date", "personnummer"],
            )
        )
        out.append(
            Question(
                key="guardians",
                answer_type="guardians",
                question=_t(
                    "Vilka är dina vårdnadshavare, och har var och en samtyckt till insatsen?",
                    "Who are your legal guardians, and has each of them consented to the service?",
                    "Vilka vuxna är dina vårdnadshavare? Har de sagt ja till att du får hjälpen?",
                ),
                serves=[rule],
                confirm_by=[_CONFIRM_CONSENT],
                only_if_age_below=18,
            )
        )
    return _merge(out)


def _consent_rule(policy: ConsentPolicy) -> str:
    def need(req: ConsentRequirement) -> str:
        return {
            ConsentRequirement.NONE: "inget samtycke",
            ConsentRequirement.ONE_GUARDIAN: "en vårdnadshavares samtycke",
            ConsentRequirement.ALL_GUARDIANS: "samtliga vårdnadshavares samtycke",
        }[req]

    return f"Under 15 år: {need(policy.under_15)}. 15–17 år: {need(policy.age_15_17)}. Från 18 år: inget samtycke."


class AllowedFacts(BaseModel):
    """The fact keys a request for one insats may carry."""

    model_config = ConfigDict(frozen=True)

    top_level: frozenset[str]
    other_facts: frozenset[str]
    previous_refs: frozenset[str]
    current_refs: frozenset[str]


def allowed_fact_keys(kommun: KommunCatalog, version: InsatsVersion) -> AllowedFacts:
    """Which fact keys some villkor (or consent) of this insats version asks about."""
    top: set[str] = set(ALWAYS_ALLOWED)
    other: set[str] = set()
    prev: set[str] = set()
    cur: set[str] = set()
    for q in questions_for(kommun, version):
        if q.key.startswith("other_facts."):
            other.add(q.key.removeprefix("other_facts."))
            top.add("other_facts")
        else:
            top.add(q.key)
        if q.answer_type == "previous_insats" and q.ref:
            prev.add(q.ref)
        if q.answer_type == "current_insats" and q.ref:
            cur.add(q.ref)
    return AllowedFacts(
        top_level=frozenset(top),
        other_facts=frozenset(other),
        previous_refs=frozenset(prev),
        current_refs=frozenset(cur),
    )


def unknown_fact_keys(facts: dict, allowed: AllowedFacts) -> list[str]:
    """Paths of given facts no villkor of the insats asks about (names only, never values).

    ``facts`` is the request's facts as a dict with unset keys left out or None/empty.
    """
    bad: list[str] = []
    for key, value in facts.items():
        if value is None or (key == "other_facts" and not value):
            continue
        if key == "other_facts":
            bad += [f"facts.other_facts.{k}" for k in value if k not in allowed.other_facts]
        elif key not in allowed.top_level:
            bad.append(f"facts.{key}")
        elif key == "previous_insatser":
            bad += [
                f"facts.previous_insatser[{i}].ref"
                for i, p in enumerate(value)
                if (p.get("ref") if isinstance(p, dict) else p.ref) not in allowed.previous_refs
            ]
        elif key == "current_insatser":
            bad += [f"facts.current_insatser[{i}]" for i, c in enumerate(value) if c not in allowed.current_refs]
    return bad
