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
