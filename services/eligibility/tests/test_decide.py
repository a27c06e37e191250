"""The decision: versions by date, kommun villkor, consent, precedence and valid_until."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iub_contracts.catalog import (
    AgeVillkor,
    BosattVillkor,
    ConsentPolicy,
    Contact,
    CurrentlyHasVillkor,
    Documentation,
    ExternalInsats,
    FactVillkor,
    FolkbokfordVillkor,
    HasHadInsatsVillkor,
    Insats,
    InsatsVersion,
    KommunCatalog,
    LegalGenderVillkor,
    PlacedVillkor,
    SourceRef,
    leaf_villkor,
)
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import (
    RIGHT_TO_APPLY,
    ConsentState,
    Decision,
    DecisionError,
    DecisionErrorCode,
    Outcome,
    VillkorStatus,
)
from iub_contracts.facts import ApplicantFacts, Guardian, PreviousInsats
from iub_eligibility.domain.decide import decide
from iub_eligibility.domain.villkor import evaluate_villkor

D = dt.date
SRC = SourceRef(file="testby.txt", section="1")
ON = D(2026, 3, 4)  # Wednesday
FRIDAY = D(2026, 3, 6)


def common(text: str, *confirm_by: str) -> dict:
    return {"text": text, "confirm_by": list(confirm_by) or ["ID-handling"], "source": SRC}


FOLKBOKFORD = FolkbokfordVillkor(id="folkbokford", **common("Folkbokförd i Testby", "personbevis"))
AKUT_FOLKBOKFORD = FolkbokfordVillkor(
    id="folkbokford-akut",
    without_it_until_next_weekday=True,
    **common("Folkbokförd för längre tid än till nästkommande vardag", "personbevis"),
)


def version(**kw) -> InsatsVersion:
    base = {
        "name": "Insats",
        "unit": "Öppenvården",
        "description": "Beskrivning",
        "malgrupp": "Alla som vill",
        "documentation": Documentation(level="individual", source=SRC),
        "topic": "stod",
        "source": SRC,
    }
    base.update(kw)
    return InsatsVersion(**base)


def build_catalog(*insatser: Insats, kommun_villkor=(FOLKBOKFORD,)) -> Catalog:
    kc = KommunCatalog(
        kommun="testby",
        name="Testby kommun",
        source_file="testby.txt",
        contact=Contact(how_to_apply="Kontakta Kundcenter."),
        kommun_villkor=list(kommun_villkor),
        insatser=list(insatser),
        external_insatser=[  # every history reference of these tests declared external (validate fails otherwise)
            ExternalInsats(id=r, name=r, why="test", source=SRC)
            for r in sorted({r for i in insatser for ver in i.versions
                             for v in leaf_villkor([*ver.villkor, *kommun_villkor])
                             if isinstance(v, HasHadInsatsVillkor) for r in v.referenced_ids}
                            - {i.id for i in insatser})],
    )
    return Catalog(kommuner={"testby": kc}, version="sha256:test")


SAMTAL = Insats(
    id="samtal",
    versions=[
        version(
            name="Samtal (2025)",
            valid_to=D(2025, 12, 31),
            villkor=[AgeVillkor(id="alder", min_years=18, **common("18 år och uppåt"))],
        ),
        version(
            name="Samtal",
            valid_from=D(2026, 1, 1),
            villkor=[AgeVillkor(id="alder", min_years=15, **common("15 år och uppåt"))],
            consent=ConsentPolicy(age_15_17="none", suitable_15_17_without_consent=True),
            documentation=Documentation(level="advisory", source=SRC),
            anonymous_allowed=True,
        ),
    ],
)
PROGRAM = Insats(
    id="program",
    versions=[
        version(
            name="Föräldraprogram",
            villkor=[
                AgeVillkor(id="alder", max_years=17, **common("Barn under 18 år")),
                BosattVillkor(id="bosatt", **common("Bosatt i Testby", "hyreskontrakt")),
            ],
            consent=ConsentPolicy(under_15="all_guardians", age_15_17="one_guardian"),
        )
    ],
)
AKUTBOENDE = Insats(
    id="akutboende",
    versions=[
        version(
            name="Akutboende",
            villkor=[
                AgeVillkor(id="alder", min_years=18, **common("Har fyllt 18 år")),
                AKUT_FOLKBOKFORD,
            ],
            kommun_villkor_apply=False,
            kommun_villkor_exception="Akutboendet har ett eget villkor om folkbokföring.",
        )
    ],
)
NEDLAGD = Insats(id="nedlagd", versions=[version(name="Nedlagd", valid_to=D(2025, 12, 31))])
CATALOG = build_catalog(SAMTAL, PROGRAM, AKUTBOENDE, NEDLAGD)

F = ApplicantFacts
YES, ASKED = Guardian(label="vh 1", consent=True), Guardian(label="vh 2", consent=None)


def decided(insats: str, facts: ApplicantFacts, on: dt.date = ON) -> Decision:
    result = decide(CATALOG, "testby", insats, facts, on)
    assert isinstance(result, Decision), result
    return result


PRECEDENCE = [
    ("everything met", "samtal", F(stated_age=30, folkbokford_i_kommunen=True), Outcome.ELIGIBLE),
    (
        "a villkor not met",
        "samtal",
        F(stated_age=30, folkbokford_i_kommunen=False),
        Outcome.NOT_ELIGIBLE,
    ),
    ("not met wins over unknown", "samtal", F(stated_age=12), Outcome.NOT_ELIGIBLE),
    ("unknown fact", "samtal", F(stated_age=30), Outcome.NEEDS_FACTS),
    ("unknown age", "samtal", F(folkbokford_i_kommunen=True), Outcome.NEEDS_FACTS),
    (
        "not met wins over missing consent",
        "program",
        F(stated_age=10, folkbokford_i_kommunen=True, bosatt_eller_vistas_i_kommunen=False),
        Outcome.NOT_ELIGIBLE,
    ),
    (
        "unknown wins over missing consent",
        "program",
        F(stated_age=10, folkbokford_i_kommunen=True, guardians=[YES, ASKED]),
        Outcome.NEEDS_FACTS,
    ),
    (
        "consent missing",
        "program",
        F(
            stated_age=10,
            folkbokford_i_kommunen=True,
            bosatt_eller_vistas_i_kommunen=True,
            guardians=[YES, ASKED],
        ),
        Outcome.NEEDS_CONSENT,
    ),
    (
        "consent given",
        "program",
        F(
            stated_age=16,
            folkbokford_i_kommunen=True,
            bosatt_eller_vistas_i_kommunen=True,
            guardians=[YES, ASKED],
        ),
        Outcome.ELIGIBLE,
    ),
    (
        "15-17 suitable without consent",
        "samtal",
        F(stated_age=16, folkbokford_i_kommunen=True),
        Outcome.ELIGIBLE,
    ),
]


@pytest.mark.parametrize(
    ("insats", "facts", "expected"), [pytest.param(*rest, id=name) for name, *rest in PRECEDENCE]
)
def test_the_outcome_follows_the_precedence(insats, facts, expected) -> None:
    assert decided(insats, facts).outcome is expected


def test_consent_unknown_because_age_is_unknown_needs_facts() -> None:
    d = decided("akutboende", F(folkbokford_i_kommunen=True, stated_age=None))
    assert d.outcome is Outcome.NEEDS_FACTS
    assert d.consent.state is ConsentState.UNKNOWN


def test_an_unknown_age_with_all_villkor_met_still_needs_facts_for_consent() -> None:
    catalog = build_catalog(
        Insats(id="fri", versions=[version(name="Fri", villkor=[])]), kommun_villkor=()
    )
    d = decide(catalog, "testby", "fri", F(), ON)
    assert d.outcome is Outcome.NEEDS_FACTS and d.consent.state is ConsentState.UNKNOWN


@pytest.mark.parametrize(
    ("on", "name", "expected"),
    [
        pytest.param(D(2025, 7, 1), "Samtal (2025)", Outcome.NOT_ELIGIBLE, id="first day of v1"),
        pytest.param(D(2025, 12, 31), "Samtal (2025)", Outcome.NOT_ELIGIBLE, id="last day v1"),
        pytest.param(D(2026, 1, 1), "Samtal", Outcome.ELIGIBLE, id="first day of v2"),
    ],
)
def test_the_version_in_force_on_the_date_is_used(on, name, expected) -> None:
    d = decided("samtal", F(stated_age=16, folkbokford_i_kommunen=True), on)
    assert d.insats_name == name
    assert d.outcome is expected
    assert d.decided_on == on


@pytest.mark.parametrize(
    ("kommun", "insats", "on", "code"),
    [
        pytest.param("okand", "samtal", ON, DecisionErrorCode.UNKNOWN_KOMMUN, id="unknown kommun"),
        pytest.param("testby", "okand", ON, DecisionErrorCode.UNKNOWN_INSATS, id="unknown insats"),
        pytest.param("testby", "nedlagd", ON, DecisionErrorCode.NOT_IN_FORCE, id="ended insats"),
        pytest.param(
            "testby",
            "samtal",
            D(2025, 6, 30),
            DecisionErrorCode.NOT_IN_FORCE,
            id="before the law was in force",
        ),
    ],
)
def test_no_decision_gives_a_decision_error_without_personal_data(kommun, insats, on, code):
    facts = F(personnummer="199001011234", stated_age=35, folkbokford_i_kommunen=True)
    result = decide(CATALOG, kommun, insats, facts, on)
    assert isinstance(result, DecisionError)
    assert result.code is code
    assert result.catalog_version == "sha256:test"
    assert result.message and "199001011234" not in result.message
    assert "35" not in result.message
    DecisionError.model_validate(result.model_dump())  # a valid contract object


@pytest.mark.parametrize(
    ("on", "facts", "valid_until", "outcome"),
    [
        pytest.param(
            FRIDAY,
            F(stated_age=30, folkbokford_i_kommunen=False),
            D(2026, 3, 9),
            Outcome.ELIGIBLE,
            id="not folkbokförd on a Friday: until Monday",
        ),
        pytest.param(
            D(2026, 4, 2),
            F(stated_age=30, folkbokford_i_kommunen=False),
            D(2026, 4, 7),
            Outcome.ELIGIBLE,
            id="Maundy Thursday: until Tuesday",
        ),
        pytest.param(
            FRIDAY,
            F(stated_age=30, folkbokford_i_kommunen=True),
            None,
            Outcome.ELIGIBLE,
            id="folkbokförd: no limit",
        ),
        pytest.param(
            FRIDAY,
            F(stated_age=16, folkbokford_i_kommunen=False),
            None,
            Outcome.NOT_ELIGIBLE,
            id="not eligible: no limit",
        ),
        pytest.param(
            FRIDAY,
            F(folkbokford_i_kommunen=False),
            D(2026, 3, 9),
            Outcome.NEEDS_FACTS,
            id="needs facts keeps the limit",
        ),
    ],
)
def test_valid_until_comes_from_a_time_limited_villkor(on, facts, valid_until, outcome) -> None:
    d = decided("akutboende", facts, on)
    assert d.outcome is outcome
    assert d.valid_until == valid_until
    if valid_until is not None and outcome is Outcome.ELIGIBLE:
        assert valid_until.isoformat() in d.summary


def test_kommun_villkor_apply_unless_the_insats_opts_out() -> None:
    samtal = decided("samtal", F(stated_age=30, folkbokford_i_kommunen=True))
    assert [(r.villkor_id, r.scope) for r in samtal.villkor] == [
        ("folkbokford", "kommun"),
        ("alder", "insats"),
    ]
    akut = decided("akutboende", F(stated_age=30, folkbokford_i_kommunen=True))
    assert [r.scope for r in akut.villkor] == ["insats", "insats"]


def test_the_checklist_is_every_confirm_by_once_in_order() -> None:
    d = decided("program", F(stated_age=16))
    assert d.checklist == ["personbevis", "ID-handling", "hyreskontrakt"]


def test_documentation_level_legal_basis_and_catalog_version_come_from_the_catalogue() -> None:
    d = decided("samtal", F(stated_age=30, folkbokford_i_kommunen=True))
    assert d.documentation_level.value == "advisory"
    assert d.legal_basis == "14 kap 4 § SoL"
    assert d.catalog_version == "sha256:test"
    assert d.kommun == "testby" and d.insats_id == "samtal"


ALL_FACTS = [pytest.param(f, id=name) for name, _, f, _ in PRECEDENCE]


@pytest.mark.parametrize("insats", ["samtal", "program", "akutboende"])
@pytest.mark.parametrize("facts", ALL_FACTS)
def test_right_to_apply_is_set_if_and_only_if_not_eligible(insats, facts) -> None:
    d = decided(insats, facts)
    if d.outcome is Outcome.ELIGIBLE:
        assert d.right_to_apply is None
    else:
        assert d.right_to_apply == RIGHT_TO_APPLY


@pytest.mark.parametrize("insats", ["samtal", "program", "akutboende"])
@pytest.mark.parametrize("facts", ALL_FACTS)
def test_a_decision_is_a_valid_contract_object_with_a_swedish_summary(insats, facts) -> None:
    d = decided(insats, facts)
    again = Decision.model_validate_json(d.model_dump_json())
    assert again == Decision.model_validate(d.model_dump())
    assert d.summary and d.insats_name in d.summary


# --------------------------------------------------------------------------- properties

guardians = st.lists(
    st.builds(
        Guardian,
        label=st.sampled_from(["vh 1", "vh 2", "vh 3"]),
        consent=st.none() | st.booleans(),
    ),
    max_size=3,
)
maybe_bool = st.none() | st.booleans()
facts_strategy = st.builds(
    ApplicantFacts,
    stated_age=st.none() | st.integers(min_value=0, max_value=100),
    legal_gender=st.none() | st.sampled_from(["kvinna", "man"]),
    folkbokford_i_kommunen=maybe_bool,
    barnet_folkbokfort_i_kommunen=maybe_bool,
    bosatt_eller_vistas_i_kommunen=maybe_bool,
    placerad_av_kommunen=maybe_bool,
    previous_insatser=st.none()
    | st.lists(
        st.builds(
            PreviousInsats,
            ref=st.sampled_from(["bostad-forst", "cra"]),
            ended_on=st.none() | st.dates(min_value=D(2020, 1, 1), max_value=D(2027, 1, 1)),
        ),
        max_size=2,
    ),
    current_insatser=st.none() | st.lists(st.sampled_from(["cra-behandlare", "annan"]), max_size=3),
    other_facts=st.dictionaries(st.sampled_from(["hyreskontrakt", "skolkort"]), st.booleans()),
    guardians=st.none() | guardians,
)
insats_ids = st.sampled_from(["samtal", "program", "akutboende"])
dates = st.dates(min_value=D(2025, 7, 1), max_value=D(2027, 12, 31))


def _with_malgrupp(insats: Insats, text: str) -> Insats:
    return insats.model_copy(
        update={"versions": [v.model_copy(update={"malgrupp": text}) for v in insats.versions]}
    )


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(facts=facts_strategy, insats=insats_ids, on=dates, malgrupp=st.text(max_size=200))
def test_the_outcome_never_depends_on_the_malgrupp_text(facts, insats, on, malgrupp) -> None:
    other = build_catalog(*(_with_malgrupp(i, malgrupp) for i in (SAMTAL, PROGRAM, AKUTBOENDE)))
    other = Catalog(kommuner=other.kommuner, version=CATALOG.version)
    assert decide(other, "testby", insats, facts, on) == decide(
        CATALOG, "testby", insats, facts, on
    )


extra_villkor = st.one_of(
    st.builds(
        AgeVillkor,
        id=st.just("extra"),
        min_years=st.none() | st.integers(0, 60),
        max_years=st.integers(61, 130),
        **{k: st.just(v) for k, v in common("Extra").items()},
    ),
    *(
        st.just(v)
        for v in (
            FolkbokfordVillkor(id="extra", **common("Extra", "personbevis")),
            FolkbokfordVillkor(id="extra", subject="child", **common("Extra")),
            AKUT_FOLKBOKFORD.model_copy(update={"id": "extra"}),
            BosattVillkor(id="extra", **common("Extra")),
            LegalGenderVillkor(id="extra", gender="kvinna", **common("Extra")),
            LegalGenderVillkor(id="extra", gender="man", **common("Extra")),
            HasHadInsatsVillkor(
                id="extra", insats_ref="bostad-forst", insats_name="Bostad först", **common("Extra")
            ),
            HasHadInsatsVillkor(
                id="extra",
                insats_ref="cra",
                insats_name="CRA",
                ended_within_days=365,
                **common("Extra"),
            ),
            CurrentlyHasVillkor(
                id="extra", ref="cra-behandlare", name="en CRA-behandlare", **common("Extra")
            ),
            PlacedVillkor(id="extra", **common("Extra")),
            FactVillkor(
                id="extra", fact="hyreskontrakt", question="Hyreskontrakt?", **common("Extra")
            ),
        )
    ),
)


def _with_villkor(insats: Insats, villkor) -> Insats:
    return insats.model_copy(
        update={
            "versions": [
                v.model_copy(update={"villkor": [*v.villkor, villkor]}) for v in insats.versions
            ]
        }
    )


@settings(
    max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(facts=facts_strategy, insats=insats_ids, on=dates, villkor=extra_villkor)
def test_adding_a_met_villkor_never_turns_eligible_into_not_eligible(
    facts, insats, on, villkor
) -> None:
    if evaluate_villkor(villkor, facts, on, "insats").status is not VillkorStatus.MET:
        return
    before = decided(insats, facts, on)
    by_id = {i.id: i for i in (SAMTAL, PROGRAM, AKUTBOENDE)}
    by_id[insats] = _with_villkor(by_id[insats], villkor)
    after = decide(build_catalog(*by_id.values()), "testby", insats, facts, on)
    assert isinstance(after, Decision)
    if before.outcome is Outcome.ELIGIBLE:
        assert after.outcome is Outcome.ELIGIBLE
    assert after.outcome is before.outcome  # a met villkor changes nothing
