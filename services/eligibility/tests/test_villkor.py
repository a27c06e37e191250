"""Each villkor kind: met, not met, unknown — unknown facts are never guessed."""

from __future__ import annotations

import datetime as dt

import pytest

from iub_contracts.catalog import (
    AgeVillkor,
    AnyOfVillkor,
    BosattVillkor,
    CurrentlyHasVillkor,
    FactVillkor,
    FolkbokfordVillkor,
    HasHadInsatsVillkor,
    LegalGenderVillkor,
    PlacedVillkor,
    SourceRef,
)
from iub_contracts.decision import VillkorStatus
from iub_contracts.facts import ApplicantFacts, PreviousInsats
from iub_eligibility.domain.villkor import evaluate_villkor, evaluate_villkor_until

D = dt.date
ON = D(2026, 3, 4)  # a Wednesday
SRC = SourceRef(file="test.txt", section="1", quote="Villkor")
COMMON = {"text": "Villkoret", "confirm_by": ["ID-handling"], "source": SRC}
MET, NOT_MET, UNKNOWN = VillkorStatus.MET, VillkorStatus.NOT_MET, VillkorStatus.UNKNOWN

AGE_15_UP = AgeVillkor(id="alder", min_years=15, **COMMON)
AGE_18_21 = AgeVillkor(id="alder", min_years=18, max_years=21, **COMMON)
AGE_MAX_12 = AgeVillkor(id="alder", max_years=12, **COMMON)
FOLKBOKFORD = FolkbokfordVillkor(id="folkbokford", **COMMON)
CHILD_FOLKBOKFORT = FolkbokfordVillkor(id="barn-folkbokfort", subject="child", **COMMON)
AKUT = FolkbokfordVillkor(id="folkbokford", without_it_until_next_weekday=True, **COMMON)
BOSATT = BosattVillkor(id="bosatt", **COMMON)
KVINNA = LegalGenderVillkor(id="kvinna", gender="kvinna", **COMMON)
BOSTAD_FORST = HasHadInsatsVillkor(
    id="bostad-forst", insats_ref="bostad-forst", insats_name="Bostad först", **COMMON
)
INOM_ETT_AR = HasHadInsatsVillkor(
    id="inom-ett-ar",
    insats_ref="cra",
    insats_name="CRA-behandling",
    ended_within_days=365,
    **COMMON,
)
CRA_BEHANDLARE = CurrentlyHasVillkor(
    id="cra-behandlare", ref="cra-behandlare", name="en CRA-behandlare", **COMMON
)
PLACERAD = PlacedVillkor(id="placerad", **COMMON)
PLACERAD_AV_ELLER_I = PlacedVillkor(id="placerad", by_or_in=["by", "in"], **COMMON)
BENGTSFORS = FactVillkor(
    id="bengtsfors", fact="bosatt_i_bengtsfors", question="Bor du i Bengtsfors?", **COMMON
)
MELLERUD_ELLER_BENGTSFORS = AnyOfVillkor(id="mellerud-bengtsfors", options=[BOSATT, BENGTSFORS], **COMMON)
HYRESKONTRAKT = FactVillkor(
    id="hyreskontrakt", fact="har_hyreskontrakt", question="Har du ett hyreskontrakt?", **COMMON
)

F = ApplicantFacts


def _prev(ref: str, ended_on: dt.date | None) -> F:
    return F(previous_insatser=[PreviousInsats(ref=ref, ended_on=ended_on)])


CASES = [
    # age
    ("age 15 and up, aged 15", AGE_15_UP, F(stated_age=15), MET),
    ("age 15 and up, aged 14", AGE_15_UP, F(stated_age=14), NOT_MET),
    ("age 15 and up, age unknown", AGE_15_UP, F(), UNKNOWN),
    ("age 18-21, aged 21 is inside", AGE_18_21, F(stated_age=21), MET),
    ("age 18-21, aged 22 is outside", AGE_18_21, F(stated_age=22), NOT_MET),
    ("age at most 12, aged 12", AGE_MAX_12, F(stated_age=12), MET),
    ("age at most 12, aged 13", AGE_MAX_12, F(stated_age=13), NOT_MET),
    ("age from personnummer on the birthday", AGE_15_UP, F(personnummer="201103041234"), MET),
    ("age from personnummer day before", AGE_15_UP, F(personnummer="201103051234"), NOT_MET),
    # folkbokförd
    ("folkbokförd yes", FOLKBOKFORD, F(folkbokford_i_kommunen=True), MET),
    ("folkbokförd no", FOLKBOKFORD, F(folkbokford_i_kommunen=False), NOT_MET),
    ("folkbokförd unknown", FOLKBOKFORD, F(), UNKNOWN),
    (
        "folkbokförd ignores the child's registration",
        FOLKBOKFORD,
        F(barnet_folkbokfort_i_kommunen=True),
        UNKNOWN,
    ),
    ("child folkbokfört yes", CHILD_FOLKBOKFORT, F(barnet_folkbokfort_i_kommunen=True), MET),
    ("child folkbokfört no", CHILD_FOLKBOKFORT, F(barnet_folkbokfort_i_kommunen=False), NOT_MET),
    (
        "child folkbokfört reads the child, not the applicant",
        CHILD_FOLKBOKFORT,
        F(folkbokford_i_kommunen=True),
        UNKNOWN,
    ),
    ("akutboende folkbokförd", AKUT, F(folkbokford_i_kommunen=True), MET),
    ("akutboende not folkbokförd is met for now", AKUT, F(folkbokford_i_kommunen=False), MET),
    # 4.1.1: "samt en natt, eventuellt till nästkommande vardag, för personer som inte är
    # folkbokförda": folkbokföring not known yet is treated as not folkbokförd, never as needs_facts
    ("akutboende unknown is met for now", AKUT, F(), MET),
    # bosatt eller vistas
    ("bosatt yes", BOSATT, F(bosatt_eller_vistas_i_kommunen=True), MET),
    ("bosatt no", BOSATT, F(bosatt_eller_vistas_i_kommunen=False), NOT_MET),
    ("bosatt unknown", BOSATT, F(), UNKNOWN),
    ("bosatt is not folkbokförd", BOSATT, F(folkbokford_i_kommunen=True), UNKNOWN),
    # legal gender
    ("kvinna yes", KVINNA, F(legal_gender="kvinna"), MET),
    ("kvinna no", KVINNA, F(legal_gender="man"), NOT_MET),
    ("kvinna unknown", KVINNA, F(), UNKNOWN),
    ("kvinna from personnummer", KVINNA, F(personnummer="199001011248"), MET),
    ("man from personnummer", KVINNA, F(personnummer="199001011238"), NOT_MET),
    (
        "stated gender wins over personnummer",
        KVINNA,
        F(legal_gender="kvinna", personnummer="199001011238"),
        MET,
    ),
    # has had insats
    ("has had bostad först", BOSTAD_FORST, _prev("bostad-forst", D(2020, 1, 1)), MET),
    ("has had bostad först ongoing", BOSTAD_FORST, _prev("bostad-forst", None), MET),
    ("has had another insats", BOSTAD_FORST, _prev("annat", None), NOT_MET),
    ("has had nothing", BOSTAD_FORST, F(previous_insatser=[]), NOT_MET),
    ("has had unknown", BOSTAD_FORST, F(), UNKNOWN),
    ("ended 365 days ago", INOM_ETT_AR, _prev("cra", ON - dt.timedelta(days=365)), MET),
    ("ended 366 days ago", INOM_ETT_AR, _prev("cra", ON - dt.timedelta(days=366)), NOT_MET),
    ("ended today", INOM_ETT_AR, _prev("cra", ON), MET),
    ("ends after the date", INOM_ETT_AR, _prev("cra", ON + dt.timedelta(days=30)), MET),
    ("window insats ongoing", INOM_ETT_AR, _prev("cra", None), MET),
    (
        "one old and one recent period",
        INOM_ETT_AR,
        F(
            previous_insatser=[
                PreviousInsats(ref="cra", ended_on=D(2020, 1, 1)),
                PreviousInsats(ref="cra", ended_on=D(2025, 12, 1)),
            ]
        ),
        MET,
    ),
    ("window unknown", INOM_ETT_AR, F(), UNKNOWN),
    # currently has
    ("has a CRA-behandlare", CRA_BEHANDLARE, F(current_insatser=["cra-behandlare"]), MET),
    ("has another treater", CRA_BEHANDLARE, F(current_insatser=["annan"]), NOT_MET),
    ("has no treater", CRA_BEHANDLARE, F(current_insatser=[]), NOT_MET),
    ("treater unknown", CRA_BEHANDLARE, F(), UNKNOWN),
    # placed outside home
    ("placed yes", PLACERAD, F(placerad_av_kommunen=True), MET),
    ("placed no", PLACERAD, F(placerad_av_kommunen=False), NOT_MET),
    ("placed unknown", PLACERAD, F(), UNKNOWN),
    # Östersund, Trädet 4.4.6: placed BY the kommun or IN the kommun by another kommun
    ("placed in the kommun by another", PLACERAD_AV_ELLER_I, F(placerad_i_kommunen=True), MET),
    ("placed by the kommun elsewhere", PLACERAD_AV_ELLER_I, F(placerad_av_kommunen=True), MET),
    (
        "placed neither by nor in",
        PLACERAD_AV_ELLER_I,
        F(placerad_av_kommunen=False, placerad_i_kommunen=False),
        NOT_MET,
    ),
    ("placed not by, in unknown", PLACERAD_AV_ELLER_I, F(placerad_av_kommunen=False), UNKNOWN),
    ("only 'by' ignores 'in'", PLACERAD, F(placerad_av_kommunen=False, placerad_i_kommunen=True), NOT_MET),
    # any_of (Mellerud, Lotsen 7.2.1: "Melleruds / Bengtsfors kommun")
    ("any_of first met", MELLERUD_ELLER_BENGTSFORS, F(bosatt_eller_vistas_i_kommunen=True), MET),
    (
        "any_of second met",
        MELLERUD_ELLER_BENGTSFORS,
        F(bosatt_eller_vistas_i_kommunen=False, other_facts={"bosatt_i_bengtsfors": True}),
        MET,
    ),
    (
        "any_of none met",
        MELLERUD_ELLER_BENGTSFORS,
        F(bosatt_eller_vistas_i_kommunen=False, other_facts={"bosatt_i_bengtsfors": False}),
        NOT_MET,
    ),
    ("any_of one unknown", MELLERUD_ELLER_BENGTSFORS, F(bosatt_eller_vistas_i_kommunen=False), UNKNOWN),
    # fact
    ("fact yes", HYRESKONTRAKT, F(other_facts={"har_hyreskontrakt": True}), MET),
    ("fact no", HYRESKONTRAKT, F(other_facts={"har_hyreskontrakt": False}), NOT_MET),
    ("fact unknown", HYRESKONTRAKT, F(other_facts={"annat": True}), UNKNOWN),
]


@pytest.mark.parametrize(
    ("villkor", "facts", "expected"),
    [pytest.param(v, f, s, id=name) for name, v, f, s in CASES],
)
def test_each_villkor_kind_is_met_not_met_or_unknown(villkor, facts, expected) -> None:
    result = evaluate_villkor(villkor, facts, ON, "insats")
    assert result.status is expected
    assert result.kind == villkor.kind
    assert result.villkor_id == villkor.id
    assert result.explanation


@pytest.mark.parametrize(
    ("villkor", "facts"),
    [pytest.param(v, f, id=name) for name, v, f, _ in CASES],
)
def test_a_result_carries_the_source_confirm_by_and_scope(villkor, facts) -> None:
    result = evaluate_villkor(villkor, facts, ON, "kommun")
    assert result.source == SRC
    assert result.confirm_by == ["ID-handling"]
    assert result.scope == "kommun"


@pytest.mark.parametrize(
    ("on", "facts", "valid_until"),
    [
        pytest.param(
            D(2026, 3, 6),
            F(folkbokford_i_kommunen=False),
            D(2026, 3, 9),
            id="not folkbokförd on a Friday: until Monday",
        ),
        pytest.param(
            D(2026, 4, 2),
            F(folkbokford_i_kommunen=False),
            D(2026, 4, 7),
            id="not folkbokförd on Maundy Thursday: until Tuesday after Easter",
        ),
        pytest.param(
            D(2026, 3, 6), F(folkbokford_i_kommunen=True), None, id="folkbokförd: no time limit"
        ),
        pytest.param(D(2026, 3, 6), F(), D(2026, 3, 9), id="unknown: until the next weekday"),
    ],
)
def test_without_folkbokforing_the_villkor_holds_only_until_the_next_weekday(
    on: dt.date, facts: ApplicantFacts, valid_until: dt.date | None
) -> None:
    result, until = evaluate_villkor_until(AKUT, facts, on, "insats")
    assert until == valid_until
    if valid_until is not None:
        assert valid_until.isoformat() in result.explanation


def test_an_ordinary_folkbokford_villkor_has_no_time_limit() -> None:
    result, until = evaluate_villkor_until(
        FOLKBOKFORD, F(folkbokford_i_kommunen=False), ON, "insats"
    )
    assert result.status is NOT_MET and until is None


@pytest.mark.parametrize(
    ("villkor", "facts"),
    [pytest.param(v, f, id=name) for name, v, f, _ in CASES],
)
def test_explanations_are_swedish_and_hold_no_personal_data(villkor, facts) -> None:
    text = evaluate_villkor(villkor, facts, ON, "insats").explanation
    assert text[0].isupper() and text.endswith(".")
    if facts.personnummer:
        assert facts.personnummer not in text
