"""What the page shows from the catalogue: villkor texts, guardian slots and end reasons of a case."""

from __future__ import annotations

import datetime as dt
from typing import Any

from iub_contracts.catalog import ConsentRequirement, leaf_villkor


def villkor_texts(catalog: Any, kommun: str, insats_id: str, on: str | None) -> dict[str, str]:
    """Villkor id -> the villkor's Swedish text, for the insats version in force on the request day."""
    if catalog is None:
        return {}
    found = catalog.lookup(kommun, insats_id)
    if found is None:
        return {}
    k, insats = found
    try:
        day = dt.date.fromisoformat(str(on)) if on else None
    except ValueError:
        day = None
    version = (insats.in_force(day) if day else None) or insats.versions[-1]
    return {v.id: v.text for v in leaf_villkor([*k.kommun_villkor, *version.villkor])}


def guardian_slots(consent: dict[str, Any]) -> list[str]:
    """The guardian labels a consent form offers: those recorded or missing, else two (all) or one."""
    labels = [g.get("guardian") for g in consent.get("guardians") or [] if g.get("guardian")]
    labels += [m for m in consent.get("missing_from") or [] if m not in labels]
    if not labels:
        n = 2 if consent.get("required") == ConsentRequirement.ALL_GUARDIANS.value else 1
        labels = [f"vårdnadshavare {i}" for i in range(1, n + 1)]
    return sorted({lbl for lbl in labels if lbl.startswith("vårdnadshavare ")}, key=lambda x: x.split()[-1])


def followup_codes(catalog: Any, kommun: str) -> Any:
    """The kommun's fixed lists for the carrying out (end reasons, situation codes, scales), or None."""
    k = catalog.kommun(kommun) if catalog is not None else None
    return getattr(k, "followup", None) if k is not None else None


def advisory_insatser(catalog: Any, kommun: str, units: list[str], on: dt.date) -> list[tuple[str, str, str]]:
    """(insats id, name, topic) of the 14 kap 4 § insatser of the provider's units in force on a day."""
    k = catalog.kommun(kommun) if catalog is not None else None
    out = []
    for insats in k.insatser if k is not None else []:
        v = insats.in_force(on)
        if v is not None and v.unit in units and v.documentation.level.value == "advisory":
            out.append((insats.id, v.name, v.topic))
    return sorted(out, key=lambda t: t[1])


def topics(catalog: Any, kommun: str) -> list[str]:
    """The topic codes of a kommun's catalogue (the fixed list advisory counts are kept by)."""
    k = catalog.kommun(kommun) if catalog is not None else None
    return sorted({v.topic for i in (k.insatser if k is not None else []) for v in i.versions})
