"""Finding and masking personal data in text: personnummer, samordningsnummer, phone, e-mail.

Used by the log redaction processor and by audit's PII guard. Pure functions.
"""

from __future__ import annotations

import re

# 10 or 12 digits (18xx–20xx), optional separator (-, +, space) before the last four. Samordningsnummer
# (day + 60) has the same shape. Digits glued to other digits are not matched.
PERSONNUMMER_RE = re.compile(r"(?<!\d)(?:18|19|20)?\d{6}[-+ ]?\d{4}(?!\d)")
# Swedish and international phone numbers: +46 70-123 45 67, 070-1234567, 0771-123 456
PHONE_RE = re.compile(r"(?<![\w])(?:\+\d{1,3}[\s-]?|0)\d{1,4}(?:[\s-]?\d){5,10}(?!\d)")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

# Ids are never personal data and never searched: a UUID (its groups of hex can be all digits:
# 1.1 % of random request ids looked like a personnummer) and long hex runs (digests, uuid.hex).
# Bounded by anything that is not hex, so a personnummer glued to a UUID is still found.
ID_RE = re.compile(
    r"(?<![0-9A-Fa-f-])(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|[0-9A-Fa-f]{32,})(?![0-9A-Fa-f-])"
)

PNR_MASK = "[personnummer]"


def _outside_ids(text: str, fn) -> str:
    """Apply ``fn`` to the parts of a text that are not ids; the ids are kept as they are."""
    if "-" not in text and len(text) < 32:  # fast path: no id can be in it
        return fn(text)
    parts, pos = [], 0
    for m in ID_RE.finditer(text):
        parts.append(fn(text[pos:m.start()]))
        parts.append(m.group())
        pos = m.end()
    parts.append(fn(text[pos:]))
    return "".join(parts)


def without_ids(text: str) -> str:
    """The text with every id replaced by a space (what the PII searches look at)."""
    return ID_RE.sub(" ", text)


def _redact_pnr(text: str) -> str:
    return PERSONNUMMER_RE.sub(PNR_MASK, text)


def _redact_all(text: str) -> str:
    text = PERSONNUMMER_RE.sub(PNR_MASK, text)
    text = EMAIL_RE.sub("[e-post]", text)
    return PHONE_RE.sub("[telefon]", text)


def redact_personnummer(text: str) -> str:
    """Replace every personnummer-shaped number with a mask (never inside a UUID or hex id)."""
    return _outside_ids(text, _redact_pnr)


def redact_all(text: str) -> str:
    """Replace personnummer, phone numbers and e-mail addresses with masks (ids left intact)."""
    return _outside_ids(text, _redact_all)


def find_pii(text: str) -> list[str]:
    """Kinds of personal data found in a text ('personnummer', 'phone', 'email'); never the values."""
    text = without_ids(text)
    kinds = []
    if PERSONNUMMER_RE.search(text):
        kinds.append("personnummer")
    if PHONE_RE.search(text):
        kinds.append("phone")
    if EMAIL_RE.search(text):
        kinds.append("email")
    return kinds
