"""The carrying-out state machine and input checks (pure)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from audit_support import CATALOG

from iub_audit.domain.carrying_out import input_problems, order_problem, step_of
from iub_contracts.provider import CarryingOutEventIn

CODES = CATALOG.kommun("ostersund").followup
DAY = dt.date(2025, 9, 5)


def ev(kind, **kw):
    return CarryingOutEventIn(event_id=uuid.uuid4(), kind=kind, date=kw.pop("date", DAY), **kw)


@pytest.mark.parametrize(("prior", "kind", "ok"), [
    ([], "start", True), ([], "contact", False), ([], "end", True),  # an end without start: never_started
    (["start"], "contact", True), (["start"], "start", False), (["start", "contact"], "end", True),
    (["start", "end"], "contact", False), (["start", "end"], "end", False), (["end"], "start", False),
])
def test_the_order_of_events(prior, kind, ok):
    assert (order_problem(prior, kind) is None) is ok


def test_a_contact_step_fits_the_step_column_and_is_stable():
    e = ev("contact", form="phone", minutes=5)
    assert step_of(e) == step_of(e) and len(step_of(e)) == 20 and step_of(ev("start")) == "start"


@pytest.mark.parametrize(("level", "event", "fields"), [
    ("individual", ev("contact"), {"form", "minutes"}),
    ("individual", ev("end", end="ended_early"), {"reason"}),
    ("individual", ev("end", end="completed", reason="flyttat"), {"reason"}),
    ("individual", ev("start", note="n" * 501), {"note"}),
    ("individual", ev("start", note="n" * 500), set()),
    ("anonymised", ev("start", note="n"), {"note"}),
    ("anonymised", ev("start", situation="okand-kod"), {"situation"}),
    ("anonymised", ev("start", scales={"maende": 6}), {"scales.maende"}),
    ("anonymised", ev("contact", form="group", minutes=60, scales={"maende": 3}), {"scales"}),
    ("individual", ev("start", situation="arbetssokande"), {"situation"}),
    ("individual", ev("start", date=DAY - dt.timedelta(days=1)), {"date"}),
    ("individual", ev("start", date=DAY + dt.timedelta(days=2)), {"date"}),
])
def test_input_problems_name_fields(level, event, fields):
    found = {p.field for p in input_problems(level, CODES, DAY, DAY + dt.timedelta(days=1), event)}
    assert found == fields


def test_a_contact_step_has_no_digits_the_pii_guard_could_mistake():
    assert not any(c.isdigit() for _ in range(500) for c in step_of(ev("contact", form="phone", minutes=5))[8:])
