"""Pure domain logic of the eligibility service: no I/O, no clock, no settings."""

from iub_eligibility.domain.age import (
    age_on,
    birth_date_from_personnummer,
    legal_gender_from_personnummer,
    resolve_age,
)
from iub_eligibility.domain.consent import evaluate_consent
from iub_eligibility.domain.decide import decide, decide_outcome
from iub_eligibility.domain.villkor import evaluate_villkor, evaluate_villkor_until
from iub_eligibility.domain.weekdays import easter_sunday, is_weekday, next_weekday

__all__ = [
    "age_on",
    "birth_date_from_personnummer",
    "decide",
    "decide_outcome",
    "easter_sunday",
    "evaluate_consent",
    "evaluate_villkor",
    "evaluate_villkor_until",
    "is_weekday",
    "legal_gender_from_personnummer",
    "next_weekday",
    "resolve_age",
]
