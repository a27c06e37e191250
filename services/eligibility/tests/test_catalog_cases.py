"""The real catalogue (catalog/*.yaml) against the case files in tests/cases/<kommun>.yaml.

Case file format: a YAML list of {name, insats, at, facts, expect: {outcome, consent_state?,
missing_from?, valid_until?}, source: {section, quote}}; the kommun is the file's stem.
``source`` is accepted at the case level or inside ``expect``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from iub_contracts.catalog import (
    AgeVillkor,
    FolkbokfordVillkor,
    HasHadInsatsVillkor,
    LegalGenderVillkor,
    Villkor,
)
from iub_contracts.catalog_loader import Catalog, CatalogError, load_catalog
from iub_contracts.decision import Decision, DecisionError, Outcome
from iub_contracts.facts import ApplicantFacts, PreviousInsats
from iub_eligibility.domain.decide import decide

REPO = Path(__file__).resolve().parents[3]
CATALOG_DIR = REPO / "catalog"
CASES_DIR = Path(__file__).resolve().parent / "cases"
MIN_CASES_PER_FILE = 5

try:
    CATALOG: Catalog | None = load_catalog(CATALOG_DIR)
    CATALOG_PROBLEMS: list[str] = []
except CatalogError as exc:
    CATALOG, CATALOG_PROBLEMS = None, exc.problems

KOMMUNER = sorted(CATALOG.kommuner) if CATALOG else []


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _load_cases() -> dict[str, list[dict]]:
    cases: dict[str, list[dict]] = {}
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        cases[path.stem] = data if isinstance(data, list) else []
    return cases


CASES = _load_cases()


def _require_catalog() -> Catalog:
    if CATALOG is None:
        pytest.fail("catalog/ is invalid:\n" + "\n".join(CATALOG_PROBLEMS))
    return CATALOG


def test_the_catalogue_loads() -> None:
    catalog = _require_catalog()
    assert catalog.kommuner


@pytest.mark.parametrize(
    ("kommun", "case"),
    [
        pytest.param(kommun, case, id=f"{kommun}: {case.get('name', '?')}")
        for kommun, cases in CASES.items()
        for case in cases
    ],
)
def test_case(kommun: str, case: dict) -> None:
    catalog = _require_catalog()
    expect = case["expect"]
    source = case.get("source") or expect.get("source") or {}
    where = f"[{kommun} {source.get('section', '?')}: {source.get('quote', '')}]"
    facts = ApplicantFacts.model_validate(case.get("facts") or {})
    result = decide(catalog, kommun, case["insats"], facts, _as_date(case["at"]))
    if isinstance(result, DecisionError):
        assert expect["outcome"] == result.code.value, f"{result.message} {where}"
        return
    explained = " | ".join(f"{r.villkor_id}={r.status.value}" for r in result.villkor)
    detail = f"{where}\n{result.summary}\nvillkor: {explained}\nconsent: {result.consent}"
    assert result.outcome.value == expect["outcome"], detail
    if "consent_state" in expect:
        assert result.consent.state.value == expect["consent_state"], detail
    if "missing_from" in expect:
        assert result.consent.missing_from == list(expect["missing_from"]), detail
    if "valid_until" in expect:
        wanted = expect["valid_until"]
        assert result.valid_until == (None if wanted is None else _as_date(wanted)), detail


@pytest.mark.parametrize("kommun", KOMMUNER)
def test_every_catalogue_file_has_at_least_five_cases(kommun: str) -> None:
    if kommun not in CASES:
        pytest.fail(f"no case file tests/cases/{kommun}.yaml", pytrace=False)
    count = len(CASES[kommun])
    assert count >= MIN_CASES_PER_FILE, f"tests/cases/{kommun}.yaml has {count} cases"


@pytest.mark.parametrize("kommun", sorted(CASES))
def test_every_case_file_names_a_kommun_in_the_catalogue(kommun: str) -> None:
    assert kommun in _require_catalog().kommuner


# --------------------------------------------------------------------------- generated


def _facts_meeting(villkor: list[Villkor], on: dt.date) -> ApplicantFacts | None:
    """Adult facts meeting every villkor and nothing else (no målgrupp), or None if impossible."""
    lo, hi = 18, 130  # an adult: no guardian consent at any policy
    gender: str | None = None
    fields: dict = {"other_facts": {"tillhor_malgrupp": False}}  # outside the målgrupp
    previous: list[PreviousInsats] = []
    current: list[str] = []
    # an any_of villkor is met by its first option
    for v in [w.options[0] if w.kind == "any_of" else w for w in villkor]:
        if isinstance(v, AgeVillkor):
            lo = max(lo, v.min_years or 0)
            hi = min(hi, 130 if v.max_years is None else v.max_years)
        elif isinstance(v, LegalGenderVillkor):
            if gender not in (None, v.gender):
                return None
            gender = v.gender
        elif isinstance(v, FolkbokfordVillkor):
            key = (
                "barnet_folkbokfort_i_kommunen"
                if v.subject == "child"
                else "folkbokford_i_kommunen"
            )
            fields[key] = True
        elif v.kind == "bosatt_eller_vistas":
            fields["bosatt_eller_vistas_i_kommunen"] = True
        elif isinstance(v, HasHadInsatsVillkor):
            previous.append(PreviousInsats(ref=v.stated_ref, ended_on=on))
        elif v.kind == "currently_has":
            current.append(v.ref)
        elif v.kind == "placed_outside_home":
            fields["placerad_av_kommunen"] = True
        elif v.kind == "fact":
            fields["other_facts"][v.fact] = True
    if lo > hi:
        return None
    return ApplicantFacts(
        stated_age=lo,
        legal_gender=gender,
        previous_insatser=previous,
        current_insatser=current,
        **fields,
    )


@pytest.mark.parametrize("kommun", KOMMUNER)
def test_an_adult_outside_the_malgrupp_meeting_the_villkor_is_eligible(kommun: str) -> None:
    catalog = _require_catalog()
    kc = catalog.kommuner[kommun]
    checked, failures = 0, []
    for insats in kc.insatser:
        for version in insats.versions:
            on = version.valid_from
            villkor = [
                *(kc.kommun_villkor if version.kommun_villkor_apply else []),
                *version.villkor,
            ]
            facts = _facts_meeting(villkor, on)
            if facts is None:
                continue  # no adult can meet these villkor (e.g. an insats for children)
            result = decide(catalog, kommun, insats.id, facts, on)
            checked += 1
            if not isinstance(result, Decision) or result.outcome is not Outcome.ELIGIBLE:
                failures.append(f"{insats.id} ({on}): {getattr(result, 'summary', result)}")
    assert not failures, "\n".join(failures)
    if not checked:
        pytest.skip(f"{kommun} has no insats an adult can meet")
