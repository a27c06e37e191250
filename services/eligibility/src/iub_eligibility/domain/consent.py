"""Guardian consent (vårdnadshavares samtycke) for one insats, by the person's age band.

Rules (21 kap 2 § SoL and the kommun's own rules, see DOMAIN.md):
- 18 or older: no guardian consent (vårdnaden upphör vid 18 år, 6 kap 2 § föräldrabalken);
- under 15: the policy's ``under_15`` requirement (the law's default: a guardian's consent);
- 15–17: ``age_15_17``; none only where the board judged the insats suitable without consent
  (lämplighetsbedömning) or the kommun exempted it.

Readings chosen where the texts leave room:
- ``ApplicantFacts.guardians`` is *all* vårdnadshavare (its contract says so). "All guardians"
  (Sala: "samtycke från samtliga vårdnadshavarna") therefore means every listed guardian; a
  list with one guardian is the facts saying the child has a sole guardian, whose consent is
  then all the consent there is.
- Guardians not given (None) or an empty list when consent is required: MISSING (the outcome
  asks for consent, which an utförare records per guardian), not UNKNOWN.
- Age unknown: UNKNOWN whenever any band under 18 needs consent; when no band needs consent,
  the age does not matter and consent is NOT_REQUIRED.
"""

from __future__ import annotations

from collections.abc import Sequence

from iub_contracts.catalog import ConsentPolicy, ConsentRequirement
from iub_contracts.decision import ConsentResult, ConsentState
from iub_contracts.facts import Guardian

NONE, ONE, ALL = (
    ConsentRequirement.NONE,
    ConsentRequirement.ONE_GUARDIAN,
    ConsentRequirement.ALL_GUARDIANS,
)
_STRICTNESS = {NONE: 0, ONE: 1, ALL: 2}

LAW = "21 kap 2 § SoL"
ADULT_BASIS = "6 kap 2 § föräldrabalken: vårdnaden upphör när barnet fyller 18 år"


def _with_source(text: str, policy: ConsentPolicy) -> str:
    src = policy.source
    return text if src is None else f"{text.rstrip('.')}; källa: {src.file}, avsnitt {src.section}"


def _result(
    required: ConsentRequirement,
    state: ConsentState,
    explanation: str,
    basis: str,
    missing_from: list[str] | None = None,
) -> ConsentResult:
    # model_construct: inputs are already validated catalogue and facts models.
    return ConsentResult.model_construct(
        required=required,
        state=state,
        missing_from=missing_from if missing_from is not None else [],
        explanation=explanation,
        basis=basis,
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _labels(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " och " + labels[-1]


def _no_consent_basis(policy: ConsentPolicy, under_15: bool) -> str:
    if not under_15 and policy.suitable_15_17_without_consent:
        return _with_source(f"Lämplighetsbedömning för 15–17 år ({LAW})", policy)
    return _with_source(f"Undantag från samtyckeskravet: {policy.exemption_reason}", policy)


def _required_basis(policy: ConsentPolicy, required: ConsentRequirement, under_15: bool) -> str:
    if required is ALL:
        return _with_source(
            f"Kommunens regel: samtycke från samtliga vårdnadshavare ({LAW})", policy
        )
    if under_15:
        return _with_source(f"{LAW}: barn under 15 år behöver vårdnadshavares samtycke", policy)
    return _with_source(
        f"{LAW}: insatsen är inte bedömd lämplig utan samtycke för 15–17 år", policy
    )


def evaluate_consent(
    policy: ConsentPolicy, age: int | None, guardians: Sequence[Guardian] | None
) -> ConsentResult:
    """Whether guardian consent is needed at this age and, if so, whether it is given."""
    if age is None:
        strictest = max(policy.under_15, policy.age_15_17, key=_STRICTNESS.__getitem__)
        if strictest is NONE:
            return _result(
                NONE,
                ConsentState.NOT_REQUIRED,
                "Insatsen kräver inte vårdnadshavares samtycke i någon ålder.",
                _no_consent_basis(policy, under_15=True),
            )
        return _result(
            strictest,
            ConsentState.UNKNOWN,
            "Åldern är inte känd. Barn under 18 år kan behöva vårdnadshavares samtycke.",
            _with_source(LAW, policy),
        )
    if age >= 18:
        return _result(
            NONE, ConsentState.NOT_REQUIRED, "Du är vuxen; inget samtycke behövs.", ADULT_BASIS
        )

    under_15 = age < 15
    required = policy.under_15 if under_15 else policy.age_15_17
    if required is NONE:
        if under_15:
            why = _sentence(
                "Barn under 15 år kan ta del av insatsen utan vårdnadshavares samtycke: "
                f"{policy.exemption_reason}"
            )
        elif policy.suitable_15_17_without_consent:
            why = (
                "Nämnden har bedömt insatsen lämplig för 15–17-åringar utan vårdnadshavares "
                "samtycke."
            )
        else:
            why = _sentence(
                "15–17-åringar kan ta del av insatsen utan vårdnadshavares samtycke: "
                f"{policy.exemption_reason}"
            )
        return _result(NONE, ConsentState.NOT_REQUIRED, why, _no_consent_basis(policy, under_15))

    basis = _required_basis(policy, required, under_15)
    if not guardians:
        who = "samtliga vårdnadshavares" if required is ALL else "en vårdnadshavares"
        return _result(
            required,
            ConsentState.MISSING,
            f"Uppgift om vårdnadshavare saknas: vårdnadshavarens samtycke behövs ({who}).",
            basis,
        )

    if required is ONE:
        givers = [g.label for g in guardians if g.consent is True]
        if givers:
            return _result(
                required, ConsentState.GIVEN, f"Samtycke har lämnats av {_labels(givers)}.", basis
            )
        missing = [g.label for g in guardians]
        return _result(
            required,
            ConsentState.MISSING,
            f"Samtycke från en vårdnadshavare behövs; det saknas eller har nekats av "
            f"{_labels(missing)}.",
            basis,
            missing,
        )

    # ALL: every listed vårdnadshavare (the list is all of them; one listed = sole guardian).
    missing = [g.label for g in guardians if g.consent is not True]
    if not missing:
        return _result(
            required,
            ConsentState.GIVEN,
            "Samtycke har lämnats av samtliga vårdnadshavare.",
            basis,
        )
    return _result(
        required,
        ConsentState.MISSING,
        f"Samtycke från samtliga vårdnadshavare behövs; det saknas eller har nekats av "
        f"{_labels(missing)}.",
        basis,
        missing,
    )
