"""Guardian consent by age band (21 kap 2 § SoL and the kommun's rules)."""

from __future__ import annotations

import pytest

from iub_contracts.catalog import ConsentPolicy, ConsentRequirement, SourceRef
from iub_contracts.decision import ConsentState
from iub_contracts.facts import Guardian
from iub_eligibility.domain.consent import evaluate_consent

NONE, ONE, ALL = (
    ConsentRequirement.NONE,
    ConsentRequirement.ONE_GUARDIAN,
    ConsentRequirement.ALL_GUARDIANS,
)
GIVEN, MISSING, NOT_REQUIRED, UNKNOWN = (
    ConsentState.GIVEN,
    ConsentState.MISSING,
    ConsentState.NOT_REQUIRED,
    ConsentState.UNKNOWN,
)
SRC = SourceRef(file="policy.txt", section="3.1")

LAW_DEFAULT = ConsentPolicy(source=SRC)  # under 15 one guardian, 15–17 one guardian
SUITABLE_15_17 = ConsentPolicy(age_15_17=NONE, suitable_15_17_without_consent=True, source=SRC)
BOTH_UNDER_15 = ConsentPolicy(  # Sala: "samtycke från båda vårdnadshavarna"
    under_15=ALL, age_15_17=NONE, suitable_15_17_without_consent=True, source=SRC
)
SALA_DROGSCREENING = ConsentPolicy(under_15=ALL, age_15_17=ONE, source=SRC)
MELLERUD_RADGIVNING = ConsentPolicy(
    under_15=NONE,
    age_15_17=NONE,
    exemption_reason="rådgivningssamtal är inte en programinsats",
    source=SRC,
)


def g(label: str, consent: bool | None) -> Guardian:
    return Guardian(label=label, consent=consent)


V1_YES, V1_NO, V1_ASKED = g("vh 1", True), g("vh 1", False), g("vh 1", None)
V2_YES, V2_NO, V2_ASKED = g("vh 2", True), g("vh 2", False), g("vh 2", None)

CASES = [
    # (id, policy, age, guardians, required, state, missing_from)
    ("adult needs no consent", SALA_DROGSCREENING, 18, None, NONE, NOT_REQUIRED, []),
    ("adult ignores a refusal", LAW_DEFAULT, 40, [V1_NO], NONE, NOT_REQUIRED, []),
    ("under 15 one guardian given", LAW_DEFAULT, 10, [V1_YES, V2_ASKED], ONE, GIVEN, []),
    (
        "under 15 one guardian of two refused one gave",
        LAW_DEFAULT,
        10,
        [V1_NO, V2_YES],
        ONE,
        GIVEN,
        [],
    ),
    (
        "under 15 one guardian none given",
        LAW_DEFAULT,
        14,
        [V1_ASKED, V2_NO],
        ONE,
        MISSING,
        ["vh 1", "vh 2"],
    ),
    ("under 15 guardians not given", LAW_DEFAULT, 14, None, ONE, MISSING, []),
    ("under 15 empty guardian list", LAW_DEFAULT, 14, [], ONE, MISSING, []),
    ("15-17 not suitable needs one guardian", LAW_DEFAULT, 16, [V1_ASKED], ONE, MISSING, ["vh 1"]),
    ("15-17 not suitable with consent", LAW_DEFAULT, 17, [V1_YES], ONE, GIVEN, []),
    ("15-17 suitable needs no consent", SUITABLE_15_17, 15, None, NONE, NOT_REQUIRED, []),
    (
        "15-17 suitable even if a guardian refuses",
        SUITABLE_15_17,
        17,
        [V1_NO, V2_NO],
        NONE,
        NOT_REQUIRED,
        [],
    ),
    (
        "15-17 suitable but under 15 still needs consent",
        SUITABLE_15_17,
        14,
        [V1_ASKED],
        ONE,
        MISSING,
        ["vh 1"],
    ),
    ("all guardians both given", BOTH_UNDER_15, 8, [V1_YES, V2_YES], ALL, GIVEN, []),
    (
        "all guardians one missing names it",
        BOTH_UNDER_15,
        8,
        [V1_YES, V2_ASKED],
        ALL,
        MISSING,
        ["vh 2"],
    ),
    (
        "all guardians one refused names it",
        BOTH_UNDER_15,
        8,
        [V1_NO, V2_YES],
        ALL,
        MISSING,
        ["vh 1"],
    ),
    (
        "all guardians none given names both",
        BOTH_UNDER_15,
        8,
        [V1_ASKED, V2_NO],
        ALL,
        MISSING,
        ["vh 1", "vh 2"],
    ),
    ("all guardians sole guardian suffices", BOTH_UNDER_15, 8, [V1_YES], ALL, GIVEN, []),
    ("all guardians not given", BOTH_UNDER_15, 8, None, ALL, MISSING, []),
    (
        "drug screening under 15 needs all guardians",
        SALA_DROGSCREENING,
        14,
        [V1_YES, V2_ASKED],
        ALL,
        MISSING,
        ["vh 2"],
    ),
    ("drug screening under 15 all given", SALA_DROGSCREENING, 14, [V1_YES, V2_YES], ALL, GIVEN, []),
    (
        "drug screening 15-17 one guardian is enough",
        SALA_DROGSCREENING,
        15,
        [V1_ASKED, V2_YES],
        ONE,
        GIVEN,
        [],
    ),
    (
        "drug screening 15-17 needs a guardian",
        SALA_DROGSCREENING,
        17,
        [V1_ASKED, V2_NO],
        ONE,
        MISSING,
        ["vh 1", "vh 2"],
    ),
    ("exemption under 15", MELLERUD_RADGIVNING, 9, None, NONE, NOT_REQUIRED, []),
    ("exemption 15-17", MELLERUD_RADGIVNING, 16, [V1_NO], NONE, NOT_REQUIRED, []),
    ("unknown age with a requirement", LAW_DEFAULT, None, [V1_YES], ONE, UNKNOWN, []),
    ("unknown age strictest requirement shown", SALA_DROGSCREENING, None, None, ALL, UNKNOWN, []),
    ("unknown age only under 15 needs consent", SUITABLE_15_17, None, None, ONE, UNKNOWN, []),
    (
        "unknown age no requirement at any age",
        MELLERUD_RADGIVNING,
        None,
        None,
        NONE,
        NOT_REQUIRED,
        [],
    ),
]


@pytest.mark.parametrize(
    ("policy", "age", "guardians", "required", "state", "missing_from"),
    [pytest.param(*rest, id=name) for name, *rest in CASES],
)
def test_consent_follows_the_rule_for_the_age_band(
    policy, age, guardians, required, state, missing_from
) -> None:
    result = evaluate_consent(policy, age, guardians)
    assert result.required is required
    assert result.state is state
    assert result.missing_from == missing_from
    assert result.explanation and result.basis


@pytest.mark.parametrize(
    ("policy", "age", "expected"),
    [
        pytest.param(SUITABLE_15_17, 16, "lämplighetsbedömning", id="suitability judgement"),
        pytest.param(SUITABLE_15_17, 16, "21 kap 2 §", id="suitability cites the law"),
        pytest.param(MELLERUD_RADGIVNING, 9, "inte en programinsats", id="exemption reason"),
        pytest.param(LAW_DEFAULT, 10, "21 kap 2 §", id="under 15 cites the law"),
        pytest.param(BOTH_UNDER_15, 10, "samtliga vårdnadshavare", id="kommun rule for all"),
        pytest.param(LAW_DEFAULT, 10, "policy.txt", id="the policy source is cited"),
    ],
)
def test_the_basis_names_the_rule_that_applied(policy, age, expected: str) -> None:
    result = evaluate_consent(policy, age, [V1_YES])
    assert expected.lower() in result.basis.lower()


def test_missing_guardians_are_explained_as_consent_needed() -> None:
    result = evaluate_consent(LAW_DEFAULT, 10, None)
    assert "vårdnadshavarens samtycke behövs" in result.explanation


def test_the_missing_guardian_is_named_in_the_explanation() -> None:
    result = evaluate_consent(BOTH_UNDER_15, 8, [V1_YES, V2_ASKED])
    assert "vh 2" in result.explanation and "vh 1" not in result.explanation
