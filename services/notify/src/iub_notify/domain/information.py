"""What the 11 kap 6 § information says for one request, decided without I/O or a clock.

The duty (11 kap 6 § SoL) holds for every contact — eligible or not, anonymous or not, in a
queue or not — so every template says the right to apply (11 kap 1 §) whatever the outcome.
This module only gathers the facts a template may use; the wording lives in the templates.
Nothing here carries personal data: villkor explanations and guardian labels are written by
eligibility to be shown and logged, and ids typed by a caller are never echoed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iub_contracts.calendar import request_day
from iub_contracts.catalog import Contact, InsatsVersion, KommunCatalog
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import ConsentState, Decision, VillkorStatus
from iub_contracts.messages import DecisionMade

DEFAULT_LANGUAGE = "sv"
MAX_SUGGESTED_ALTERNATIVES = 5
_ALIASES = {
    "sv-se": "sv",
    "swe": "sv",
    "en-gb": "en",
    "en-us": "en",
    "eng": "en",
    "lattlast": "sv-lattlast",
    "sv-ll": "sv-lattlast",
    "sv-easy": "sv-lattlast",
    "sv-lättläst": "sv-lattlast",
}
ERROR = "error"


def choose_language(requested: str | None, available: Iterable[str]) -> tuple[str, bool]:
    """The template language for a request and whether it fell back to Swedish."""
    req = (requested or "").strip().lower().replace("_", "-")
    req = _ALIASES.get(req, req)
    if req in set(available):
        return req, False
    return DEFAULT_LANGUAGE, req != DEFAULT_LANGUAGE


@dataclass(frozen=True)
class InformationText:
    """The rendered information with its template id, language and hash."""

    text: str
    template: str
    language: str
    language_requested: str
    fallback: bool

    @property
    def sha256(self) -> str:
        """Hash of the text, kept as proof in the documentation."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class QueueInfo:
    """The expected wait, whether it is longer than reasonable, and the alternatives to name."""

    wait_days: int
    unreasonable: bool
    alternatives: tuple[str, ...] = ()
    alternatives_named: bool = True  # False: same-topic insatser of the catalogue, suggested


@dataclass(frozen=True)
class InformationContext:
    """Everything a template may say about one request (no personal data, no free caller input)."""

    kommun_id: str | None
    kommun_name: str | None
    insats_name: str | None
    outcome: str
    error_code: str | None = None
    unmet: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    consent_state: str | None = None  # 'missing' or 'unknown' when the text must speak of consent
    consent_required: str | None = None  # 'one_guardian' or 'all_guardians'
    consent_missing_from: tuple[str, ...] = ()
    valid_until: dt.date | None = None
    contact: Contact | None = None
    queue: QueueInfo | None = None


def needs_alternatives(wait_days: int | None, reasonable_wait_days: int | None) -> bool:
    """Whether the wait exceeds the kommun's reasonable time, so alternatives must be listed."""
    if not wait_days or wait_days <= 0:
        return False
    # without a kommun figure, any announced wait counts: informing too much harms nobody
    return wait_days > (reasonable_wait_days if reasonable_wait_days is not None else 0)


def suggested_alternatives(
    kommun: KommunCatalog, insats_id: str, version: InsatsVersion, on: dt.date, waits: Mapping[str, int]
) -> tuple[tuple[str, ...], bool]:
    """The catalogue's named alternatives, else other insatser of the same topic without a long wait."""
    if version.alternatives:
        return tuple(version.alternatives), True
    names: list[str] = []
    for other in kommun.insatser:
        v = other.in_force(on)
        if other.id == insats_id or v is None or v.topic != version.topic:
            continue
        if needs_alternatives(waits.get(other.id), kommun.reasonable_wait_days):
            continue
        if v.name not in names:
            names.append(v.name)
    return tuple(names[:MAX_SUGGESTED_ALTERNATIVES]), False


def queue_info(
    kommun: KommunCatalog, insats_id: str, version: InsatsVersion, on: dt.date, waits: Mapping[str, int]
) -> QueueInfo | None:
    """The queue paragraph's facts, or None when no wait is announced for the insats."""
    wait = waits.get(insats_id)
    if not wait or wait <= 0:
        return None
    if not needs_alternatives(wait, kommun.reasonable_wait_days):
        return QueueInfo(wait_days=wait, unreasonable=False)
    alternatives, named = suggested_alternatives(kommun, insats_id, version, on, waits)
    return QueueInfo(wait_days=wait, unreasonable=True, alternatives=alternatives, alternatives_named=named)


def _decision_facts(decision: Decision) -> dict:
    consent = decision.consent
    state = consent.state.value if consent.state in (ConsentState.MISSING, ConsentState.UNKNOWN) else None
    # an unknown consent is said by the template in its own language (consent_state 'unknown')
    unknown = [v.explanation for v in decision.villkor if v.status is VillkorStatus.UNKNOWN]
    return {
        "outcome": decision.outcome.value,
        "unmet": tuple(v.explanation for v in decision.villkor if v.status is VillkorStatus.NOT_MET),
        "unknown": tuple(unknown),
        "checklist": tuple(decision.checklist),
        "consent_state": state,
        "consent_required": consent.required.value if state else None,
        "consent_missing_from": tuple(consent.missing_from) if state == "missing" else (),
        "valid_until": decision.valid_until,
    }


def information_context(
    msg: DecisionMade, catalog: Catalog, waits: Mapping[str, int] | None = None
) -> InformationContext:
    """The facts of the information for one documented decision (or decision error)."""
    kommun = catalog.kommun(msg.kommun)
    on = request_day(msg.received_at)
    version = catalog.version_in_force(msg.kommun, msg.insats_id, on) if kommun else None
    base = {
        "kommun_id": kommun.kommun if kommun else None,
        "kommun_name": kommun.name if kommun else None,
        "insats_name": version.name if version else None,
        "contact": kommun.contact if kommun else None,
    }
    if msg.decision is None:
        code = msg.error.code.value if msg.error else None
        return InformationContext(**base, outcome=ERROR, error_code=code)
    facts = _decision_facts(msg.decision)
    queue = None
    if kommun and version and facts["outcome"] != "not_eligible_without_needs_assessment":
        queue = queue_info(kommun, msg.insats_id, version, on, waits or {})
    return InformationContext(**base, **facts, queue=queue)


_MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
           "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}
_WEEKDAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def long_date(day: dt.date, language: str) -> str:
    """A date as people read it: 'måndag 8 september 2025' / 'Monday 8 September 2025'."""
    lang = "en" if language == "en" else "sv"
    return f"{_WEEKDAYS[lang][day.weekday()]} {day.day} {_MONTHS[lang][day.month - 1]} {day.year}"


def and_list(items: Iterable[str], language: str) -> str:
    """'a, b och c' (Swedish) or 'a, b and c' (English)."""
    items = list(items)
    word = "and" if language == "en" else "och"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"
