"""No personnummer passes the log redaction, in any form, in any field, in exceptions too."""

import io
import json
import sys

import pytest
import structlog

from iub_runtime.logging import configure_logging, redaction_processor
from iub_runtime.pii import PNR_MASK, find_pii, redact_all, redact_personnummer


@pytest.mark.parametrize(
    "text",
    ["198112189876", "19811218-9876", "811218-9876", "8112189876", "811218+9876", "19811278-9876", "811278 9876",
     "pnr=19811218-9876;", "(198112189876)"],
    ids=["12 digits", "12 with dash", "10 with dash", "10 digits", "plus for 100+", "samordningsnummer",
         "samordningsnummer with space", "inside a key=value", "in parentheses"],
)
def test_a_personnummer_in_any_form_is_masked(text):
    out = redact_personnummer(text)
    assert PNR_MASK in out
    assert "9876" not in out


@pytest.mark.parametrize(
    "text",
    ["request 0b8f2f8e-6a8c-4c8e-9a57-3c1f6f7c2a11", "entry 1757082600000-0", "took 12.5 ms", "2025-09-05"],
    ids=["a uuid", "a stream entry id", "a duration", "a date"],
)
def test_ordinary_values_are_left_alone(text):
    assert redact_personnummer(text) == text


def test_phone_and_email_are_found_by_kind_without_the_value():
    assert find_pii("ring 070-123 45 67") == ["phone"]
    assert find_pii("skriv till anna@example.se") == ["email"]
    assert "anna" not in redact_all("skriv till anna@example.se")


def test_the_processor_masks_nested_fields_and_integers():
    event = {"event": "x", "facts": {"pnr": "19811218-9876", "list": ["811218-9876"]}, "n": 198112189876}
    out = redaction_processor(None, "info", event)
    assert "9876" not in json.dumps(out)


def test_a_logged_exception_with_a_personnummer_in_its_message_is_masked(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    configure_logging("test", json=True)
    log = structlog.get_logger("t")
    try:
        raise ValueError("bad input 19811218-9876")
    except ValueError:
        log.exception("failed", pnr="198112189876")
    out = buf.getvalue()
    assert "failed" in out and "ValueError" in out
    assert "9876" not in out


def test_stdlib_loggers_go_through_the_same_redaction(monkeypatch):
    import logging

    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    configure_logging("test", json=True)
    logging.getLogger("iub.test.stdlib").error("payload %s", "19811218-9876")
    assert "payload" in buf.getvalue()
    assert "9876" not in buf.getvalue()


# ---------------------------------------------------------------- issue 14 (6): ids are never mangled

import datetime as dt  # noqa: E402
import uuid  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _luhn(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        d = int(ch) * (2 - i % 2)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


@st.composite
def personnummer_forms(draw) -> str:
    """A valid personnummer or samordningsnummer in one of its written forms."""
    born = draw(st.dates(min_value=dt.date(1890, 1, 1), max_value=dt.date(2025, 12, 31)))
    day = born.day + (60 if draw(st.booleans()) else 0)  # samordningsnummer: day + 60
    serial = draw(st.integers(0, 999))
    ten = f"{born:%y%m}{day:02d}{serial:03d}"
    ten += _luhn(ten)
    form = draw(st.sampled_from(["12", "12-", "10", "10-", "10+", "10 "]))
    century = f"{born.year // 100}"
    return {"12": century + ten, "12-": f"{century}{ten[:6]}-{ten[6:]}", "10": ten, "10-": f"{ten[:6]}-{ten[6:]}",
            "10+": f"{ten[:6]}+{ten[6:]}", "10 ": f"{ten[:6]} {ten[6:]}"}[form]


@settings(max_examples=3000, deadline=None)
@given(st.uuids())
def test_no_uuid_is_ever_masked_in_text_or_in_an_id_field(u: uuid.UUID):
    text = str(u)
    assert redact_personnummer(f"request {text} accepted") == f"request {text} accepted"
    assert redact_all(text.upper()) == text.upper()
    assert redact_personnummer(u.hex) == u.hex
    assert find_pii(f"request_id={text}") == []
    event = {"event": "x", "request_id": text, "correlation_id": text, "note": f"for {text}"}
    assert redaction_processor(None, "info", dict(event)) == event


@settings(max_examples=2000, deadline=None)
@given(st.uuids(), personnummer_forms(), st.sampled_from(["{u} {p}", "{p} {u}", "{u}:{p}", "{p}/{u}", "pnr={p}"]))
def test_every_personnummer_form_is_masked_next_to_uuids(u: uuid.UUID, pnr: str, layout: str):
    text = layout.format(u=u, p=pnr)
    out = redact_personnummer(text)
    assert pnr not in out and PNR_MASK in out
    if "{u}" in layout:
        assert str(u) in out
    assert "personnummer" in find_pii(text)
    logged = redaction_processor(None, "info", {"event": "x", "request_id": str(u), "pnr": pnr, "msg": text})
    assert pnr not in json.dumps(logged) and logged["request_id"] == str(u)


def test_an_id_field_that_is_not_an_id_is_still_scrubbed():
    out = redaction_processor(None, "info", {"event": "x", "request_id": "19811218-9876", "entry_id": "811218-9876"})
    assert "9876" not in json.dumps(out)
