"""Refuse anonymised and advisory records that carry personal data anywhere (14 kap 4–5 § SoL).

The record models already give every field a strict shape; this guard is the second line:
every string (and every key and number) is scanned for personnummer, phone numbers and e-mail
addresses, and a record with any of them is refused rather than stored. The refusal names the
kinds and the field, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from iub_runtime.pii import find_pii

# typed identifiers whose digit runs would look like a phone number or personnummer: a UUID,
# an ISO date and a hex digest, all enforced by the record models (see iub_contracts.records)
_TYPED = {"request_id", "day", "information.text_sha256"}


class PiiRefused(Exception):
    """A record for a level without personal data contained some; the reason names kinds only."""

    def __init__(self, kinds: list[str], path: str) -> None:
        super().__init__(f"{'/'.join(sorted(set(kinds)))} found in field {path}")
        self.kinds = kinds
        self.path = path


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,60}$")


def _name(key: str) -> str:
    """A key as it may appear in a refusal reason: field names only, data keys masked."""
    return key if _FIELD_NAME.match(key) else "[nyckel]"


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) for every string, key and number in a JSON value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield path, str(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            child = f"{path}.{_name(str(k))}" if path else _name(str(k))
            yield child, str(k)
            yield from _texts(v, child)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _texts(v, f"{path}[{i}]")


_TEMPLATE_VERSION = re.compile(r"@[0-9a-f]{4,64}$")


def _scanned(path: str, text: str) -> str:
    if path == "information.template":
        return _TEMPLATE_VERSION.sub("", text)  # a trailing '@<hex digest>' is the template version
    return text


def check_no_pii(body: dict[str, Any]) -> None:
    """Raise PiiRefused if any text of the record holds a personnummer, phone number or e-mail address."""
    for path, text in _texts(body, ""):
        if path in _TYPED:
            continue
        kinds = find_pii(_scanned(path, text))
        if kinds:
            raise PiiRefused(kinds, path)
