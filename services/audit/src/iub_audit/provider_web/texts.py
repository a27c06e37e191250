"""Swedish words of the provider web page for the codes the API uses."""

from __future__ import annotations

STATUS = {
    "needs_facts": "Uppgifter behöver kontrolleras",
    "needs_consent": "Samtycke behövs",
    "eligible": "Har rätt till insatsen",
    "not_eligible_without_needs_assessment": "Inte utan behovsprövning",
    "started": "Pågår",
    "ended": "Avslutad",
}
OUTCOME = {
    "eligible": "Har rätt till insatsen utan behovsprövning",
    "needs_consent": "Samtycke från vårdnadshavare behövs",
    "needs_facts": "Villkor behöver kontrolleras",
    "not_eligible_without_needs_assessment": "Inte utan behovsprövning – personen kan ansöka (11 kap. 1 § SoL)",
}
LEVEL = {
    "individual": "Dokumenteras på individnivå (14 kap. 3 § SoL)",
    "anonymised": "Avidentifierad dokumentation (14 kap. 5 § SoL)",
    "advisory": "Rådgivning utan personuppgifter (14 kap. 4 § SoL)",
}
CONTACT_FORM = {"individual": "Enskilt", "group": "Grupp", "phone": "Telefon", "digital": "Digitalt"}
END = {"completed": "Genomförd", "ended_early": "Avbruten i förtid", "never_started": "Påbörjades aldrig"}
EVENT = {"start": "Start", "contact": "Kontakt", "end": "Avslut"}
VILLKOR_RESULT = {"confirmed": "Bekräftat", "refuted": "Stämmer inte", None: "Inte kontrollerat",
                  "": "Inte kontrollerat"}
VILLKOR_STATUS = {"met": "Uppfyllt enligt uppgift", "not_met": "Inte uppfyllt enligt uppgift",
                  "unknown": "Inte kontrollerat"}
CONSENT_STATE = {"not_required": "krävs inte", "given": "lämnat", "missing": "saknas", "unknown": "okänt"}
GENDER = {"kvinna": "Kvinna", "man": "Man", "female": "Kvinna", "male": "Man"}
CONSENT_RULE = {
    "all_guardians": "samtycke från alla vårdnadshavare",
    "one_guardian": "samtycke från en vårdnadshavare",
    "none": "inget samtycke krävs",
}


def say(table: dict, code: object) -> str:
    """The Swedish text of a code, or the code itself when the table has none."""
    return table.get(code, str(code) if code is not None else "")
FIELD = {
    "date": "Datum", "form": "Form", "minutes": "Minuter", "end": "Hur insatsen avslutades", "reason": "Orsak",
    "note": "Anteckning", "situation": "Social situation", "scales": "Skala", "kind": "Händelse",
    "event_id": "Formuläret (skicka igen från en omladdad sida)", "case_id": "Ärendet", "staff_id": "Personal-id",
    "villkor": "Villkor", "consents": "Samtycke", "child_consent": "Barnets samtycke", "body": "Formuläret",
}


def field_label(field: str) -> str:
    """A Swedish label of an API field path such as 'consents.0.recorded_at'."""
    head = field.split(".")[0]
    return FIELD.get(head, field)

TOPIC = {
    "anhorig": "Anhörig", "arbete": "Arbete", "barn": "Barn", "beroende": "Beroende", "beteende": "Beteende",
    "boende": "Boende", "ekonomi": "Ekonomi", "familj": "Familj", "familjeratt": "Familjerätt",
    "foraldraskap": "Föräldraskap", "kriminalitet": "Kriminalitet", "kris": "Kris", "medling": "Medling",
    "motesplats": "Mötesplats", "natverk": "Nätverk", "psykosocialt": "Psykosocialt stöd",
    "radgivning": "Rådgivning", "stodsamtal": "Stödsamtal", "ungdom": "Ungdom", "vald": "Våld",
}
CHANNEL = {"app": "Appen (Mitt val mitt stöd)", "telephony": "Telefon (Kundcenter)"}
