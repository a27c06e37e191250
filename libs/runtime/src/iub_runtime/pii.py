"""Finding and masking personal data in text: personnummer, samordningsnummer, phone, e-mail.

Used by the log redaction processor and by audit's PII guard. Pure functions.
"""

from __future__ import annotations

import re

# 10 or 12 digits, optional separator (-, +, space) before the last four. Samordningsnummer
# (day + 60) has the same shape. Digits glued to other digits are not matched.
PERSONNUMMER_RE = re.compile(r"(?<!\d)(?:18|19|20)?\d{6}[-+ ]?\d{4}(?!\d)")
# Swedish and international phone numbers: +46 70-123 45 67, 070-1234567, 0771-123 456
PHONE_RE = re.compile(r"(?<![\w])(?:\+\d{1,3}[\s-]?|0)\d{1,4}(?:[\s-]?\d){5,10}(?!\d)")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

PNR_MASK = "[personnummer]"


def redact_personnummer(text: str) -> str:
    """Replace every personnummer-shaped number with a mask."""
    return PERSONNUMMER_RE.sub(PNR_MASK, text)


def redact_all(text: str) -> str:
    """Replace personnummer, phone numbers and e-mail addresses with masks."""
    text = PERSONNUMMER_RE.sub(PNR_MASK, text)
    text = EMAIL_RE.sub("[e-post]", text)
    return PHONE_RE.sub("[telefon]", text)


def find_pii(text: str) -> list[str]:
    """Kinds of personal data found in a text ('personnummer', 'phone', 'email'); never the values."""
    kinds = []
    if PERSONNUMMER_RE.search(text):
        kinds.append("personnummer")
    if PHONE_RE.search(text):
        kinds.append("phone")
    if EMAIL_RE.search(text):
        kinds.append("email")
    return kinds
