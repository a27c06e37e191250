"""Personnummer validation at the edge, with the `personnummer` library (Luhn, samordningsnummer, '+')."""

from __future__ import annotations

from personnummer import personnummer as _pnr


class InvalidPersonnummer(ValueError):
    """Not a valid personnummer or samordningsnummer (the value is never included)."""


def normalise_personnummer(raw: str) -> str:
    """The 12-digit form of a valid personnummer/samordningsnummer; '+' means 100 years or older."""
    try:
        p = _pnr.Personnummer(raw.strip())
    except Exception:
        raise InvalidPersonnummer("invalid personnummer") from None
    return p.format(True)
