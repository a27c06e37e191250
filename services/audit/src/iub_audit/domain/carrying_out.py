"""Carrying out an insats (pure): the event state machine, input checks per level, and the record.

14 kap 3 § SoL covers "genomförandet av insatser"; 14 kap 5 § requires de-identified facts even
where identity is not documented (participants, reasons for ending early, social situation and
wellbeing at start and end); 14 kap 4 § only counts. Problems name fields, never values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence

from iub_audit.domain.linkage import LinkKeys
from iub_contracts.api import FieldProblem
from iub_contracts.catalog import FollowupCodes
from iub_contracts.provider import AdvisoryCountIn, CarryingOutEventIn
from iub_contracts.records import (
    AdvisoryRecord,
    AnonymisedRecord,
    CarryingOutPart,
    IndividualCarryingOut,
    IndividualRecord,
)

INDIVIDUAL, ANONYMISED, ADVISORY = "individual", "anonymised", "advisory"


def step_of(ev: CarryingOutEventIn) -> str:
    """The record's step: 'start', 'end', or 'contact:<12 letters from a hash of the event id>'.

    Letters, not hex digits: a run of digits could look like a personnummer to the PII guard. 12
    letters of 16 values fit the step column (20).
    """
    if ev.kind == "contact":
        digest = hashlib.sha256(str(ev.event_id).encode()).digest()
        return "contact:" + "".join("abcdefghijklmnop"[b & 15] for b in digest[:12])
    return ev.kind


def order_problem(prior: Sequence[str], kind: str) -> str | None:
    """Why an event cannot come now (409), or None. ``prior``: kinds already documented, in order."""
    started, ended = "start" in prior, "end" in prior
    if ended:
        return {"start": "insatsen är redan avslutad", "contact": "insatsen är redan avslutad",
                "end": "insatsen är redan avslutad"}[kind]
    if kind == "start" and started:
        return "insatsen är redan påbörjad"
    if kind == "contact" and not started:
        return "kontakt före start"
    return None


def input_problems(level: str, codes: FollowupCodes | None, request_day: dt.date, today: dt.date,
                   ev: CarryingOutEventIn, prior_days: Sequence[dt.date] = ()) -> list[FieldProblem]:
    """422 problems of one event at the insats's level (fields only, never values)."""
    p: list[FieldProblem] = []
    if ev.date < request_day:
        p.append(FieldProblem(field="date", problem="före förfrågan"))
    if ev.date > today:
        p.append(FieldProblem(field="date", problem="i framtiden"))
    if prior_days and ev.date < max(prior_days) and ev.kind == "end":
        p.append(FieldProblem(field="date", problem="före en tidigare händelse"))
    if ev.kind == "contact":
        if ev.form is None:
            p.append(FieldProblem(field="form", problem="saknas"))
        if ev.minutes is None:
            p.append(FieldProblem(field="minutes", problem="saknas"))
    elif ev.form is not None or ev.minutes is not None:
        p.append(FieldProblem(field="form" if ev.form is not None else "minutes", problem="bara för kontakt"))
    if ev.kind == "end":
        if ev.end is None:
            p.append(FieldProblem(field="end", problem="saknas"))
        elif ev.end == "ended_early":
            allowed = {c.code for c in codes.end_reasons} if codes else set()
            if ev.reason is None:
                p.append(FieldProblem(field="reason", problem="saknas"))
            elif ev.reason not in allowed:
                p.append(FieldProblem(field="reason", problem="inte i kommunens lista"))
        elif ev.reason is not None:
            p.append(FieldProblem(field="reason", problem="bara vid avslut i förtid"))
    elif ev.end is not None or ev.reason is not None:
        p.append(FieldProblem(field="end" if ev.end is not None else "reason", problem="bara vid avslut"))
    if ev.note is not None:
        limit = codes.note_max_chars if codes else 500
        if level != INDIVIDUAL:  # 14 kap 4–5 §: no free text
            p.append(FieldProblem(field="note", problem="fritext är inte tillåten på denna dokumentationsnivå"))
        elif len(ev.note) > limit:
            p.append(FieldProblem(field="note", problem=f"längre än {limit} tecken"))
    if ev.situation is not None or ev.scales:
        if level != ANONYMISED:
            p.append(FieldProblem(field="situation" if ev.situation else "scales", problem="bara för 14 kap 5 §"))
        elif ev.kind == "contact":
            p.append(FieldProblem(field="situation" if ev.situation else "scales", problem="bara vid start och avslut"))
        else:
            if ev.situation is not None and ev.situation not in {c.code for c in (codes.situation if codes else [])}:
                p.append(FieldProblem(field="situation", problem="inte i kommunens lista"))
            scales = {s.id: s for s in (codes.scales if codes else [])}
            for key, value in ev.scales.items():
                s = scales.get(key)
                if s is None:
                    p.append(FieldProblem(field="scales", problem="okänd skala"))
                elif not s.min <= value <= s.max:
                    p.append(FieldProblem(field=f"scales.{key}", problem="utanför skalan"))
    return p


def _part(ev: CarryingOutEventIn) -> dict:
    return dict(kind=ev.kind, date=ev.date, form=ev.form, minutes=ev.minutes, end=ev.end, reason=ev.reason,
                situation=ev.situation, scales=dict(ev.scales))


def event_record(level: str, *, case_id: str, kommun: str, insats_id: str, channel: str, personnummer: str | None,
                 age_band: str | None, legal_gender: str | None, ev: CarryingOutEventIn,
                 keys: LinkKeys) -> IndividualRecord | AnonymisedRecord:
    """The chain record of an event at the case's level (14:5: under a keyed id, codes only)."""
    step = step_of(ev)
    common = dict(step=step, kommun=kommun, insats_id=insats_id, day=ev.date, channel=channel)
    if level == INDIVIDUAL:
        return IndividualRecord(request_id=uuid.UUID(case_id), personnummer=personnummer, **common,
                                carrying_out=IndividualCarryingOut(event_id=ev.event_id, staff_note=ev.note,
                                                                   **_part(ev)))
    return AnonymisedRecord(request_id=keys.record_id(case_id, step), age_band=age_band or "okänd",
                            legal_gender=legal_gender or "okänt", **common, carrying_out=CarryingOutPart(**_part(ev)))


def count_record(ev: AdvisoryCountIn, keys: LinkKeys) -> AdvisoryRecord:
    """14 kap 4 §: one day's count for a topic and channel, under a keyed id of the event (no case, no person)."""
    return AdvisoryRecord(request_id=keys.record_id(str(ev.event_id), "count"), step="count", kommun=ev.kommun,
                          insats_id=ev.insats_id, day=ev.date, channel=ev.channel, topic=ev.topic, count=ev.count,
                          form=ev.form)


def details(ev: CarryingOutEventIn, level: str) -> dict:
    """What the case view shows of an event (the note only at 14 kap 3 §)."""
    out = {k: v for k, v in _part(ev).items() if v not in (None, {}) and k not in ("kind", "date")}
    if level == INDIVIDUAL and ev.note:
        out["note"] = ev.note
    return out
