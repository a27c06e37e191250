"""The provider web page on the real provider API and store (SQLite and PostgreSQL), sessions in Redis.

The Medling case of a 14-year-old through the page's forms: consent → a facts message to
eligibility (once, however often the form is posted), the revision shown, then start, a contact
(posted twice, documented once), an early end refused without a reason and nothing written, the
end with a reason; and an advisory count documented without a case.
"""

from __future__ import annotations

import contextlib
import re

import pytest
import structlog
import structlog.testing
from audit_support import CATALOG, INDIVIDUAL, KEYS, NOW, PNR, decision
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from sqlalchemy import func, select
from test_provider import KEYS_HTTP, REGISTRY, medling_case, publish

from iub_audit import insyn, provider_api, provider_events_api
from iub_audit.provider_web import SessionStore, WebSettings, build_router
from iub_audit.schema import case_events, metadata
from iub_audit.service import build_service
from iub_audit.settings import AuditSettings
from iub_contracts import streams
from iub_contracts.facts import ApplicantFacts
from iub_eligibility.domain.request import evaluate_revision
from iub_runtime.testing import RecordingWriter

pytestmark = [pytest.mark.redis]


@pytest.fixture
def svc(store, tmp_path):
    service = build_service(AuditSettings(var_dir=str(tmp_path)))
    service.state.update(catalog=CATALOG, store=store, link_keys=KEYS)
    service.rt.writer = RecordingWriter()
    return service


@pytest.fixture
def site(svc, clean_redis):
    """The provider API routers of the audit service and the page, sessions in a real Redis."""
    holder: dict[str, Redis] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        holder["redis"] = Redis.from_url(clean_redis)
        yield
        await holder["redis"].aclose()

    app = FastAPI(lifespan=lifespan)
    guard = insyn.Guard(lambda: REGISTRY, lambda: None, 1_000_000)

    @app.exception_handler(insyn.Problem)
    async def _problem(_req: Request, exc: insyn.Problem) -> JSONResponse:
        return insyn.problem_response(exc)

    app.include_router(provider_api.build_router(lambda: svc, guard, provider_events_api.case_events))
    app.include_router(provider_events_api.build_router(lambda: svc, guard))
    app.include_router(build_router(lambda req: req.app, lambda: REGISTRY, SessionStore(lambda: holder["redis"], 600),
                                    WebSettings(cookie_secure=False), lambda: svc.rt.clock(), lambda: svc.catalog))
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient, who: str, staff: str = "sak-anna") -> TestClient:
    form = client.get("/provider/login").text
    r = client.post("/provider/login", data={"csrf": csrf_of(form), "staff_id": staff, "key": KEYS_HTTP[who]},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def web(site):
    return sign_in(site, "sala-medling")


def n_written(svc) -> tuple[int, int]:
    """Carrying-out events indexed and records in the store."""
    with svc.store.engine.connect() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar())
                     for t in (case_events, metadata.tables["audit_records"], metadata.tables["audit_staged"]))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def form_of(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of one form on a page (csrf, event id, kind)."""
    block = re.search(rf'<form [^>]*id="{form_id}".*?</form>', html, re.S).group(0)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block))


def text(html: str, element_id: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|p|table)>', html, re.S).group(1))


async def test_the_medling_flow_through_the_pages_forms(svc, web) -> None:
    case_id, _msg = await medling_case(svc)
    url = f"/provider/case/{case_id}"
    inbox = web.get("/provider/inbox?status=needs_consent").text
    assert f'href="{url}"' in inbox and "Medling" in inbox

    page = web.get(url).text
    assert "Gärningspersonen har fyllt 12 år" in page and text(page, "status") == "Samtycke behövs"
    consent = form_of(page, "facts-form") | {"guardian.1": "given", "guardian.2": "given"}
    for _ in range(2):  # a retried post (double click, back and resend) documents once
        r = web.post(f"{url}/facts", data=consent, follow_redirects=False)
        assert r.status_code == 303, r.text
    [facts] = svc.rt.writer.on(streams.PROVIDER_FACTS)
    assert [(g.label, g.consent, g.recorded_by) for g in facts.facts.guardians] == [
        ("vårdnadshavare 1", True, "sak-anna"), ("vårdnadshavare 2", True, "sak-anna")]

    await publish(svc, (streams.REVISIONS, evaluate_revision(CATALOG, facts, NOW)))
    page = web.get(url).text
    assert text(page, "status") == "Har rätt till insatsen" and text(page, "revision") == "Omprövning 1"

    today = re.search(r'id="start-date"[^>]*value="([^"]+)"', page).group(1)
    r = web.post(f"{url}/events", data=form_of(page, "start-form") | {"date": today, "situation": "arbete-studier",
                                                                       "scale.maende": "2"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = web.get(url).text
    contact = form_of(page, "contact-form") | {"date": today, "form": "group", "minutes": "90"}
    for _ in range(2):
        assert web.post(f"{url}/events", data=contact, follow_redirects=False).status_code == 303
    before = n_written(svc)
    end = form_of(web.get(url).text, "end-form") | {"date": today, "end": "ended_early"}
    r = web.post(f"{url}/events", data=end)
    assert r.status_code == 422 and 'data-field="reason">Orsak: saknas' in r.text
    assert n_written(svc) == before and before[0] == 2, "a refused form writes nothing"
    assert web.post(f"{url}/events", data=end | {"reason": "uteblev"}, follow_redirects=False).status_code == 303

    page = web.get(url).text
    assert text(page, "status") == "Avslutad"
    rows = re.findall(r'<tr class="event-(\w+)">', page)
    assert rows == ["start", "contact", "end"], "the contact posted twice is documented once"
    assert "Grupp, 90 min" in page and "Avbruten i förtid: Deltagaren slutade komma" in page
    assert "Arbete eller studier · Mående 2" in page


def test_an_advisory_count_is_documented_without_a_case(svc, web) -> None:
    page = web.get("/provider/counts").text
    assert '<option value="familjeradgivning">Familjerådgivning</option>' in page
    data = form_of(page, "count-form") | {"insats_id": "familjeradgivning",
                                          "date": re.search(r'id="count-date"[^>]*value="([^"]+)"', page).group(1),
                                          "topic": "familj", "channel": "telephony", "form": "phone", "count": "4"}
    r = web.post("/provider/counts", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/provider/counts?done=count"
    web.post("/provider/counts", data=data, follow_redirects=False)  # retried: once
    with svc.store.engine.connect() as conn:
        rows = conn.execute(select(case_events.c.kind, func.count()).group_by(case_events.c.kind)).all()
    assert rows == [("count", 1)]
    r = web.post("/provider/counts", data=form_of(page, "count-form") | {"insats_id": "medling", "date": data["date"],
                                                                          "topic": "medling", "channel": "app",
                                                                          "count": "1"})
    assert r.status_code == 409 and 'data-field="insats_id"' in r.text


async def test_a_14_3_case_shows_identity_and_note_on_the_page_and_in_no_log(svc, site, caplog) -> None:
    note = "Kanariefågel-anteckning 7f3a"
    msg = decision(*INDIVIDUAL, facts=ApplicantFacts(personnummer=PNR, folkbokford_i_kommunen=True))
    await publish(svc, (streams.DECISIONS, msg))
    with structlog.testing.capture_logs() as events:
        web = sign_in(site, "ostersund", staff="hl-bo")
        url = f"/provider/case/{msg.request_id}"
        page = web.get(url).text
        assert text(page, "personnummer") == PNR and "Dokumenteras på individnivå" in page
        if text(page, "status") != "Har rätt till insatsen":
            pytest.skip(f"the Östersund case is {text(page, 'status')}: no carrying out to document")
        today = re.search(r'id="start-date"[^>]*value="([^"]+)"', page).group(1)
        assert web.post(f"{url}/events", data=form_of(page, "start-form") | {"date": today},
                        follow_redirects=False).status_code == 303
        page = web.get(url).text
        assert 'name="situation"' not in page, "no 14:5 codes at 14:3"
        r = web.post(f"{url}/events", data=form_of(page, "contact-form") | {"date": today, "form": "individual",
                                                                             "minutes": "30", "note": note},
                     follow_redirects=False)
        assert r.status_code == 303, r.text
        page = web.get(url).text
    assert note in page and PNR in page
    assert "provider_signed_in" in [e["event"] for e in events], "the log calls were captured"
    logged = repr(events) + caplog.text
    assert PNR not in logged, "the personnummer is in a log line"
    assert note not in logged, "the note is in a log line"
    assert PNR not in url and note not in url
