"""Building the documentation record of the level the insats has (14 kap 3/4/5 § SoL)."""

from __future__ import annotations

import datetime as dt

from iub_audit.domain.age_band import age_band
from iub_audit.domain.linkage import LinkKeys, stored_id
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.messages import AuditStep, DecisionMade, InformationGiven
from iub_contracts.records import (
    AdvisoryRecord,
    AnonymisedRecord,
    ConsentBasis,
    IndividualRecord,
    InformationPart,
)

UNKNOWN_TOPIC = "okand-insats"


class IdentityMissing(Exception):
    """An individually documented insats arrived without a personnummer."""


def revision_step(step: str, revision: int) -> str:
    """The step of a record: 'decision' / 'information', and 'decision:r2' … for a revision."""
    return step if revision == 0 else f"{step}:r{revision}"


def _legal_gender(msg: DecisionMade) -> str:
    return msg.legal_gender or "okänt"


def reason_codes(msg: DecisionMade) -> list[str]:
    """De-identified reasons: villkor not met or unknown, consent state, or the error code."""
    if msg.error is not None:
        return [f"error:{msg.error.code.value}"]
    d = msg.decision
    codes = [f"villkor:{v.villkor_id}:{v.status.value}" for v in d.villkor if v.status.value != "met"]
    if d.consent.state.value not in ("not_required", "given"):
        codes.append(f"consent:{d.consent.state.value}")
    return codes


def _level_name(level: DocumentationLevel | None) -> str:
    return "advisory" if level is None else level.value


def build_decision_record(msg: DecisionMade, level: DocumentationLevel | None, topic: str | None, *,
                          keys: LinkKeys):
    """The record of a decision at the insats's level; unknown insats → advisory (no personal data).

    14 kap 4–5 §: the record's id is a keyed hash, never the request id (see domain.linkage).
    """
    step = revision_step(AuditStep.DECISION.value, msg.revision)
    common = dict(
        request_id=stored_id(_level_name(level), msg.request_id, step, keys),
        step=step,
        kommun=msg.kommun,
        insats_id=msg.insats_id,
        day=request_day(msg.received_at),
        channel=msg.channel,
    )
    outcome = msg.decision.outcome.value if msg.decision else None
    if level is None or level is DocumentationLevel.ADVISORY:
        return AdvisoryRecord(**common, topic=topic or UNKNOWN_TOPIC)
    if level is DocumentationLevel.ANONYMISED:
        return AnonymisedRecord(
            **common,
            age_band=age_band(msg.age_at_request),
            legal_gender=_legal_gender(msg),
            outcome=outcome,
            reason_codes=reason_codes(msg),
        )
    if not msg.facts.personnummer:
        raise IdentityMissing("individual-level insats without personnummer")
    d = msg.decision
    return IndividualRecord(
        **common,
        personnummer=msg.facts.personnummer,
        insats_name=d.insats_name if d else None,
        catalog_version=d.catalog_version if d else msg.error.catalog_version,
        received_at=msg.received_at,
        outcome=outcome,
        error_code=msg.error.code.value if msg.error else None,
        villkor=list(d.villkor) if d else [],
        consent_state=d.consent.state.value if d else None,
        consent_basis=[
            ConsentBasis(guardian=g.label, consent=g.consent, recorded_by=g.recorded_by,
                         recorded_at=g.recorded_at)
            for g in (msg.facts.guardians or [])
        ],
        valid_until=d.valid_until if d else None,
    )


def build_information_record(msg: InformationGiven, level: DocumentationLevel | None, personnummer: str | None,
                             topic: str | None, *, keys: LinkKeys, day: dt.date | None = None):
    """The record that the 11 kap 6 § information was given, at the level of the request's decision.

    ``day``: the day of the request's decision record, so coverage counts received and informed
    per day without pairing records (default: the day the information was given).
    """
    part = InformationPart(
        status=msg.status.value,
        template=msg.template,
        language=msg.language,
        text_sha256=msg.text_sha256,
        delivered_via=msg.delivered_via,
        attempts=msg.attempts,
    )
    step = revision_step(AuditStep.INFORMATION.value, msg.revision)
    common = dict(
        request_id=stored_id(_level_name(level), msg.request_id, step, keys),
        step=step,
        kommun=msg.kommun,
        insats_id=msg.insats_id,
        day=day or request_day(msg.occurred_at),
        channel=msg.channel,
        information=part,
    )
    if level is None or level is DocumentationLevel.ADVISORY:
        return AdvisoryRecord(**common, topic=topic or UNKNOWN_TOPIC)
    if level is DocumentationLevel.ANONYMISED:
        # the age band and gender are documented once, with the decision
        return AnonymisedRecord(**common, age_band="okänd", legal_gender="okänt", outcome=msg.outcome)
    if not personnummer:
        raise IdentityMissing("no individual decision record to attach the information to")
    return IndividualRecord(**common, personnummer=personnummer, outcome=msg.outcome)
