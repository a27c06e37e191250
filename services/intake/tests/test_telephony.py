"""Kundcenter telephony end to end in-process: signed events → stream; every bad signature refused."""

from __future__ import annotations

import json
import time

import pytest
from intake_support import SECRETS, bearer, call_event, form_event, requests_on_stream, signed, xlen

URL = "/v1/telephony/events"


async def test_an_agent_form_becomes_a_telephony_request_delivered_to_the_call(http, r):
    raw = form_event(call_ref="line-42", stated_age=40, folkbokford_i_kommunen=True)
    resp = await http.post(URL, content=raw, headers=signed("phone-sala", raw))
    assert resp.status_code == 202, resp.text
    rid = resp.json()["request_id"]
    assert resp.headers["location"] == f"/v1/requests/{rid}"
    [entry] = requests_on_stream(r)
    assert (entry["request_id"], entry["channel"], entry["kommun"]) == (rid, "telephony", "sala")
    # the call reference stays at intake: the stream carries only an opaque handle to it
    assert entry["delivery"]["kind"] == "telephony" and entry["delivery"]["call_ref"] is None
    assert "line-42" not in json.dumps(entry)
    kept = json.loads(r.get(f"iub:delivery:{entry['delivery']['handle']}"))
    assert kept == {"kind": "telephony", "call_ref": "line-42"}
    status = await http.get(f"/v1/requests/{rid}", headers=bearer("phone-sala"))
    assert status.json()["status"] == "received"


@pytest.mark.parametrize("kind", ["call.started", "call.ended"])
async def test_call_events_are_acknowledged_and_put_nothing_on_the_stream(http, r, kind):
    raw = call_event(kind)
    resp = await http.post(URL, content=raw, headers=signed("phone-sala", raw))
    assert resp.status_code == 200
    assert resp.json() == {"status": "acknowledged", "type": kind, "request_id": None}
    assert xlen(r) == 0


def _forged(raw):
    return raw, signed("phone-sala", raw, secret="whsec_" + "Zm9yZ2VkLXNlY3JldC1mb3JnZWQtc2VjcmV0IQ==")


def _altered(raw):
    return raw.replace(b'"stated_age": 40', b'"stated_age": 41'), signed("phone-sala", raw)


def _stale(raw):
    return raw, signed("phone-sala", raw, ts=int(time.time()) - 400)


def _future(raw):
    return raw, signed("phone-sala", raw, ts=int(time.time()) + 400)  # well past 5 min on a slow machine


def _unsigned(raw):
    return raw, {**bearer("phone-sala"), "content-type": "application/json"}


def _without_signature(raw):
    h = signed("phone-sala", raw)
    del h["webhook-signature"]
    return raw, h


def _malformed_timestamp(raw):
    return raw, {**signed("phone-sala", raw), "webhook-timestamp": "yesterday"}


def _other_platforms_secret(raw):
    return raw, signed("phone-sala", raw, secret=SECRETS["phone-ostersund"])


def _other_id(raw):
    return raw, {**signed("phone-sala", raw), "webhook-id": "msg_another"}


def _wrong_version(raw):
    h = signed("phone-sala", raw)
    return raw, {**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}


@pytest.mark.parametrize(
    "make",
    [_forged, _altered, _stale, _future, _unsigned, _without_signature, _malformed_timestamp,
     _other_platforms_secret, _other_id, _wrong_version],
    ids=["a forged signature", "a body altered after signing", "a timestamp older than 5 minutes",
         "a timestamp more than 5 minutes ahead", "no webhook headers at all", "no signature header",
         "a timestamp that is not a number", "the signature of another platform's secret",
         "a signature made for another webhook-id", "an unknown signature version"],
)
async def test_a_bad_signature_is_refused_and_nothing_reaches_a_stream(http, r, make):
    raw, headers = make(form_event(stated_age=40, folkbokford_i_kommunen=True))
    resp = await http.post(URL, content=raw, headers=headers)
    assert resp.status_code == 401, resp.text
    assert resp.json()["errors"][0]["field"] == "webhook-signature"
    assert xlen(r) == 0
    assert not r.keys("iub:idem:*")  # a refused event does not use up its webhook-id


async def test_a_replayed_form_is_ignored_and_answers_with_the_first_request(http, r):
    raw = form_event(stated_age=40, folkbokford_i_kommunen=True)
    headers = signed("phone-sala", raw)
    first = await http.post(URL, content=raw, headers=headers)
    again = await http.post(URL, content=raw, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"status": "duplicate", "type": "agent.form_submitted",
                            "request_id": first.json()["request_id"]}
    assert xlen(r) == 1


async def test_a_replayed_call_event_is_ignored(http, r):
    raw = call_event("call.started")
    headers = signed("phone-sala", raw)
    await http.post(URL, content=raw, headers=headers)
    again = await http.post(URL, content=raw, headers=headers)
    assert again.json()["status"] == "duplicate"
    assert xlen(r) == 0


async def test_a_webhook_id_reused_for_another_body_is_refused(http, r):
    one, two = form_event(stated_age=40), form_event(stated_age=41)
    await http.post(URL, content=one, headers=signed("phone-sala", one, msg_id="msg_same"))
    resp = await http.post(URL, content=two, headers=signed("phone-sala", two, msg_id="msg_same"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "webhook-id"
    assert xlen(r) == 1


async def test_a_refused_form_keeps_its_webhook_id_free_for_the_corrected_retry(http, r):
    bad = form_event(insats="finns-inte")
    msg = "msg_retry"
    assert (await http.post(URL, content=bad, headers=signed("phone-sala", bad, msg_id=msg))).status_code == 404
    good = form_event(stated_age=40, folkbokford_i_kommunen=True)
    resp = await http.post(URL, content=good, headers=signed("phone-sala", good, msg_id=msg))
    assert resp.status_code == 202


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"type": "call.exploded", "call_ref": "x", "occurred_at": "2025-09-05T10:00:00+00:00"}, "body"),
     ({"type": "agent.form_submitted", "call_ref": "x", "occurred_at": "2025-09-05T10:00:00+00:00"},
      "body.agent.form_submitted.form"),
     ({"type": "call.started", "call_ref": "x", "occurred_at": 1757066400}, "body.call.started.occurred_at"),
     ({"type": "call.started", "call_ref": "x", "occurred_at": "2025-09-05T10:00:00"},
      "body.call.started.occurred_at")],
    ids=["an unknown event type", "a form event without its form", "a Unix time where ISO text belongs",
         "a time without its zone"],
)
async def test_a_signed_but_invalid_event_gets_422_naming_the_field(http, r, payload, field):
    raw = json.dumps(payload).encode()
    resp = await http.post(URL, content=raw, headers=signed("phone-sala", raw))
    assert resp.status_code == 422
    fields = [e["field"] for e in resp.json()["errors"]]
    assert any(f.startswith(field) for f in fields), fields
    assert xlen(r) == 0


async def test_a_form_with_an_invalid_personnummer_names_the_field_only(http, r):
    raw = form_event(personnummer="19121212-1213")
    resp = await http.post(URL, content=raw, headers=signed("phone-sala", raw))
    assert resp.status_code == 422
    assert resp.json()["errors"] == [{"field": "facts.personnummer", "problem": "ogiltigt personnummer"}]
    assert "1212" not in resp.text
