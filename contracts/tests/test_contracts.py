"""Contract rules that protect people: no input echoed in errors, envelope rules, stream names."""

import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from iub_contracts import streams
from iub_contracts.facts import ApplicantFacts
from iub_contracts.messages import Channel, DecisionMade, DeliveryTarget, RequestReceived

CANARY = "19121212-1212"
NOW = dt.datetime(2025, 9, 1, 10, 0, tzinfo=dt.UTC)


def test_a_validation_error_never_echoes_a_personnummer():
    with pytest.raises(ValidationError) as exc:
        ApplicantFacts(personnummer=CANARY)
    assert CANARY not in str(exc.value)
    assert "191212" not in str(exc.value)


def test_a_request_must_correlate_with_its_own_id():
    rid = uuid.uuid4()
    with pytest.raises(ValidationError):
        RequestReceived(correlation_id=uuid.uuid4(), occurred_at=NOW, request_id=rid, kommun="sala",
                        insats_id="x", channel=Channel.APP, facts=ApplicantFacts(), received_at=NOW)


def test_occurred_at_must_be_timezone_aware():
    rid = uuid.uuid4()
    with pytest.raises(ValidationError):
        RequestReceived(correlation_id=rid, occurred_at=NOW.replace(tzinfo=None), request_id=rid, kommun="sala",
                        insats_id="x", channel=Channel.APP, facts=ApplicantFacts(), received_at=NOW)


def test_a_decision_message_holds_exactly_one_of_decision_and_error():
    rid = uuid.uuid4()
    with pytest.raises(ValidationError):
        DecisionMade(correlation_id=rid, occurred_at=NOW, request_id=rid, kommun="sala", insats_id="x",
                     channel=Channel.APP, language="sv", delivery=DeliveryTarget(), facts=ApplicantFacts(),
                     received_at=NOW)


@pytest.mark.parametrize(
    ("kind", "fields"),
    [("app_callback", {}), ("telephony", {})],
    ids=["an app callback without url is refused", "a telephony delivery without call ref is refused"],
)
def test_delivery_target_needs_its_address(kind, fields):
    with pytest.raises(ValidationError):
        DeliveryTarget(kind=kind, **fields)


def test_stream_names_are_versioned_and_every_stream_has_consumers():
    for s in streams.ALL_STREAMS:
        assert s.startswith("iub.") and s.endswith(".v1")
        assert streams.CONSUMERS[s]
    assert streams.dead_letter_stream(streams.REQUESTS) == "iub.intake.requested.v1.dlq"


@pytest.mark.parametrize("tag", ["sv-19760210-3736", "19760210-3736", "sv-x", "klingon", "en-SE", "sv-lättläst"])
def test_a_language_tag_outside_the_fixed_list_is_refused_without_echoing_it(tag):
    from iub_contracts.api import RequestIn

    with pytest.raises(ValidationError) as err:
        RequestIn(kommun="sala", insats_id="x", language=tag)
    assert tag not in str(err.value)


@pytest.mark.parametrize(("tag", "canonical"), [("sv", "sv"), ("SV-se", "sv-SE"), ("SV-LATTLAST", "sv-lattlast"),
                                                ("en-gb", "en-GB"), ("fi", "fi")])
def test_a_listed_language_tag_is_carried_in_its_listed_spelling(tag, canonical):
    from iub_contracts.api import RequestIn

    assert RequestIn(kommun="sala", insats_id="x", language=tag).language == canonical


def test_the_api_delivery_never_takes_a_handle_and_messages_never_need_the_target():
    from iub_contracts.api import DeliveryIn

    with pytest.raises(ValidationError):
        DeliveryIn(kind="app_callback", callback_url="https://app.example/cb", handle="x")
    assert DeliveryTarget(kind="app_callback", handle="AbC_-1").callback_url is None
    with pytest.raises(ValidationError):
        DeliveryTarget(kind="telephony")
