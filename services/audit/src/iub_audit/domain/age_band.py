"""Age bands for de-identified records (14 kap 5 § SoL: age, never a birth date)."""

from __future__ import annotations

from iub_contracts.records import AGE_BANDS

_BOUNDS = ((12, "0-12"), (14, "13-14"), (17, "15-17"), (20, "18-20"), (29, "21-29"),
           (44, "30-44"), (64, "45-64"), (79, "65-79"))


def age_band(age: int | None) -> str:
    """The band an age falls in; 'okänd' when the age is unknown."""
    if age is None:
        return AGE_BANDS[-1]
    for upper, band in _BOUNDS:
        if age <= upper:
            return band
    return "80+"
