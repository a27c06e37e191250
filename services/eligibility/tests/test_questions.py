"""Issue 11 (3): the questions the API returns are enough to decide every insats of the catalogue.

For every insats of the four catalogues, answering every returned question "yes" (or with a valid
value: an age inside the range the question gives, a guardian who consents, an earlier insats
that ended on the request day) gives a decision other than needs_facts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iub_contracts.catalog import FactVillkor, leaf_villkor
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.decision import Decision, Outcome
from iub_contracts.facts import ApplicantFacts
from iub_contracts.questions import Question, allowed_fact_keys, questions_for, unknown_fact_keys
from iub_eligibility.domain.decide import decide

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "catalog")
ALL = [
    (k.kommun, i.id, v)
    for k in CATALOG.kommuner.values()
    for i in k.insatser
    for v in i.versions
]


def answer_yes(questions: list[Question], on: dt.date) -> ApplicantFacts:
    """Facts answering every question yes or with a valid value."""
    data: dict = {"other_facts": {}}
    for q in questions:
        if q.answer_type == "boolean":
            if q.key.startswith("other_facts."):
                data["other_facts"][q.key.removeprefix("other_facts.")] = True
            else:
                data[q.key] = True
        elif q.answer_type == "age":
            low = q.min_value if q.min_value is not None else 30
            data["stated_age"] = min(low, q.max_value) if q.max_value is not None else low
        elif q.answer_type == "legal_gender":
            data["legal_gender"] = q.choices[0]
        elif q.answer_type == "previous_insats":
            data.setdefault("previous_insatser", []).append({"ref": q.ref, "ended_on": on})
        elif q.answer_type == "current_insats":
            data.setdefault("current_insatser", []).append(q.ref)
        elif q.answer_type == "guardians":
            data["guardians"] = [{"label": "vårdnadshavare 1", "consent": True}]
        else:  # pragma: no cover - a new answer type must be answered here
            raise AssertionError(q.answer_type)
    return ApplicantFacts.model_validate(data)


def test_the_catalogue_has_96_insatser() -> None:
    assert len({(k, i) for k, i, _ in ALL}) == 96


@pytest.mark.parametrize(("kommun", "insats_id", "version"), ALL, ids=[f"{k}/{i}" for k, i, _ in ALL])
def test_answering_every_question_yes_never_leaves_needs_facts(kommun, insats_id, version) -> None:
    kc = CATALOG.kommuner[kommun]
    on = version.valid_from
    questions = questions_for(kc, version)
    facts = answer_yes(questions, on)
    result = decide(CATALOG, kommun, insats_id, facts, on)
    assert isinstance(result, Decision)
    assert result.outcome is not Outcome.NEEDS_FACTS, result.summary
    # and every fact sent is one a question asked for (nothing would be refused at intake)
    allowed = allowed_fact_keys(kc, version)
    assert unknown_fact_keys(facts.model_dump(exclude_none=True), allowed) == []


@pytest.mark.parametrize(("kommun", "insats_id", "version"), ALL, ids=[f"{k}/{i}" for k, i, _ in ALL])
def test_every_villkor_has_a_question_in_three_languages(kommun, insats_id, version) -> None:
    kc = CATALOG.kommuner[kommun]
    questions = questions_for(kc, version)
    served = {s.id for q in questions for s in q.serves}
    villkor = [*(kc.kommun_villkor if version.kommun_villkor_apply else []), *version.villkor]
    assert {v.id for v in villkor} <= served
    for q in questions:
        text = q.question
        assert text.sv and text.en and text.sv_lattlast
        assert q.confirm_by
    for v in leaf_villkor(villkor):
        if isinstance(v, FactVillkor):  # the catalogue gives each yes/no question in all three
            assert v.question_en and v.question_lattlast, v.id


def test_questions_name_their_villkor_and_consent_rule() -> None:
    kc = CATALOG.kommuner["sala"]
    qs = questions_for(kc, kc.insats("medling").versions[0])
    by_key = {q.key: q for q in qs}
    assert set(by_key) == {
        "folkbokford_i_kommunen",
        "other_facts.garningspersonen_har_fyllt_12_ar",
        "stated_age",
        "guardians",
    }
    assert by_key["folkbokford_i_kommunen"].serves[0].scope == "kommun"
    assert by_key["guardians"].serves[0].kind == "consent"
    assert by_key["guardians"].only_if_age_below == 18
    assert "samtliga vårdnadshavares" in by_key["guardians"].serves[0].text


def test_any_of_questions_name_the_option() -> None:
    kc = CATALOG.kommuner["mellerud"]
    qs = questions_for(kc, kc.insats("aktivitetshusen-lotsen").versions[0])
    keys = [q.key for q in qs]
    assert "bosatt_eller_vistas_i_kommunen" in keys
    assert "other_facts.bosatt_eller_vistas_i_bengtsfors" in keys
    options = {q.serves[0].option for q in qs if q.serves[0].kind == "villkor"}
    assert options == {"bosatt-eller-vistas-mellerud", "bosatt-eller-vistas-bengtsfors"}
