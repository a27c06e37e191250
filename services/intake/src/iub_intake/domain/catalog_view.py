"""The catalogue as the app shows it: plain Swedish for villkor, consent and documentation (pure).

Målgrupp is shown as written and never turned into a rule (11 kap 5 § SoL).
"""

from __future__ import annotations

import datetime as dt

from iub_contracts.api import (
    ConsentOut,
    ContactOut,
    DocumentationOut,
    InsatsList,
    InsatsOut,
    KommunOut,
    VillkorOut,
)
from iub_contracts.catalog import (
    ConsentPolicy,
    ConsentRequirement,
    Contact,
    Documentation,
    DocumentationLevel,
    InsatsVersion,
    KommunCatalog,
)
from iub_contracts.questions import questions_for

ANONYMOUS = "Du kan vara anonym."

DOCUMENTATION_TEXT = {
    DocumentationLevel.INDIVIDUAL: (
        "Insatsen dokumenteras på individnivå (14 kap. 3 § socialtjänstlagen): vem du är, vilken insats "
        "och vad som görs. Du behöver uppge personnummer. Du har rätt att läsa det som dokumenteras om dig."
    ),
    DocumentationLevel.ANONYMISED: (
        f"{ANONYMOUS} Nämnden har beslutat att uppgifter som kan avslöja vem du är inte dokumenteras för "
        "den här insatsen (14 kap. 5 § socialtjänstlagen). Bara avidentifierade uppgifter antecknas, "
        "till exempel ålder, kön och en allmän beskrivning av problemen."
    ),
    DocumentationLevel.ADVISORY: (
        f"{ANONYMOUS} Insatsen är rådgivande och dokumenteras utan uppgifter om dig personligen "
        "(14 kap. 4 § socialtjänstlagen). Bara det som behövs för uppföljning antecknas, som antal "
        "samtal och ämne."
    ),
}

FROM_18 = "Från 18 år behövs inget samtycke från vårdnadshavare."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _need(req: ConsentRequirement) -> str:
    return "samtycke från alla vårdnadshavare" if req is ConsentRequirement.ALL_GUARDIANS else (
        "samtycke från en vårdnadshavare"
    )


def consent_text(policy: ConsentPolicy) -> ConsentOut:
    """The consent rules of an insats, one plain-Swedish line per age band."""
    if policy.under_15 is ConsentRequirement.NONE:
        under = _sentence(f"Under 15 år: du kan delta utan vårdnadshavares samtycke ({policy.exemption_reason})")
    else:
        under = f"Under 15 år: {_need(policy.under_15)} behövs."
    if policy.age_15_17 is not ConsentRequirement.NONE:
        teen = f"15–17 år: {_need(policy.age_15_17)} behövs."
    elif policy.suitable_15_17_without_consent:
        teen = "15–17 år: du kan delta utan vårdnadshavares samtycke. Nämnden har bedömt insatsen lämplig för det."
    else:
        teen = _sentence(f"15–17 år: du kan delta utan vårdnadshavares samtycke ({policy.exemption_reason})")
    return ConsentOut(under_15=under, age_15_17=teen, from_18=FROM_18)


def documentation_text(doc: Documentation, anonymous_allowed: bool) -> DocumentationOut:
    """The documentation level explained; 'Du kan vara anonym' for 14:4 and 14:5 insatser."""
    return DocumentationOut(level=doc.level, legal_basis=doc.legal_basis, anonymous_allowed=anonymous_allowed,
                            explanation=DOCUMENTATION_TEXT[doc.level])


def contact_view(contact: Contact) -> ContactOut:
    """The ways to get in touch, each as a plain sentence."""
    ways = []
    if contact.app:
        ways.append(f"Använd appen {contact.app}.")
    if contact.kundcenter_phone:
        ways.append(f"Ring kundcenter på {contact.kundcenter_phone}.")
    if contact.switchboard_phone:
        ways.append(f"Ring växeln på {contact.switchboard_phone}.")
    if contact.visiting_address:
        ways.append(f"Besök oss på {contact.visiting_address}.")
    if contact.web:
        ways.append(f"Läs mer på {contact.web}.")
    return ContactOut(ways=ways, **contact.model_dump())


def insats_view(kommun: KommunCatalog, insats_id: str, version: InsatsVersion) -> InsatsOut:
    """One insats version as the app shows it, with the kommun-wide villkor that apply to it."""
    villkor = [
        VillkorOut(id=v.id, text=v.text, confirm_by=list(v.confirm_by), applies_to="kommun")
        for v in (kommun.kommun_villkor if version.kommun_villkor_apply else [])
    ]
    villkor += [VillkorOut(id=v.id, text=v.text, confirm_by=list(v.confirm_by), applies_to="insats")
                for v in version.villkor]
    return InsatsOut(
        id=insats_id,
        name=version.name,
        unit=version.unit,
        utforare=version.utforare,
        description=version.description,
        malgrupp=version.malgrupp,
        villkor=villkor,
        consent=consent_text(version.consent),
        documentation=documentation_text(version.documentation, version.anonymous_allowed),
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        contact=contact_view(kommun.contact),
        questions=questions_for(kommun, version),
    )


def insatser_view(kommun: KommunCatalog, on: dt.date) -> InsatsList:
    """Every insats of a kommun in force on a day."""
    items = [insats_view(kommun, i.id, v) for i in kommun.insatser if (v := i.in_force(on)) is not None]
    return InsatsList(kommun=kommun.kommun, name=kommun.name, insatser=items)


def kommun_view(kommun: KommunCatalog, on: dt.date) -> KommunOut:
    """A kommun as the app lists it."""
    count = sum(1 for i in kommun.insatser if i.in_force(on) is not None)
    return KommunOut(kommun=kommun.kommun, name=kommun.name, kind=kommun.kind, insatser=count,
                     insatser_url=f"/v1/kommuner/{kommun.kommun}/insatser", contact=contact_view(kommun.contact))
