"""Swedish weekdays ("vardagar"): Monday–Friday except public holidays and office-closed eves."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

_DAY = dt.timedelta(days=1)


def easter_sunday(year: int) -> dt.date:
    """Western (Gregorian) Easter Sunday of a year, by the anonymous Gregorian computus."""
    # Meeus/Jones/Butcher algorithm, valid for every Gregorian year.
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _saturday_between(year: int, month: int, first_day: int) -> dt.date:
    """The Saturday in the seven days starting on (month, first_day) of a year."""
    start = dt.date(year, month, first_day)
    return start + dt.timedelta(days=(5 - start.weekday()) % 7)


@lru_cache(maxsize=64)
def closed_days(year: int) -> frozenset[dt.date]:
    """Days in a year that are not weekdays besides Saturday and Sunday (röda dagar and eves)."""
    easter = easter_sunday(year)
    midsommardagen = _saturday_between(year, 6, 20)  # Saturday 20–26 June
    days = {
        # Lag (1989:253) om allmänna helgdagar, 1 §:
        dt.date(year, 1, 1),  # nyårsdagen
        dt.date(year, 1, 6),  # trettondedag jul
        easter - 2 * _DAY,  # långfredagen
        easter,  # påskdagen
        easter + _DAY,  # annandag påsk
        dt.date(year, 5, 1),  # första maj
        easter + 39 * _DAY,  # Kristi himmelsfärds dag (sjätte torsdagen efter påskdagen)
        easter + 49 * _DAY,  # pingstdagen (always a Sunday)
        dt.date(year, 6, 6),  # Sveriges nationaldag
        midsommardagen,  # midsommardagen (always a Saturday)
        _saturday_between(year, 10, 31),  # alla helgons dag, Saturday 31 Oct – 6 Nov
        dt.date(year, 12, 25),  # juldagen
        dt.date(year, 12, 26),  # annandag jul
        # Not allmänna helgdagar in law, but the kommun's offices are closed on these eves
        # (semesterlagen 3 a § likens them to Sundays), so a person cannot reach the office
        # on them: they are treated as non-weekdays here.
        midsommardagen - _DAY,  # midsommarafton (Friday 19–25 June)
        dt.date(year, 12, 24),  # julafton
        dt.date(year, 12, 31),  # nyårsafton
    }
    return frozenset(days)


def is_weekday(day: dt.date) -> bool:
    """Whether a day is a Swedish vardag: Monday–Friday and not a closed day."""
    return day.weekday() < 5 and day not in closed_days(day.year)


def next_weekday(on: dt.date) -> dt.date:
    """The next day after ``on`` that is a Swedish vardag ("nästkommande vardag")."""
    day = on + _DAY
    while not is_weekday(day):
        day += _DAY
    return day
