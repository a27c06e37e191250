"""Authentication, authorisation per kommun and operation on every route, and the rate limit."""

from __future__ import annotations

import json

import httpx
import pytest
from intake_support import KEYS, bearer, form_event, make_settings, registry, signed, started, xlen

from iub_intake.app import create_api

ADVISORY_OSTERSUND = {"kommun": "ostersund", "insats_id": "bra-samtal-vuxen",
                      "facts": {"stated_age": 40, "folkbokford_i_kommunen": True}}
ADVISORY_SALA = {"kommun": "sala", "insats_id": "budgetradgivning", "facts": {"stated_age": 40}}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


async def ostersund_request(http) -> str:
    """A request created by Östersund's own app backend; its id."""
    resp = await http.post("/v1/requests", json=ADVISORY_OSTERSUND, headers=bearer("app-ostersund"))
    assert resp.status_code == 202
    return resp.json()["request_id"]


# (method, path, json body) for every route that needs a credential; {rid} is filled in per test
ROUTES = [
    ("GET", "/v1/kommuner", None),
    ("GET", "/v1/kommuner/sala/insatser", None),
    ("POST", "/v1/requests", ADVISORY_SALA),
    ("GET", "/v1/requests/{rid}", None),
    ("POST", "/v1/eligibility/preview", ADVISORY_SALA),
    ("POST", "/v1/telephony/events", json.loads(form_event())),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _ in ROUTES]


async def call(http, method: str, path: str, body, headers: dict, rid: str = UNKNOWN_ID) -> httpx.Response:
    return await http.request(method, path.format(rid=rid), json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer iub_not-a-key"}, {"X-API-Key": "iub_not-a-key"},
     {"Authorization": f"Basic {KEYS['app-sala']}"}, {"Authorization": f"Bearer {KEYS['app-sala']}x"}],
    ids=["no credential", "an unknown bearer key", "an unknown X-API-Key", "a key in the wrong scheme",
         "a key with one character more"],
)
async def test_every_route_refuses_a_caller_without_a_valid_key(http, r, method, path, body, headers):
    resp = await call(http, method, path, body, headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert xlen(r) == 0


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
async def test_every_route_refuses_a_client_without_the_operation(http, r, method, path, body):
    resp = await call(http, method, path, body, bearer("operator"))
    assert resp.status_code == 403
    assert xlen(r) == 0


async def test_the_catalogue_lists_only_the_clients_kommuner(http):
    resp = await http.get("/v1/kommuner", headers=bearer("app-sala"))
    assert [k["kommun"] for k in resp.json()["kommuner"]] == ["sala"]


async def test_another_kommuns_insatser_are_refused(http):
    resp = await http.get("/v1/kommuner/ostersund/insatser", headers=bearer("app-sala"))
    assert resp.status_code == 403


async def test_a_request_for_another_kommun_is_refused_and_not_created(http, r):
    resp = await http.post("/v1/requests", json=ADVISORY_OSTERSUND, headers=bearer("app-sala"))
    assert resp.status_code == 403
    assert xlen(r) == 0


async def test_another_kommuns_request_is_answered_like_one_that_does_not_exist(http):
    rid = await ostersund_request(http)
    theirs = await http.get(f"/v1/requests/{rid}", headers=bearer("app-sala"))
    unknown = await http.get(f"/v1/requests/{UNKNOWN_ID}", headers=bearer("app-sala"))
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()
    assert (await http.get(f"/v1/requests/{rid}", headers=bearer("app-ostersund"))).status_code == 200


async def test_another_kommuns_request_is_hidden_from_its_telephony_platform_too(http):
    rid = await ostersund_request(http)
    assert (await http.get(f"/v1/requests/{rid}", headers=bearer("phone-sala"))).status_code == 404
    assert (await http.get(f"/v1/requests/{rid}", headers=bearer("phone-ostersund"))).status_code == 200


async def test_a_preview_for_another_kommun_is_refused(http):
    resp = await http.post("/v1/eligibility/preview", json=ADVISORY_OSTERSUND, headers=bearer("app-sala"))
    assert resp.status_code == 403


async def test_a_telephony_form_for_another_kommun_is_refused_and_not_created(http, r):
    raw = form_event(kommun="ostersund", insats="bra-samtal-vuxen", stated_age=40)
    resp = await http.post("/v1/telephony/events", content=raw, headers=signed("phone-sala", raw))
    assert resp.status_code == 403
    assert xlen(r) == 0


async def test_a_telephony_platform_cannot_sign_with_its_key_and_another_platforms_secret(http, r):
    raw = form_event(stated_age=40)
    headers = {**signed("phone-ostersund", raw), **bearer("phone-sala")}
    assert (await http.post("/v1/telephony/events", content=raw, headers=headers)).status_code == 401
    assert xlen(r) == 0


async def test_the_app_cannot_pose_as_the_telephony_channel(http, r):
    body = {**ADVISORY_SALA, "channel": "telephony", "delivery": {"kind": "telephony", "call_ref": "x"}}
    assert (await http.post("/v1/requests", json=body, headers=bearer("app-sala"))).status_code == 403
    assert xlen(r) == 0


@pytest.mark.parametrize("style", ["bearer", "x-api-key"])
async def test_a_key_is_accepted_in_either_header(http, style):
    headers = bearer("app-sala") if style == "bearer" else {"X-API-Key": KEYS["app-sala"]}
    assert (await http.get("/v1/kommuner", headers=headers)).status_code == 200


async def test_health_stays_open(http):
    assert (await http.get("/health")).status_code == 200


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
async def test_the_api_description_is_private_by_default_and_public_by_setting(http, clean_redis, path):
    assert (await http.get(path)).status_code == 401
    assert (await http.get(path, headers=bearer("app-sala"))).status_code == 200
    basic = httpx.BasicAuth("any", KEYS["operator"])
    assert (await http.get(path, auth=basic)).status_code == 200  # a browser opening /docs
    for settings, code in (({"docs_public": True}, 200), ({"dev_mode": True}, 200),
                           ({"dev_mode": True, "docs_public": False}, 401)):
        async with started(create_api(make_settings(clean_redis, **settings), registry())) as other:
            assert (await other.get(path)).status_code == code, settings


async def test_metrics_need_the_operator_credential_or_live_on_their_own_port(http, clean_redis):
    assert (await http.get("/metrics")).status_code == 401
    assert (await http.get("/metrics", headers=bearer("app-sala"))).status_code == 403
    ok = await http.get("/metrics", headers=bearer("operator"))
    assert ok.status_code == 200 and "iub_" in ok.text
    async with started(create_api(make_settings(clean_redis, metrics_port=0), registry())) as other:
        assert (await other.get("/metrics", headers=bearer("operator"))).status_code == 404


MALFORMED = [b"{", b'{"kommun": ', b"[]", b'{"kommun": 5}', b'{"nope": 1}', b"\xff\xfe", b""]


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if r[0] == "POST"],
                         ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if r[0] == "POST"])
@pytest.mark.parametrize("raw", MALFORMED)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer iub_not-a-key"}, {"X-API-Key": "x"}])
async def test_an_unauthenticated_malformed_body_gets_401_not_422(http, r, method, path, body, raw, headers):
    resp = await http.request(method, path, content=raw, headers={**headers, "content-type": "application/json"})
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert xlen(r) == 0


async def test_an_authenticated_malformed_body_still_gets_422(http):
    resp = await http.post("/v1/requests", content=b"{",
                           headers={**bearer("app-sala"), "content-type": "application/json"})
    assert resp.status_code == 422


async def test_a_client_over_its_rate_gets_429_with_retry_after(http):
    answers = [(await http.get("/v1/kommuner", headers=bearer("slow"))) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert answers[-1].json()["status"] == 429
    assert (await http.get("/v1/kommuner", headers=bearer("app-sala"))).status_code == 200


async def test_the_rate_limit_holds_across_intake_processes(http, clean_redis):
    other = create_api(make_settings(clean_redis), registry())
    async with started(other, "http://second-process") as second:
        calls = (http, second, http, second)
        codes = [(await c.get("/v1/kommuner", headers=bearer("slow"))).status_code for c in calls]
    assert codes == [200, 200, 200, 429]


async def test_the_rate_counter_expires_with_its_window(http, r):
    await http.get("/v1/kommuner", headers=bearer("slow"))
    assert 0 < r.pttl("iub:rate:slow") <= 60_000
