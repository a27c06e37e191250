"""What to store for a message: the record at the insats's level, or a refusal that names no person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from iub_audit.domain.linkage import LinkKeys
from iub_audit.domain.pii_guard import PiiRefused, check_no_pii
from iub_audit.domain.records import IdentityMissing, build_decision_record, build_information_record
from iub_contracts.calendar import request_day
from iub_contracts.catalog import DocumentationLevel
from iub_contracts.catalog_loader import Catalog
from iub_contracts.messages import DecisionMade, InformationGiven
from iub_contracts.records import AdvisoryRecord, AnonymisedRecord, IndividualRecord

Record = IndividualRecord | AnonymisedRecord | AdvisoryRecord


@dataclass(frozen=True)
class Prepared:
    """A record ready for the store: its JSON body and, at individual level only, the identity column."""

    body: dict[str, Any]
    personnummer: str | None
    aliases: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """The record's documentation level."""
        return self.body["level"]

    @property
    def item(self) -> tuple[dict[str, Any], str | None, tuple[str, ...]]:
        """What ``AuditStore.append_many`` takes: body, identity column, ids under previous link keys."""
        return self.body, self.personnummer, self.aliases


@dataclass(frozen=True)
class Refused:
    """A record that must not be stored; ``reason`` names kinds and fields, never values."""

    error_type: str
    reason: str


@dataclass(frozen=True)
class Documented:
    """A decision's documentation: the level in the catalogue (None: no entry) and the record or refusal."""

    catalog_level: DocumentationLevel | None
    record: Prepared | Refused


def level_and_topic(catalog: Catalog, kommun: str, insats_id: str,
                    on: dt.date) -> tuple[DocumentationLevel | None, str | None]:
    """The documentation level and topic of the insats version in force (a board decision, never the request's)."""
    v = catalog.version_in_force(kommun, insats_id, on)
    return (None, None) if v is None else (v.documentation.level, v.topic)


def prepare(record: Record, aliases: list[str] | tuple[str, ...] = ()) -> Prepared:
    """The record as stored; anonymised and advisory records must pass the PII guard (14 kap 4–5 §)."""
    body = record.model_dump(mode="json")
    if isinstance(record, IndividualRecord):
        return Prepared(body, record.personnummer)
    check_no_pii(body)
    return Prepared(body, None, tuple(aliases))


def _refusal(exc: Exception) -> Refused:
    if isinstance(exc, ValidationError):  # locations only: hide_input_in_errors keeps values out
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)})
        return Refused("ValidationError", f"invalid field {', '.join(fields)}")
    return Refused(type(exc).__name__, str(exc))


def document_decision(catalog: Catalog, msg: DecisionMade, keys: LinkKeys) -> Documented:
    """The decision record at the level of the insats version in force on the request's day."""
    level, topic = level_and_topic(catalog, msg.kommun, msg.insats_id, request_day(msg.received_at))
    try:
        return Documented(level, prepare(build_decision_record(msg, level, topic, keys=keys),
                                         keys.aliases(msg.request_id, "decision")))
    except (PiiRefused, IdentityMissing, ValidationError) as exc:
        return Documented(level, _refusal(exc))


def document_information(catalog: Catalog, msg: InformationGiven,
                         decided: tuple[str, str | None, dt.date | None] | tuple[str, str | None] | None,
                         keys: LinkKeys, day: dt.date | None = None) -> Prepared | Refused:
    """The information record, at the level its decision was documented at (else the catalogue's).

    ``decided`` is (level, personnummer, day) of the request's decision record, if there is one
    (``AuditStore.decisions_for`` with ``keys``); the information record takes the decision's day,
    else ``day`` (the request's day, when the information is documented before its decision).
    Raises IdentityMissing for an individual-level insats whose decision is not documented
    yet, so the delivery is retried (and dead-lettered by the claimer if it never comes).
    """
    day = decided[2] if decided is not None and len(decided) > 2 else day
    if decided is not None:
        level, identity = DocumentationLevel(decided[0]), decided[1]
        topic = level_and_topic(catalog, msg.kommun, msg.insats_id, request_day(msg.occurred_at))[1]
    else:
        level, topic = level_and_topic(catalog, msg.kommun, msg.insats_id, request_day(msg.occurred_at))
        identity = None
    try:  # IdentityMissing is not caught: the delivery is retried
        return prepare(build_information_record(msg, level, identity, topic, keys=keys, day=day),
                       keys.aliases(msg.request_id, "information"))
    except (PiiRefused, ValidationError) as exc:
        return _refusal(exc)


def document_revision(catalog: Catalog, msg: DecisionMade, case: Any, keys: LinkKeys) -> Prepared | Refused:
    """A revision's record at its case's level (the level of the first decision, a board decision).

    At 14 kap 5 § the age band and gender are the case's (the facts kept for re-deciding hold the
    age only generalised to the insats's limits). ``case`` is the case row, None when unknown.
    """
    if case is None:
        return Refused("UnknownCase", "no case for the revision")
    level = DocumentationLevel(case.level)
    topic = level_and_topic(catalog, msg.kommun, msg.insats_id, case.request_day)[1]
    try:
        record = build_decision_record(msg, level, topic, keys=keys)
        if isinstance(record, AnonymisedRecord):
            record = AnonymisedRecord.model_validate(record.model_dump() | {
                "age_band": case.age_band or "okänd", "legal_gender": case.legal_gender or "okänt",
                "day": case.request_day})
        elif record.day != case.request_day:
            record = type(record).model_validate(record.model_dump() | {"day": case.request_day})
        return prepare(record, keys.aliases(msg.request_id, record.step))
    except (PiiRefused, IdentityMissing, ValidationError) as exc:
        return _refusal(exc)
