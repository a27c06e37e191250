"""The app channel end to end in-process: HTTP → Redis stream → status, with idempotency and bad input."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from intake_support import CANARY, CANARY_FORMS, bearer, requests_on_stream, xlen

from iub_contracts import streams
from iub_contracts.api import RequestIn
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.messages import RequestReceived
from iub_eligibility.domain.request import evaluate_request
from iub_intake import idempotency

ADVISORY = {"kommun": "sala", "insats_id": "budgetradgivning"}  # 14:4: no personal data travels
INDIVIDUAL = {"kommun": "sala", "insats_id": "skuldradgivning-och-skuldsanering"}  # 14:3


def body(base: dict, **facts) -> dict:
    """A request body for an insats with these facts."""
    return {**base, "facts": {"folkbokford_i_kommunen": True, **facts}}


async def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll an async predicate until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_an_app_request_is_on_the_stream_before_202_and_its_status_follows_the_decision(http, r, api):
    resp = await http.post("/v1/requests", json=body(INDIVIDUAL, personnummer=CANARY), headers=bearer("app-sala"))
    assert resp.status_code == 202
    rid = resp.json()["request_id"]
    assert resp.headers["location"] == f"/v1/requests/{rid}"
    [entry] = requests_on_stream(r)
    assert entry["request_id"] == rid
    assert entry["channel"] == "app"
    assert entry["facts"]["personnummer"] == "191212121212"  # 14:3 keeps identity, 12 digits
    assert r.hget(f"iub:request:{rid}", "kommun") == b"sala"
    status = (await http.get(f"/v1/requests/{rid}", headers=bearer("app-sala"))).json()
    assert status["status"] == "received"

    # eligibility's answer on the decisions stream reaches the status view through intake's consumer
    made = evaluate_request(load_catalog(api.state.intake.settings.catalog_dir),
                            RequestReceived.model_validate(entry), api.state.runtime.clock())
    r.xadd(streams.DECISIONS, {"__data__": made.model_dump_json()})

    async def decided():
        s = (await http.get(f"/v1/requests/{rid}", headers=bearer("app-sala"))).json()
        return s if s["status"] == "decided" else None

    status = await wait_for(decided, what="the decision in the status view")
    assert status["decision"]["insats_id"] == INDIVIDUAL["insats_id"]


async def test_an_advisory_request_drops_the_personnummer_at_the_door(http, r):
    resp = await http.post("/v1/requests", json=body(ADVISORY, personnummer=CANARY), headers=bearer("app-sala"))
    assert resp.status_code == 202
    [entry] = requests_on_stream(r)
    assert entry["facts"]["personnummer"] is None
    assert entry["facts"]["stated_age"] is not None
    assert not any(form in json.dumps(entry) for form in CANARY_FORMS)


@pytest.mark.parametrize(
    ("pnr", "stored"),
    [("19121212-1212", "191212121212"), ("191212121212", "191212121212"), ("121212-1212", "201212121212"),
     ("121212+1212", "191212121212"), ("19701063-2391", "197010632391")],
    ids=["12 digits with a dash", "12 digits without a dash", "10 digits with '-': under 100, born 2012",
         "10 digits with '+': 100 or older, born 1912", "a samordningsnummer (day + 60)"],
)
async def test_a_valid_personnummer_is_stored_in_its_12_digit_form(http, r, pnr, stored):
    resp = await http.post("/v1/requests", json=body(INDIVIDUAL, personnummer=pnr), headers=bearer("app-sala"))
    assert resp.status_code == 202, resp.text
    assert requests_on_stream(r)[0]["facts"]["personnummer"] == stored


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        (body(INDIVIDUAL, personnummer="19121212-1213"), 422, "facts.personnummer"),
        (body(INDIVIDUAL, personnummer="19121312-1212"), 422, "facts.personnummer"),
        (body(INDIVIDUAL, personnummer="not a number"), 422, "facts.personnummer"),
        (body(INDIVIDUAL), 422, "facts.personnummer"),
        (body(INDIVIDUAL, personnummer=CANARY, birth_date="2999-01-01"), 422, "facts.birth_date"),
        ({**body(ADVISORY), "language": CANARY}, 422, "body.language"),
        ({**body(ADVISORY), "facts": {"other_facts": {CANARY: "yes"}}}, 422, "body.facts.other_facts.[nyckel]"),
        ({**body(ADVISORY), "delivery": {"kind": "app_callback", "callback_url": "file:///etc/passwd"}}, 422,
         "delivery.callback_url"),
        ({**body(ADVISORY), "delivery": {"kind": "telephony", "call_ref": "x"}}, 422, "delivery.kind"),
        ({**body(ADVISORY), "kommun": "finns-inte"}, 403, None),
        ({**body(ADVISORY), "insats_id": "finns-inte"}, 404, "insats_id"),
        ({**body(ADVISORY), "surprise": CANARY}, 422, "body.surprise"),
    ],
    ids=["a personnummer failing the Luhn check", "a personnummer with a month that does not exist",
         "text where a personnummer belongs", "an individually documented insats without identity",
         "a birth date in the future", "a personnummer where the language goes",
         "a personnummer as a fact's name", "a callback that is not a web address",
         "telephony delivery from the app", "a kommun outside the client's scope", "an unknown insats",
         "an unknown field"],
)
async def test_bad_input_gets_a_clear_error_naming_the_field_never_the_value(http, r, payload, status, field):
    resp = await http.post("/v1/requests", json=payload, headers=bearer("app-sala"))
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    if field:
        assert field in [e["field"] for e in problem["errors"]]
    assert not any(form in resp.text for form in CANARY_FORMS)
    assert xlen(r) == 0


@pytest.mark.parametrize(
    ("payload", "see"),
    [({**body(ADVISORY), "kommun": "finns-inte"}, "/v1/kommuner"),
     ({**body(ADVISORY), "insats_id": "finns-inte"}, "/v1/kommuner/sala/insatser")],
    ids=["an unknown kommun points to the kommun list", "an unknown insats points to the kommun's insatser"],
)
async def test_an_unknown_kommun_or_insats_is_404_with_the_list_to_look_at(http, r, payload, see):
    resp = await http.post("/v1/requests", json=payload, headers=bearer("app-all"))
    assert resp.status_code == 404
    assert resp.json()["see"] == see
    assert xlen(r) == 0


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_creates_nothing(http, r):
    headers = {**bearer("app-sala"), "Idempotency-Key": "order-1"}
    first = await http.post("/v1/requests", json=body(ADVISORY), headers=headers)
    again = await http.post("/v1/requests", json=body(ADVISORY), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.headers["location"] == again.headers["location"]
    assert xlen(r) == 1


async def test_an_idempotency_key_is_kept_at_least_24_hours(http, r):
    await http.post("/v1/requests", json=body(ADVISORY), headers={**bearer("app-sala"), "Idempotency-Key": "k"})
    [key] = r.keys("iub:idem:*")
    assert r.ttl(key) >= 24 * 3600


async def test_the_same_idempotency_key_with_another_body_is_refused(http, r):
    headers = {**bearer("app-sala"), "Idempotency-Key": "order-2"}
    await http.post("/v1/requests", json=body(ADVISORY), headers=headers)
    other = await http.post("/v1/requests", json=body(ADVISORY, stated_age=40), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert xlen(r) == 1


async def test_idempotency_keys_belong_to_one_client(http, r):
    same_key = {"Idempotency-Key": "shared-key"}
    a = await http.post("/v1/requests", json=body(ADVISORY), headers={**bearer("app-sala"), **same_key})
    b = await http.post("/v1/requests", json=body(ADVISORY), headers={**bearer("app-all"), **same_key})
    assert a.status_code == b.status_code == 202
    assert a.json()["request_id"] != b.json()["request_id"]
    assert xlen(r) == 2


async def test_a_refused_request_releases_its_idempotency_key(http, r):
    headers = {**bearer("app-sala"), "Idempotency-Key": "fix-and-retry"}
    bad = await http.post("/v1/requests", json=body(INDIVIDUAL), headers=headers)
    good = await http.post("/v1/requests", json=body(INDIVIDUAL, personnummer=CANARY), headers=headers)
    assert (bad.status_code, good.status_code) == (422, 202)
    assert xlen(r) == 1


async def test_a_crash_before_the_xadd_leaves_nothing_that_blocks_a_same_key_retry(http, r, api, monkeypatch):
    """Issue 14 (6): claim and XADD are one atomic step, so a retry is never answered 409 for a minute."""
    import iub_intake.submission as submission

    real = submission.accept_request

    async def crash(*args, **kwargs):
        raise RuntimeError("the process died right before the XADD")

    monkeypatch.setattr(submission, "accept_request", crash)
    headers = {**bearer("app-sala"), "Idempotency-Key": "crash-then-retry"}
    with pytest.raises(RuntimeError):
        await http.post("/v1/requests", json=body(ADVISORY), headers=headers)
    assert r.keys("iub:idem:*") == []  # nothing claimed ahead of the work
    monkeypatch.setattr(submission, "accept_request", real)
    retry = await http.post("/v1/requests", json=body(ADVISORY), headers=headers)
    assert retry.status_code == 202
    assert xlen(r) == 1


async def test_concurrent_calls_with_one_key_create_one_request_and_get_one_answer(http, r):
    headers = {**bearer("app-sala"), "Idempotency-Key": "race"}
    answers = await asyncio.gather(*(http.post("/v1/requests", json=body(ADVISORY), headers=headers)
                                     for _ in range(8)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["request_id"] for a in answers}) == 1
    assert xlen(r) == 1


async def test_a_pending_mark_of_an_earlier_version_is_answered_409(http, r, api):
    digest = idempotency.body_digest(RequestIn.model_validate(body(ADVISORY)).model_dump_json().encode())
    key = idempotency.redis_key("app-sala", "busy")
    r.set(key, f"pending|{digest}|rid", ex=60)
    resp = await http.post("/v1/requests", json=body(ADVISORY), headers={**bearer("app-sala"),
                                                                         "Idempotency-Key": "busy"})
    assert resp.status_code == 409
    assert xlen(r) == 0


@pytest.mark.parametrize("chunked", [False, True], ids=["a declared length", "a chunked body"])
async def test_an_oversized_body_is_refused_before_parsing(http, r, api, chunked):
    limit = api.state.intake.settings.max_body_bytes
    big = json.dumps({**body(ADVISORY), "language": "x" * (limit + 10)}).encode()

    async def pieces():
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    content = pieces() if chunked else big
    resp = await http.post("/v1/requests", content=content, headers={**bearer("app-sala"),
                                                                     "content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["status"] == 413
    assert xlen(r) == 0


async def test_a_request_of_unknown_id_is_404(http):
    resp = await http.get("/v1/requests/00000000-0000-4000-8000-000000000000", headers=bearer("app-sala"))
    assert resp.status_code == 404


async def test_a_preview_stores_nothing_but_the_clients_rate_counter(http, r):
    before = set(r.keys())
    resp = await http.post("/v1/eligibility/preview", json=body(INDIVIDUAL, personnummer=CANARY),
                           headers=bearer("app-sala"))
    assert resp.status_code == 200
    assert resp.json()["decision"]["insats_id"] == INDIVIDUAL["insats_id"]
    assert {k.decode() for k in set(r.keys()) - before} <= {"iub:rate:app-sala"}
    assert xlen(r) == 0


async def test_an_unreachable_redis_is_503_with_retry_after_and_nothing_accepted(http, api, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def down(*_a, **_k):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(api.state.intake.limiter, "hit", down)
    resp = await http.post("/v1/requests", json=body(ADVISORY), headers=bearer("app-sala"))
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"
