"""The provider web page: sign-in, session cookie, CSRF, forms and their semantics (stand-in API).

The page's behaviour apart from the store; the full flow on the real services is in
tests/e2e/test_provider_web_browser.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import redis
from fastapi.testclient import TestClient
from provider_web_support import CASE, KEYS, StandIn, make_app

from iub_audit.provider_web import WebSettings
from iub_audit.provider_web.pages import COOKIE
from iub_contracts.provider import ProviderFactsIn

pytestmark = [pytest.mark.redis]
CASE_URL = f"/provider/case/{CASE['case_id']}"


@pytest.fixture
def stand_in() -> StandIn:
    return StandIn()


@pytest.fixture
def web(clean_redis: str, stand_in: StandIn):
    with TestClient(make_app(clean_redis, stand_in), base_url="http://testserver") as c:
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(web: TestClient, client_id: str = "sala-medling", staff: str = "anna.l") -> TestClient:
    form = web.get("/provider/login")
    r = web.post("/provider/login", data={"csrf": csrf_of(form.text), "staff_id": staff, "key": KEYS[client_id]},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/provider/inbox", r.text
    return web


def test_sign_in_sets_an_httponly_samesite_strict_cookie_holding_no_key(web: TestClient, clean_redis: str) -> None:
    form = web.get("/provider/login")
    r = web.post("/provider/login", data={"csrf": csrf_of(form.text), "staff_id": "anna.l",
                                          "key": KEYS["sala-medling"]}, follow_redirects=False)
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/provider" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower(), "gone when the browser closes"
    token = cookie.split(";")[0].split("=", 1)[1]
    assert KEYS["sala-medling"] not in cookie and len(token) >= 40
    stored = redis.Redis.from_url(clean_redis)
    values = b"".join(stored.get(k) for k in stored.keys("iub:provider-session:*"))
    assert KEYS["sala-medling"].encode() not in values and token.encode() not in b"".join(stored.keys("*"))
    assert stored.ttl(stored.keys("iub:provider-session:*")[0]) > 0, "a session expires"
    inbox = web.get("/provider/inbox")
    assert inbox.status_code == 200 and "anna.l" in inbox.text and "Medling" in inbox.text
    assert "Samtycke behövs" in inbox.text


def test_the_cookie_is_secure_by_default(clean_redis: str, stand_in: StandIn) -> None:
    with TestClient(make_app(clean_redis, stand_in, settings=WebSettings()), base_url="https://testserver") as web:
        form = web.get("/provider/login")
        r = web.post("/provider/login", data={"csrf": csrf_of(form.text), "staff_id": "a",
                                              "key": KEYS["sala-medling"]}, follow_redirects=False)
    assert "Secure" in next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}="))


@pytest.mark.parametrize("client_id", ["wrong", "sala-insyn"], ids=["an unknown key", "a key without provider:read"])
def test_a_key_that_is_not_a_providers_is_refused_without_echo(web: TestClient, client_id: str) -> None:
    key = KEYS.get(client_id, "key-that-nobody-has-0123456789")
    form = web.get("/provider/login")
    r = web.post("/provider/login", data={"csrf": csrf_of(form.text), "staff_id": "anna.l", "key": key},
                 follow_redirects=False)
    assert r.status_code == 401
    assert key not in r.text and "Nyckeln gäller inte" in r.text
    assert COOKIE + "=" not in r.headers.get("set-cookie", "")
    assert web.get("/provider/inbox", follow_redirects=False).headers["location"] == "/provider/login"


def test_sign_in_without_the_forms_token_is_refused(web: TestClient) -> None:
    web.get("/provider/login")
    r = web.post("/provider/login", data={"csrf": "forged", "staff_id": "a", "key": KEYS["sala-medling"]})
    assert r.status_code == 403


def test_pages_need_a_session(web: TestClient) -> None:
    for path in ("/provider/inbox", CASE_URL):
        r = web.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/provider/login"
    web.cookies.set(COOKIE, "not-a-session", path="/provider")
    assert web.get("/provider/inbox", follow_redirects=False).status_code == 303


def test_a_form_without_the_sessions_csrf_token_is_refused_and_reaches_nothing(web: TestClient,
                                                                             stand_in: StandIn) -> None:
    sign_in(web)
    for token in (None, "forged"):
        data = {"event_id": "e1", "guardian.1": "given"} | ({"csrf": token} if token else {})
        r = web.post(f"{CASE_URL}/facts", data=data)
        assert r.status_code == 403
    assert stand_in.posted == []


def test_consent_of_both_guardians_goes_to_the_api_with_the_staff_id(web: TestClient, stand_in: StandIn) -> None:
    sign_in(web, staff="anna.l")
    page = web.get(CASE_URL).text
    assert "Gärningspersonen har fyllt 12 år." in page and "ID-handling" in page
    assert "samtycke från alla vårdnadshavare" in page
    event_id = re.search(r'id="facts-form".*?name="event_id" value="([^"]+)"', page, re.S).group(1)
    form = {"csrf": csrf_of(page), "event_id": event_id, "guardian.1": "given", "guardian.2": "given",
            "villkor.garningsperson-fyllt-12": "confirmed",
            "confirm_by.garningsperson-fyllt-12": "ID-handling"}
    r = web.post(f"{CASE_URL}/facts", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{CASE_URL}?done=facts"
    what, body = stand_in.posted[0]
    assert what == "facts" and body["event_id"] == event_id and body["staff_id"] == "anna.l"
    assert [(c["guardian"], c["given"], c["recorded_by"]) for c in body["consents"]] == [
        ("vårdnadshavare 1", True, "anna.l"), ("vårdnadshavare 2", True, "anna.l")]
    ProviderFactsIn.model_validate(body)  # what the page sends is the API's contract
    assert body["villkor"] == [{"key": "garningsperson-fyllt-12", "result": "confirmed", "confirm_by": "ID-handling"}]
    assert body["child_consent"] is None
    # a retried post (back button, double click) sends the same event id: the API documents it once
    web.post(f"{CASE_URL}/facts", data=form, follow_redirects=False)
    assert stand_in.posted[1][1]["event_id"] == event_id
    assert "Uppgifterna är registrerade" in web.get(f"{CASE_URL}?done=facts").text


def test_an_api_refusal_is_shown_with_the_field_never_the_value(web: TestClient, stand_in: StandIn) -> None:
    stand_in.cases[CASE["case_id"]]["status"] = "started"
    sign_in(web)
    page = web.get(CASE_URL).text
    stand_in.answer = (409, {"title": "Insatsen är redan avslutad", "status": 409, "errors": [
        {"field": "kind", "problem": "out_of_order"}]})
    event_id = re.search(r'id="contact-form".*?name="event_id" value="([^"]+)"', page, re.S).group(1)
    r = web.post(f"{CASE_URL}/events", data={"csrf": csrf_of(page), "event_id": event_id, "kind": "contact",
                                             "date": "2026-11-30", "form": "phone", "minutes": "30"})
    assert r.status_code == 409
    assert "Insatsen är redan avslutad" in r.text
    assert '<li class="problem-field" data-field="kind">Händelse: out_of_order</li>' in r.text
    assert stand_in.posted == [("events", {"event_id": event_id, "kind": "contact", "date": "2026-11-30",
                                           "form": "phone", "minutes": 30})]


def test_another_kommuns_case_is_not_found(web: TestClient, stand_in: StandIn) -> None:
    other = "7e57a1b2-0000-4000-8000-000000000001"
    stand_in.cases[other] = CASE | {"case_id": other, "kommun": "mellerud"}
    sign_in(web)
    r = web.get(f"/provider/case/{other}")
    assert r.status_code == 404 and "Ärendet finns inte" in r.text
    assert other[:8] not in web.get("/provider/inbox").text


def test_a_read_only_provider_sees_no_forms_and_cannot_post(web: TestClient, stand_in: StandIn) -> None:
    sign_in(web, "sala-read")
    page = web.get(CASE_URL).text
    assert "facts-form" not in page and "<form" in page  # only the logout form
    r = web.post(f"{CASE_URL}/facts", data={"csrf": csrf_of(page), "guardian.1": "given"})
    assert r.status_code == 403 and stand_in.posted == []


def test_logout_ends_the_session_on_the_server(web: TestClient, clean_redis: str) -> None:
    sign_in(web)
    cookie = web.cookies.get(COOKIE)
    page = web.get("/provider/inbox").text
    r = web.post("/provider/logout", data={"csrf": csrf_of(page)})
    assert r.status_code == 200 and "Du är utloggad" in r.text
    assert redis.Redis.from_url(clean_redis).keys("iub:provider-session:*") == []
    web.cookies.set(COOKIE, cookie, path="/provider")  # a copied cookie is worth nothing afterwards
    assert web.get("/provider/inbox", follow_redirects=False).status_code == 303


def test_pages_load_nothing_from_elsewhere_and_run_no_script(web: TestClient) -> None:
    sign_in(web)
    for path in ("/provider/login", "/provider/inbox", CASE_URL):
        r = web.get(path)
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
        assert "<script" not in r.text and "http://" not in r.text and "https://" not in r.text
    css = web.get("/provider/static/provider.css")
    assert css.status_code == 200 and ":focus-visible" in css.text and "url(" not in css.text


# ---------------------------------------------------------------- keyboard: the form semantics

class Controls(HTMLParser):
    """Form controls, labels and anything that only a mouse could use."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.bad: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label" and "for" in a:
            self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a | {"tag": tag})
        if any(k.startswith("on") for k in a):
            self.bad.append(f"{tag} has an inline handler")
        if int(a.get("tabindex", "0") or 0) > 0:
            self.bad.append(f"{tag} has a positive tabindex (breaks the focus order)")
        if tag in ("div", "span", "td") and "role" in a and a["role"] == "button":
            self.bad.append("a div posing as a button")


@pytest.mark.parametrize("status", ["needs_consent", "eligible", "started"])
def test_every_control_has_a_label_and_nothing_needs_a_mouse(web: TestClient, stand_in: StandIn,
                                                              status: str) -> None:
    stand_in.cases[CASE["case_id"]]["status"] = status
    sign_in(web)
    for html in (web.get(CASE_URL).text, web.get("/provider/inbox").text):
        parsed = Controls()
        parsed.feed(html)
        assert parsed.controls, "the page has forms"
        unlabelled = [c.get("name") for c in parsed.controls if c.get("id") not in parsed.label_for]
        assert unlabelled == [] and parsed.bad == []
        assert len(parsed.ids) == len(set(parsed.ids)), "ids are unique (labels point at one control)"
        assert 'lang="sv"' in html and 'href="#innehall"' in html  # skip link first in the tab order


def test_the_forms_offered_follow_the_status(web: TestClient, stand_in: StandIn) -> None:
    sign_in(web)
    forms = {}
    for status in ("needs_consent", "eligible", "started", "ended"):
        stand_in.cases[CASE["case_id"]]["status"] = status
        forms[status] = set(re.findall(r'<form [^>]*id="([a-z-]+)"', web.get(CASE_URL).text))
    assert forms == {"needs_consent": {"facts-form"}, "eligible": {"facts-form", "start-form", "end-form"},
                     "started": {"contact-form", "end-form"}, "ended": set()}


# ---------------------------------------------------------------- behind the kommun's single sign-on

SSO = WebSettings(cookie_secure=False, sso_header="X-Auth-Request-Preferred-Username",
                  sso_trusted_proxies=["127.0.0.0/8"], sso_users={"anna.l": "sala-medling"})
SSO_USER = "X-Auth-Request-Preferred-Username"


def test_a_trusted_sso_header_signs_in_without_a_key(clean_redis: str, stand_in: StandIn) -> None:
    with TestClient(make_app(clean_redis, stand_in, settings=SSO), client=("127.0.0.1", 5000)) as web:
        r = web.get("/provider/inbox", headers={SSO_USER: "anna.l"})
        assert r.status_code == 200 and "anna.l" in r.text
        assert COOKIE in web.cookies
        page = web.get(CASE_URL, headers={SSO_USER: "anna.l"}).text
        web.post(f"{CASE_URL}/facts", data={"csrf": csrf_of(page), "guardian.1": "given"},
                 headers={SSO_USER: "anna.l"})
        assert stand_in.posted[0][1]["staff_id"] == "anna.l"
        # another user behind the same browser: the old session is not theirs
        r = web.get("/provider/inbox", headers={SSO_USER: "bo.k"})
        assert r.status_code == 403 and "inte kopplat" in r.text


def test_the_sso_header_from_an_untrusted_peer_is_ignored(clean_redis: str, stand_in: StandIn) -> None:
    with TestClient(make_app(clean_redis, stand_in, settings=SSO), client=("203.0.113.9", 5000)) as web:
        r = web.get("/provider/inbox", headers={SSO_USER: "anna.l"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/provider/login"


def test_without_a_clients_configuration_the_page_says_so(clean_redis: str, stand_in: StandIn) -> None:
    from fastapi import FastAPI
    from redis.asyncio import Redis

    from iub_audit.provider_web import SessionStore, build_router

    app = FastAPI()
    sessions = SessionStore(lambda: Redis.from_url(clean_redis), 60)
    app.include_router(build_router(lambda req: req.app, lambda: None, sessions, WebSettings(cookie_secure=False)))
    with TestClient(app) as web:
        for path in ("/provider/", "/provider/inbox"):
            r = web.get(path, follow_redirects=False)
            assert r.status_code in (303, 503)
        form = web.get("/provider/login")
        r = web.post("/provider/login", data={"csrf": csrf_of(form.text), "staff_id": "a", "key": "k"})
        assert r.status_code == 503 and "IUB_CLIENTS_FILE" in r.text


def test_sign_in_attempts_are_limited_per_address(web: TestClient) -> None:
    html, statuses = web.get("/provider/login").text, []
    for i in range(12):
        r = web.post("/provider/login", data={"csrf": csrf_of(html), "staff_id": "a", "key": f"guess-{i}"},
                     follow_redirects=False)
        statuses.append(r.status_code)
        html = r.text if r.status_code == 401 else html
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    assert "För många inloggningsförsök" in web.post("/provider/login", data={"csrf": "x"}).text


@pytest.mark.asyncio
async def test_a_session_ends_after_its_idle_time_and_is_renewed_by_use(clean_redis: str) -> None:
    from redis.asyncio import Redis

    from iub_audit.provider_web import SessionStore

    client = Redis.from_url(clean_redis)
    store = SessionStore(lambda: client, ttl_s=2)
    token, session = await store.create("sala-medling", "anna.l")
    assert (await store.get(token)) == session and await store.get("another-token") is None
    await client.expire(f"iub:provider-session:{__import__('hashlib').sha256(token.encode()).hexdigest()}", 1)
    assert await store.get(token) == session  # use renews it to the full idle time
    assert await client.ttl(next(iter(await client.keys("iub:provider-session:*")))) == 2
    await store.delete(token)
    assert await store.get(token) is None
    await client.aclose()
