"""Age and legal gender from the facts a person gives: birth date, personnummer, stated age."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from iub_contracts.facts import ApplicantFacts

# Skatteverket: a samordningsnummer is built like a personnummer but with 60 added to the
# day of birth (SKV 707, "Samordningsnummer"), so day 61–91 means day 1–31.
_SAMORDNING_OFFSET = 60


def birth_date_from_personnummer(pnr12: str) -> dt.date:
    """Birth date in a 12-digit personnummer or samordningsnummer; ValueError if it has none."""
    if len(pnr12) != 12 or not pnr12.isdigit():
        raise ValueError("a 12-digit personnummer is expected")
    year, month, day = int(pnr12[0:4]), int(pnr12[4:6]), int(pnr12[6:8])
    if day > _SAMORDNING_OFFSET:
        day -= _SAMORDNING_OFFSET
    return dt.date(year, month, day)  # raises ValueError for a date that does not exist


def legal_gender_from_personnummer(pnr12: str) -> Literal["kvinna", "man"]:
    """Legal gender from the födelsenummer: second-to-last digit odd = man, even = kvinna."""
    # Folkbokföringslag (1991:481) 18 §: the third digit of the födelsenummer is odd for men
    # and even for women; it follows legal gender (a new personnummer is issued on change).
    if len(pnr12) != 12 or not pnr12.isdigit():
        raise ValueError("a 12-digit personnummer is expected")
    return "man" if int(pnr12[10]) % 2 == 1 else "kvinna"


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years on a date; born 29 February turns older on 1 March in non-leap years."""
    # Comparing (month, day) tuples gives Swedish practice for leap-day birthdays: on
    # 28 February of a non-leap year (2, 28) < (2, 29) so the birthday has not yet come;
    # on 1 March (3, 1) > (2, 29) so it has (the person "fyller år" on 1 March).
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (1 if before_birthday else 0)


def resolve_age(facts: ApplicantFacts, on: dt.date) -> int | None:
    """Age on a date from birth_date, else personnummer, else stated_age; None when unknown."""
    birth = facts.birth_date
    if birth is None and facts.personnummer is not None:
        try:
            birth = birth_date_from_personnummer(facts.personnummer)
        except ValueError:
            birth = None  # a personnummer without a real date tells no age; fall through
    if birth is not None:
        # A birth date after the request date cannot be right: report the age as unknown
        # rather than guess (facts are reported, never guessed).
        return age_on(birth, on) if birth <= on else None
    return facts.stated_age
