"""Next weekday (nästkommande vardag) with Swedish public holidays and office-closed eves."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iub_eligibility.domain.weekdays import easter_sunday, is_weekday, next_weekday

D = dt.date


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        pytest.param(D(2026, 3, 2), D(2026, 3, 3), id="Monday to Tuesday"),
        pytest.param(D(2026, 3, 6), D(2026, 3, 9), id="Friday to Monday"),
        pytest.param(D(2026, 3, 7), D(2026, 3, 9), id="Saturday to Monday"),
        pytest.param(D(2026, 3, 8), D(2026, 3, 9), id="Sunday to Monday"),
        pytest.param(D(2026, 4, 2), D(2026, 4, 7), id="Maundy Thursday to Tuesday after Easter"),
        pytest.param(D(2026, 4, 3), D(2026, 4, 7), id="Good Friday to Tuesday after Easter"),
        pytest.param(D(2025, 12, 23), D(2025, 12, 29), id="before julafton to Monday 29 Dec"),
        pytest.param(D(2025, 12, 24), D(2025, 12, 29), id="julafton to Monday 29 Dec"),
        pytest.param(D(2025, 12, 30), D(2026, 1, 2), id="before nyårsafton to 2 January"),
        pytest.param(D(2026, 1, 5), D(2026, 1, 7), id="before trettondedag jul"),
        pytest.param(D(2026, 4, 30), D(2026, 5, 4), id="before första maj on a Friday"),
        pytest.param(D(2026, 5, 13), D(2026, 5, 15), id="before Kristi himmelsfärds dag"),
        pytest.param(D(2025, 6, 5), D(2025, 6, 9), id="nationaldagen Friday, Whit Monday works"),
        pytest.param(D(2026, 6, 18), D(2026, 6, 22), id="before midsommarafton"),
        pytest.param(D(2027, 6, 24), D(2027, 6, 28), id="midsommarafton 2027 on 25 June"),
        pytest.param(D(2026, 10, 30), D(2026, 11, 2), id="alla helgons dag is a Saturday"),
    ],
)
def test_next_weekday_skips_weekends_holidays_and_closed_eves(
    on: dt.date, expected: dt.date
) -> None:
    assert next_weekday(on) == expected


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        pytest.param(2024, D(2024, 3, 31), id="2024"),
        pytest.param(2025, D(2025, 4, 20), id="2025"),
        pytest.param(2026, D(2026, 4, 5), id="2026"),
        pytest.param(2027, D(2027, 3, 28), id="2027"),
        pytest.param(2038, D(2038, 4, 25), id="2038 latest possible date"),
        pytest.param(2285, D(2285, 3, 22), id="2285 earliest possible date"),
        pytest.param(2000, D(2000, 4, 23), id="2000"),
    ],
)
def test_easter_sunday_matches_known_dates(year: int, expected: dt.date) -> None:
    assert easter_sunday(year) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(D(2026, 4, 6), False, id="annandag påsk"),
        pytest.param(D(2026, 12, 24), False, id="julafton on a Thursday"),
        pytest.param(D(2026, 12, 31), False, id="nyårsafton on a Thursday"),
        pytest.param(D(2026, 6, 19), False, id="midsommarafton"),
        pytest.param(D(2026, 6, 5), True, id="the day before nationaldagen"),
        pytest.param(D(2026, 5, 15), True, id="the Friday after Kristi himmelsfärd"),
    ],
)
def test_is_weekday_knows_the_closed_days(day: dt.date, expected: bool) -> None:
    assert is_weekday(day) is expected


@given(st.dates(min_value=D(1950, 1, 1), max_value=D(2150, 12, 31)))
def test_next_weekday_is_the_first_weekday_after_the_date(on: dt.date) -> None:
    found = next_weekday(on)
    assert on < found <= on + dt.timedelta(days=6)
    assert found.weekday() < 5 and is_weekday(found)
    day = on + dt.timedelta(days=1)
    while day < found:
        assert not is_weekday(day)
        day += dt.timedelta(days=1)


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_is_a_sunday_between_22_march_and_25_april(year: int) -> None:
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert D(year, 3, 22) <= easter <= D(year, 4, 25)
