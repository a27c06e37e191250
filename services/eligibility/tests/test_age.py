"""Age and legal gender from birth date, personnummer and stated age."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iub_contracts.facts import ApplicantFacts
from iub_eligibility.domain.age import (
    age_on,
    birth_date_from_personnummer,
    legal_gender_from_personnummer,
    resolve_age,
)

D = dt.date


@pytest.mark.parametrize(
    ("pnr", "expected"),
    [
        pytest.param("199001151234", D(1990, 1, 15), id="personnummer"),
        pytest.param("200802294321", D(2008, 2, 29), id="leap day personnummer"),
        pytest.param("199001751234", D(1990, 1, 15), id="samordningsnummer day plus 60"),
        pytest.param("201012611238", D(2010, 12, 1), id="samordningsnummer day 61 is the 1st"),
        pytest.param("201012911238", D(2010, 12, 31), id="samordningsnummer day 91 is the 31st"),
    ],
)
def test_birth_date_is_read_from_the_personnummer(pnr: str, expected: dt.date) -> None:
    assert birth_date_from_personnummer(pnr) == expected


@pytest.mark.parametrize(
    "pnr",
    [
        pytest.param("200702291234", id="29 February in a non-leap year"),
        pytest.param("199013011234", id="month 13"),
        pytest.param("199001001234", id="day 0"),
        pytest.param("19900101123", id="eleven digits"),
        pytest.param("19900101-1234", id="with a dash"),
    ],
)
def test_a_personnummer_without_a_real_date_raises_value_error(pnr: str) -> None:
    with pytest.raises(ValueError):
        birth_date_from_personnummer(pnr)


@pytest.mark.parametrize(
    ("pnr", "expected"),
    [
        pytest.param("199001151234", "man", id="second to last digit 3 is odd: man"),
        pytest.param("199001151244", "kvinna", id="second to last digit 4 is even: kvinna"),
        pytest.param("199001151204", "kvinna", id="zero is even: kvinna"),
        pytest.param("199001751294", "man", id="samordningsnummer 9 is odd: man"),
    ],
)
def test_legal_gender_follows_the_second_to_last_digit(pnr: str, expected: str) -> None:
    assert legal_gender_from_personnummer(pnr) == expected


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        pytest.param(D(2010, 5, 10), D(2025, 5, 9), 14, id="day before the 15th birthday"),
        pytest.param(D(2010, 5, 10), D(2025, 5, 10), 15, id="on the 15th birthday"),
        pytest.param(D(2010, 5, 10), D(2025, 5, 11), 15, id="day after the birthday"),
        pytest.param(D(2010, 5, 10), D(2010, 5, 10), 0, id="on the day of birth"),
        pytest.param(D(2007, 12, 31), D(2025, 12, 31), 18, id="new year's eve birthday"),
        pytest.param(D(2007, 12, 31), D(2025, 12, 30), 17, id="day before new year's eve"),
        pytest.param(D(2008, 2, 29), D(2026, 2, 28), 17, id="leap day born not yet 18 on 28 Feb"),
        pytest.param(D(2008, 2, 29), D(2026, 3, 1), 18, id="leap day born turns 18 on 1 March"),
        pytest.param(D(2008, 2, 29), D(2028, 2, 28), 19, id="leap year 28 Feb is still 19"),
        pytest.param(D(2008, 2, 29), D(2028, 2, 29), 20, id="leap year 29 Feb turns 20"),
        pytest.param(D(2007, 3, 1), D(2024, 2, 29), 16, id="born 1 March, on a leap day"),
    ],
)
def test_age_on_counts_completed_years(birth: dt.date, on: dt.date, expected: int) -> None:
    assert age_on(birth, on) == expected


def _reference_age(birth: dt.date, on: dt.date) -> int:
    """Count the birthdays passed; a 29 February birthday falls on 1 March in other years."""
    years = 0
    while True:
        year = birth.year + years + 1
        try:
            anniversary = birth.replace(year=year)
        except ValueError:  # 29 February in a non-leap year
            anniversary = D(year, 3, 1)
        if anniversary > on:
            return years
        years += 1


dates = st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31))


@given(birth=dates, on=dates)
def test_age_on_agrees_with_counting_birthdays(birth: dt.date, on: dt.date) -> None:
    if on < birth:
        birth, on = on, birth
    assert age_on(birth, on) == _reference_age(birth, on)


@given(
    year=st.sampled_from(range(1904, 2097, 4)),  # every leap year 1904–2096 (2000 included)
    days_later=st.integers(min_value=0, max_value=60_000),
)
def test_age_on_for_leap_day_birthdays_agrees_with_counting_birthdays(
    year: int, days_later: int
) -> None:
    birth = D(year, 2, 29)
    on = birth + dt.timedelta(days=days_later)
    assert age_on(birth, on) == _reference_age(birth, on)


ON = D(2026, 3, 1)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            ApplicantFacts(birth_date=D(2010, 1, 1), personnummer="200001011234", stated_age=40),
            16,
            id="birth date wins over personnummer and stated age",
        ),
        pytest.param(
            ApplicantFacts(personnummer="200001011234", stated_age=40),
            26,
            id="personnummer wins over stated age",
        ),
        pytest.param(
            ApplicantFacts(personnummer="200001611234"), 26, id="samordningsnummer gives age"
        ),
        pytest.param(ApplicantFacts(stated_age=40), 40, id="stated age when nothing else"),
        pytest.param(ApplicantFacts(), None, id="unknown when nothing is given"),
        pytest.param(
            ApplicantFacts(personnummer="200102291234", stated_age=30),
            30,
            id="personnummer without a real date falls back to stated age",
        ),
        pytest.param(
            ApplicantFacts(birth_date=D(2030, 1, 1)), None, id="birth after the date is unknown"
        ),
    ],
)
def test_resolve_age_uses_the_best_fact_given(facts: ApplicantFacts, expected: int | None) -> None:
    assert resolve_age(facts, ON) == expected
