"""Every template rendered for every kommun × language × outcome, with the legally required sentences."""

from __future__ import annotations

import re
import shutil

import pytest
from notify_samples import NEXT_WEEKDAY, OUTCOMES, UNKNOWN, UNMET, consent, decision, record, sample

from iub_contracts.catalog import ConsentRequirement
from iub_contracts.catalog_loader import Catalog
from iub_contracts.decision import ConsentState, Outcome
from iub_notify.domain.information import information_context
from iub_notify.texts import Templates

KOMMUNER = ("jamtland-lansverksamheter", "mellerud", "ostersund", "sala")
LANGUAGES = ("sv", "en", "sv-lattlast")
QUEUE_DAYS = 60

# 11 kap 6 §: the right to apply under 11 kap 1 §, in every text
RIGHT_TO_APPLY = {
    "sv": "Du har alltid rätt att ansöka om insatser hos socialnämnden och få ditt behov individuellt prövat "
          "enligt 11 kap. 1 § socialtjänstlagen (2025:400).",
    "en": "You always have the right to apply to the social welfare committee (socialnämnden) for support and have "
          "your needs individually assessed under Chapter 11, Section 1 of the Social Services Act (2025:400)",
    "sv-lattlast": "Du har alltid rätt att ansöka om hjälp hos socialtjänsten.",
}
HOW_TO_APPLY = {"sv": "Så ansöker du: ", "en": "How to apply: ", "sv-lattlast": "Så ansöker du: "}
# how to apply in this kommun: the routes its document gives
KOMMUN_ROUTES = {
    "sala": {"sv": ["0224-74 70 00", "kommun.info@sala.se", "Box 304, 733 25 Sala",
                    "social- och arbetsmarknadsnämnden"],
             "en": ["0224-74 70 00", "kommun.info@sala.se", "Box 304, 733 25 Sala"],
             "sv-lattlast": ["0224-74 70 00", "kommun.info@sala.se"]},
    "ostersund": {lang: ["Kundcenter", "Mitt val mitt stöd"] for lang in LANGUAGES},
    "mellerud": {"sv": ["socialtjänsten i Melleruds kommun"], "en": ["social services of Melleruds kommun"],
                 "sv-lattlast": ["socialtjänsten i Melleruds kommun"]},
    "jamtland-lansverksamheter": {"sv": ["socialtjänsten i den kommun där du bor"],
                                  "en": ["social services of the municipality where you live"],
                                  "sv-lattlast": ["socialtjänsten i kommunen där du bor"]},
}
NOT_ELIGIBLE = {
    "sv": "Att du inte uppfyller villkoren hindrar inte att du ansöker om insatsen.",
    "en": "Not meeting the conditions does not stop you from applying for the service.",
    "sv-lattlast": "Men du kan ändå ansöka om hjälpen.",
}
CONSENT_ONE = {"sv": "Samtycke behövs från en av dina vårdnadshavare.",
               "en": "Consent is needed from one of your guardians (vårdnadshavare).",
               "sv-lattlast": "Det räcker med ja från en av dina vårdnadshavare."}
CONSENT_ALL = {"sv": "Samtycke behövs från alla dina vårdnadshavare. Har du två vårdnadshavare behöver båda samtycka.",
               "en": "Consent is needed from all your guardians (vårdnadshavare). If you have two guardians, both "
                     "need to consent.",
               "sv-lattlast": "Alla dina vårdnadshavare måste säga ja."}
CONSENT_HOW = {"sv": "Vårdnadshavaren lämnar sitt samtycke direkt till utföraren",
               "en": "The guardian gives consent directly to the provider",
               "sv-lattlast": "Vårdnadshavaren säger ja direkt till personalen som ger hjälpen."}
UNTIL = {"sv": "till och med måndag 8 september 2025", "en": "until and including Monday 8 September 2025",
         "sv-lattlast": "till och med måndag 8 september 2025"}
WAIT = {"sv": f"väntetiden för insatsen ungefär {QUEUE_DAYS} dagar", "en": f"currently about {QUEUE_DAYS} days",
        "sv-lattlast": f"vänta ungefär {QUEUE_DAYS} dagar"}
WITH_ASSESSMENT = {"sv": "Med behovsprövning: Du kan ansöka om stöd hos socialnämnden",
                   "en": "With a needs assessment: You can apply for support",
                   "sv-lattlast": "– Du kan ansöka om hjälp hos socialtjänsten."}
WITHOUT_ASSESSMENT = {"sv": "Utan behovsprövning:", "en": "Without a needs assessment:",
                      "sv-lattlast": "– Du kan fråga"}
NOT_FOUND = {"sv": "Vi kunde inte hitta insatsen du frågade om", "en": "We could not find the service you asked about",
             "sv-lattlast": "Vi hittade inte hjälpen du frågade om."}


def render(catalog: Catalog, templates: Templates, kommun: str, outcome: str, language: str):
    msg = sample(catalog, kommun, outcome, language)
    waits = {msg.insats_id: QUEUE_DAYS} if outcome == "queue" else {}
    return templates.render(information_context(msg, catalog, waits), language)


def expected_sentences(catalog: Catalog, kommun: str, outcome: str, lang: str) -> list[str]:
    """The sentences the law and the brief require for one kommun, language and outcome."""
    routes = [] if outcome == "unknown_kommun" else KOMMUN_ROUTES[kommun][lang]
    need = [RIGHT_TO_APPLY[lang], "11 kap. 1 §", HOW_TO_APPLY[lang], *routes]
    need += {
        "not_eligible": [NOT_ELIGIBLE[lang], UNMET],
        "needs_consent": [CONSENT_ONE[lang], "vårdnadshavare 1", CONSENT_HOW[lang]],
        "needs_consent_all": [CONSENT_ALL[lang], "vårdnadshavare 2", CONSENT_HOW[lang]],
        "needs_facts": [UNKNOWN],
        "unknown_insats": [NOT_FOUND[lang]],
        "time_limited": [UNTIL[lang]],
        "queue": [WAIT[lang], WITH_ASSESSMENT[lang], WITHOUT_ASSESSMENT[lang]],
    }.get(outcome, [])
    return need


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kommun", KOMMUNER)
def test_every_text_says_the_right_to_apply_how_to_apply_here_and_what_its_outcome_requires(
    catalog, templates, kommun, language, outcome
):
    info = render(catalog, templates, kommun, outcome, language)
    for sentence in expected_sentences(catalog, kommun, outcome, language):
        assert sentence in info.text, f"missing {sentence!r} in:\n{info.text}"
    assert info.language == language and not info.fallback


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kommun", KOMMUNER)
def test_every_text_is_clean_plain_text(catalog, templates, kommun, language, outcome):
    text = render(catalog, templates, kommun, outcome, language).text
    assert "{" not in text and "}" not in text and "None" not in text
    assert all(line == line.rstrip() and line for line in text.splitlines())
    assert "finns-inte" not in text and "atlantis" not in text  # ids a caller typed are never echoed


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kommun", KOMMUNER)
def test_a_kommun_uses_its_own_template_folder(catalog, templates, kommun, language):
    info = render(catalog, templates, kommun, "eligible", language)
    assert info.template == f"information/{kommun}/{language}@{templates.version}"


@pytest.mark.parametrize(
    ("requested", "used", "fallback"),
    [("sv", "sv", False), ("sv-SE", "sv", False), ("en-GB", "en", False), ("lattlast", "sv-lattlast", False),
     ("fi", "sv", True), ("ar", "sv", True), ("", "sv", True)],
    ids=["swedish is swedish", "a regional swedish tag is swedish", "british english is english",
         "lättläst has an alias", "finnish falls back to swedish and says so",
         "arabic falls back to swedish and says so", "no language falls back to swedish and says so"],
)
def test_a_missing_language_falls_back_to_swedish_and_the_fallback_is_recorded(
    catalog, templates, requested, used, fallback
):
    msg = sample(catalog, "sala", "eligible", requested)
    info = templates.render(information_context(msg, catalog), requested)
    assert (info.language, info.fallback, info.language_requested) == (used, fallback, requested)
    assert info.template == f"information/sala/{used}@{templates.version}"


def test_the_catalogues_named_alternatives_are_listed_when_the_wait_is_unreasonable(catalog, templates):
    kommun = catalog.kommun("sala")
    insats = kommun.insatser[0]
    named = insats.versions[0].model_copy(update={"alternatives": ["Familjerådgivning", "Öppen ingång"]})
    changed = kommun.model_copy(update={
        "reasonable_wait_days": 30,
        "insatser": [insats.model_copy(update={"versions": [named]}), *kommun.insatser[1:]],
    })
    cat = Catalog(kommuner={**catalog.kommuner, "sala": changed}, version="test")
    msg = sample(cat, "sala", "queue")
    text = templates.render(information_context(msg, cat, {insats.id: 45}), "sv").text
    assert "Utan behovsprövning: Du kan fråga om någon av de här insatserna:\n– Familjerådgivning\n– Öppen ingång" \
        in text
    assert "inom samma område" not in text
    short = templates.render(information_context(msg, cat, {insats.id: 30}), "sv").text
    assert "ungefär 30 dagar" in short and "Med behovsprövning" not in short


def test_without_named_alternatives_other_insatser_of_the_same_topic_without_a_long_queue_are_suggested(
    catalog, templates
):
    msg = sample(catalog, "sala", "queue")  # ABC: topic foraldraskap
    text = templates.render(information_context(msg, catalog, {msg.insats_id: 60, "foraldraprogram-strategi": 90}),
                            "sv").text
    assert "insatserna inom samma område:\n– Komet 3–11 år" in text
    assert "STRATEGI" not in text  # itself queued beyond reasonable time


def test_a_refusal_does_not_mention_the_queue(catalog, templates):
    msg = sample(catalog, "sala", "not_eligible")
    text = templates.render(information_context(msg, catalog, {msg.insats_id: 60}), "sv").text
    assert "väntetid" not in text


def test_a_kommun_folder_without_a_language_falls_back_to_the_generic_template_of_that_language(
    tmp_path, catalog, templates
):
    shutil.copytree(templates.directory, tmp_path / "t")
    (tmp_path / "t" / "sala" / "en.txt.j2").unlink()
    local = Templates(tmp_path / "t")
    info = local.render(information_context(sample(catalog, "sala", "eligible", "en"), catalog), "en")
    assert info.template.startswith("information/en@") and not info.fallback
    assert "kommun.info@sala.se" not in info.text and "0224-74 70 00" in info.text


def test_changing_a_reviewed_template_changes_the_recorded_version(tmp_path, templates):
    shutil.copytree(templates.directory, tmp_path / "t")
    before = Templates(tmp_path / "t").version
    path = tmp_path / "t" / "sv.txt.j2"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert Templates(tmp_path / "t").version != before


# Swedish that lost its å/ä/ö (as in the PDF extractions) must never reach a person
ASCII_SWEDISH = re.compile(
    r"\b(vardnadshavare|vardnadshavaren|behovsprovning|behovsprovad|provat|ratt|ansoka|ansoker|for|fran|"
    r"socialtjansten|socialnamnden|vantetid|vanta|utforare|utforaren|mojlighet|stod|hjalp|manad|sarskild|lamnar)\b"
)


@pytest.mark.parametrize("language", ("sv", "sv-lattlast"))
@pytest.mark.parametrize("kommun", KOMMUNER)
def test_the_swedish_texts_keep_their_a_ring_a_umlaut_and_o_umlaut(catalog, templates, kommun, language):
    for outcome in OUTCOMES:
        text = render(catalog, templates, kommun, outcome, language).text
        assert not ASCII_SWEDISH.search(text.lower()), ASCII_SWEDISH.search(text.lower())


def test_every_kommun_in_the_catalogue_has_reviewed_templates_in_every_language(catalog, templates):
    overrides = templates.kommun_overrides()
    assert set(overrides) == set(catalog.kommuner)
    assert all(set(langs) == set(templates.languages) for langs in overrides.values())
    assert set(templates.languages) == set(LANGUAGES)


def test_the_time_limit_is_the_decisions_last_day(catalog, templates):
    ctx = information_context(sample(catalog, "ostersund", "time_limited"), catalog)
    assert ctx.valid_until == NEXT_WEEKDAY


@pytest.mark.parametrize(
    ("language", "may_need", "how"),
    [("sv", "Är du under 18 år kan samtycke från din vårdnadshavare behövas.", CONSENT_HOW["sv"]),
     ("en", "If you are under 18, consent from your guardian may be needed.", CONSENT_HOW["en"]),
     ("sv-lattlast", "Är du under 18 år? Då kan din vårdnadshavare behöva säga ja.", CONSENT_HOW["sv-lattlast"])],
    ids=["swedish", "english", "lättläst"],
)
def test_an_unknown_age_says_once_that_consent_may_be_needed_and_how_it_is_given(
    catalog, templates, language, may_need, how
):
    d = decision("mellerud", "stodsamtal", Outcome.NEEDS_FACTS,
                 consent_result=consent(ConsentState.UNKNOWN, ConsentRequirement.ONE_GUARDIAN))
    text = templates.render(information_context(record("mellerud", "stodsamtal", decision_=d), catalog),
                            language).text
    assert text.count(may_need) == 1 and how in text
    assert "Samtycke behövs." not in text  # eligibility's Swedish explanation is not repeated
