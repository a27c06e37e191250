"""Refuse anonymised and advisory records that carry personal data in any text field."""

from __future__ import annotations

from typing import Any

from iub_runtime.pii import find_pii


class PiiRefused(Exception):
    """A record for a level without personal data contained some; the reason names kinds only."""

    def __init__(self, kinds: list[str], path: str) -> None:
        super().__init__(f"{'/'.join(sorted(set(kinds)))} found in field {path}")
        self.kinds = kinds
        self.path = path


def _walk(value: Any, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


_SAFE_FIELDS = {"request_id", "day", "text_sha256", "template"}


def check_no_pii(body: dict[str, Any]) -> None:
    """Raise PiiRefused if any text field holds a personnummer, phone number or e-mail address."""
    for path, text in _walk(body, ""):
        if path.split(".")[-1] in _SAFE_FIELDS:
            continue
        kinds = find_pii(text)
        if kinds:
            raise PiiRefused(kinds, path)
