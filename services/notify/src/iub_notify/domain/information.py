"""Composing the 11 kap 6 § information: reviewed templates per language, filled with facts.

The duty (11 kap 6 § SoL) holds for every contact — eligible or not, anonymous or not, in a
queue or not — so every branch of every template ends with the right to apply (11 kap 1 §).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from iub_contracts.catalog import Contact
from iub_contracts.decision import Decision, VillkorStatus
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_VERSION = "1"
LANGUAGES = ("sv", "en", "sv-lattlast")
DEFAULT_LANGUAGE = "sv"
_ENV = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
    undefined=StrictUndefined,
    autoescape=False,  # plain text for SMS, app text and the agent's screen
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class Queue:
    """The expected wait and the alternatives the catalogue names (Sala's guideline 3.x)."""

    wait_days: int
    alternatives: list[str] = field(default_factory=list)


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


def choose_language(requested: str) -> tuple[str, bool]:
    """The template language for a request; unknown languages fall back to Swedish."""
    req = (requested or "").strip().lower().replace("_", "-")
    aliases = {"sv-se": "sv", "en-gb": "en", "en-us": "en", "lattlast": "sv-lattlast", "sv-easy": "sv-lattlast"}
    req = aliases.get(req, req)
    if req in LANGUAGES:
        return req, False
    return DEFAULT_LANGUAGE, True


def contact_lines(contact: Contact | None, language: str) -> list[str]:
    """The kommun's contact routes as lines of text."""
    if contact is None:
        return []
    labels = {
        "kundcenter_phone": ("Kundcenter", "Customer centre"),
        "switchboard_phone": ("Växel", "Switchboard"),
        "app": ("App", "App"),
        "visiting_address": ("Besöksadress", "Visiting address"),
        "web": ("Webb", "Web"),
    }
    i = 1 if language == "en" else 0
    return [f"{labels[k][i]}: {getattr(contact, k)}" for k in labels if getattr(contact, k)]


def compose_information(
    *,
    kommun_name: str,
    insats_name: str,
    decision: Decision | None,
    contact: Contact | None,
    language: str,
    queue: Queue | None = None,
    how_to_apply_fallback: str = "Kontakta socialtjänsten i din kommun.",
) -> InformationText:
    """Render the information for one request in the requested language (Swedish fallback)."""
    lang, fallback = choose_language(language)
    outcome = decision.outcome.value if decision else "error"
    unmet = [v.explanation for v in decision.villkor if v.status is VillkorStatus.NOT_MET] if decision else []
    unknown = [v.explanation for v in decision.villkor if v.status is VillkorStatus.UNKNOWN] if decision else []
    if decision and decision.consent.state.value == "unknown":
        unknown.append(decision.consent.explanation)
    text = _ENV.get_template(f"{lang}.txt.j2").render(
        kommun_name=kommun_name,
        insats_name=insats_name,
        outcome=outcome,
        valid_until=decision.valid_until.isoformat() if decision and decision.valid_until else None,
        checklist=decision.checklist if decision else [],
        unmet=unmet,
        unknown=unknown,
        missing_from=decision.consent.missing_from or ["vårdnadshavare"] if decision else [],
        queue=queue,
        how_to_apply=contact.how_to_apply if contact else how_to_apply_fallback,
        contact_lines=contact_lines(contact, lang),
    )
    text = "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())
    return InformationText(
        text=text,
        template=f"information/{lang}@v{TEMPLATE_VERSION}",
        language=lang,
        language_requested=language,
        fallback=fallback,
    )


def needs_alternatives(wait_days: int | None, reasonable_wait_days: int | None) -> bool:
    """Whether the wait exceeds the kommun's reasonable time, so alternatives must be listed."""
    if wait_days is None:
        return False
    # without a kommun figure, any announced wait counts: informing too much harms nobody
    return wait_days > (reasonable_wait_days if reasonable_wait_days is not None else 0)
