"""The language tags a request may ask for: BCP 47 tags from a fixed list, never free text.

A free tag field could carry anything a client typed (a personnummer passed the old pattern as
``sv-19760210-3736``), so only the tags below are accepted, case-insensitively, and carried in
the spelling given here. Languages without a reviewed template get the Swedish text, and the
fallback is recorded with the information.
"""

from __future__ import annotations

from typing import Final

# sv-lattlast: lättläst (easy-to-read) Swedish, a private-use style variant subtag (5–8 letters)
LANGUAGE_TAGS: Final = (
    "sv", "sv-SE", "sv-FI", "sv-lattlast",
    "en", "en-GB", "en-US",
    # the national minority languages (lag 2009:724)
    "fi", "fit", "se", "sma", "smj", "yi", "rom",
    # languages often asked for at Swedish kommuner
    "ar", "fa", "prs", "so", "ti", "uk", "pl", "ru", "es", "de", "fr", "tr", "ku", "bs", "hr", "sr",
)
_BY_LOWER: Final = {t.lower(): t for t in LANGUAGE_TAGS}


def canonical_language(tag: str) -> str:
    """The listed tag for ``tag`` (any case, ``_`` or ``-``); ValueError when it is not listed."""
    found = _BY_LOWER.get(str(tag).strip().lower().replace("_", "-"))
    if found is None:
        raise ValueError("språktaggen finns inte bland de tillåtna (BCP 47, fast lista)")
    return found
