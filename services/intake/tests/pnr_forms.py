"""Every valid form of a personnummer or samordningsnummer, as a hypothesis strategy (shared by the tests)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st


def check_digit(ten_without_last: str) -> str:
    """The Luhn check digit over YYMMDDNNN."""
    total = 0
    for i, ch in enumerate(ten_without_last):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        total += p // 10 + p % 10
    return str((10 - total % 10) % 10)


def forms(born: dt.date, serial: int, samordning: bool, today: dt.date) -> list[str]:
    """The ways one number can be written: 12 digits with and without '-', 10 digits with the right
    separator ('+' from the year the person turns 100), and 10 digits without one."""
    day = born.day + (60 if samordning else 0)
    yymmdd = f"{born.year % 100:02d}{born.month:02d}{day:02d}"
    last4 = f"{serial:03d}" + check_digit(yymmdd + f"{serial:03d}")
    century = f"{born.year // 100:02d}"
    sep = "+" if today.year - born.year >= 100 else "-"
    return [f"{century}{yymmdd}{last4}", f"{century}{yymmdd}-{last4}", f"{yymmdd}{sep}{last4}"]


@st.composite
def valid_personnummer(draw, today: dt.date, earliest: dt.date = dt.date(1890, 1, 1)) -> tuple[dt.date, str]:
    """(birth date, one valid written form): 1890 to today, samordningsnummer too, every form."""
    born = draw(st.dates(min_value=earliest, max_value=today))
    serial = draw(st.integers(1, 999))  # födelsenummer 000 is never issued
    samordning = draw(st.booleans())
    return born, draw(st.sampled_from(forms(born, serial, samordning, today)))
