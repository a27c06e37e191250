"""The provider web page in headless Chromium on the real system (issue 10, point 7).

A Sala Medling case for a 14-year-old: the services run as processes on a private Redis, the app
sends the request, and a provider signs in with the keyboard, records both guardians' consent,
sees the revision turn the outcome to eligible, then documents start, three contacts and an
early end with a reason. Every assertion is on what the page shows. A screenshot of each step is
kept under test-artifacts/provider-web/ (the path is printed).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from iub_runtime.auth import hash_key
from iub_runtime.processes import RedisServer, System, free_port, wait_until
from tests.e2e.conftest import E2E_ENV

pytestmark = [pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "provider-web"
UNIT = "Social- och arbetsmarknadskontoret, Sala kommun"
KEY = "iub_provider-key-for-the-browser-test-0123456789"
CLIENTS = {"clients": [{"id": "sala-medling", "name": "Medling Sala", "key_sha256": [hash_key(KEY)],
                        "kommuner": ["sala"], "units": [UNIT],
                        "operations": ["provider:read", "provider:write"]}]}
APP_KEY = "iub_app-backend-key-for-the-browser-test-0123456789"
APP = {"clients": [{"id": "app", "name": "Mitt val mitt stöd", "key_sha256": [hash_key(APP_KEY)],
                    "kommuner": ["*"], "operations": ["requests:create", "requests:read"]}]}
REQUEST = {"kommun": "sala", "insats_id": "medling", "channel": "app",
           "facts": {"stated_age": 14, "folkbokford_i_kommunen": True,
                     "other_facts": {"garningspersonen_har_fyllt_12_ar": True},
                     "guardians": [{"label": "vårdnadshavare 1"}, {"label": "vårdnadshavare 2"}]}}


def require_browser():
    """Playwright driving the system Chromium, or a skip with the reason (a failure in CI)."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/install-system-deps.sh)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "the playwright package is missing (uv sync --dev)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the provider page browser test; {reason}")
        pytest.skip(reason)
    return sync_playwright


@dataclass
class Site:
    intake: str
    audit: str


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """Redis, the four services (audit with the provider client and a plain-HTTP cookie)."""
    tmp = Path(tempfile.mkdtemp(prefix="iub-e2e-provider-web-"))
    server = RedisServer(data_dir=tmp / "redis").start()
    port, audit_port = free_port(), free_port()
    system = System(redis_url=server.url, env={**E2E_ENV, "IUB_VAR_DIR": str(tmp)}, http_port=port,
                    audit_port=audit_port, log_dir=tmp / "logs",
                    service_env={"audit": {"IUB_CLIENTS_JSON": json.dumps(CLIENTS),
                                           "IUB_PROVIDER_COOKIE_SECURE": "false"},
                                 "intake": {"IUB_AUTH_DISABLED": "false", "IUB_CLIENTS_JSON": json.dumps(APP)}})
    system.start()
    site = Site(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{audit_port}")
    try:
        try:
            for base in (site.intake, site.audit):
                wait_until(lambda b=base: httpx.get(f"{b}/health", timeout=1).json()["ok"], 60, what=f"{base} health")
        except TimeoutError:
            for log in sorted((tmp / "logs").glob("*.log")):
                print(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
            raise
        yield site
    finally:
        system.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def shot(page, name: str) -> Path:
    """A full-page screenshot kept as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def focused(page) -> dict:
    """The focused element: its id, tag and whether its focus ring is visible."""
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {id: e.id, tag: e.tagName.toLowerCase(), text: (e.textContent || '').trim(),
                ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0}; }""")


def text_of(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def reload_until(page, selector: str, expected: str, timeout: float = 30) -> None:
    """Reload the page until an element shows a text (the revision is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        if expected in (page.locator(selector).inner_text() if page.locator(selector).count() else ""):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{selector} did not show {expected!r} within {timeout}s: {page.locator('main').inner_text()}")
        time.sleep(0.5)
        page.reload()


def submit(page, form: str) -> None:
    """Submit a form with Enter on its focused button and wait for the page after the redirect."""
    page.locator(f"{form} button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    problems = page.locator("#problems")
    assert problems.count() == 0, problems.inner_text()


def test_a_sala_medling_case_for_a_14_year_old_from_consent_to_an_early_end(site: Site) -> None:
    sync_playwright = require_browser()
    r = httpx.post(f"{site.intake}/v1/requests", json=REQUEST, headers={"Authorization": f"Bearer {APP_KEY}"},
                   timeout=10)
    assert r.status_code == 202, r.text
    api = {"Authorization": f"Bearer {KEY}"}
    wait_until(lambda: httpx.get(f"{site.audit}/v1/provider/requests", headers=api, timeout=5).json()["total"] == 1,
               60, what="the case in the provider inbox")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="sv-SE")
        fetched: list[str] = []
        page.on("request", lambda req: fetched.append(req.url))
        try:
            # sign in by keyboard only: the skip link first (it leads into the content), the two
            # fields in order, Enter submits
            page.goto(f"{site.audit}/provider/")
            assert page.url.endswith("/provider/login")
            shot(page, "0-inloggning")
            page.keyboard.press("Tab")
            assert focused(page)["text"] == "Hoppa till innehållet"
            page.keyboard.press("Enter")
            page.keyboard.press("Tab")
            f = focused(page)
            assert f["id"] == "staff_id" and f["ring"], f"the focus is visible: {f}"
            page.keyboard.type("anna.l")
            page.keyboard.press("Tab")
            assert focused(page)["id"] == "key"
            page.keyboard.type(KEY)
            page.keyboard.press("Enter")
            page.wait_for_url("**/provider/inbox")
            cookie = next(c for c in page.context.cookies() if c["name"] == "iub_provider")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and KEY not in cookie["value"]
            assert "anna.l" in text_of(page, "#signed-in-as")
            row = page.locator("#inbox tbody tr")
            assert row.count() == 1
            assert "Medling" in row.inner_text() and "Samtycke behövs" in row.inner_text()
            shot(page, "1-inkorg")

            # the case: villkor checklist and whose consent is missing
            row.locator("a").focus()
            page.keyboard.press("Enter")
            page.wait_for_url("**/provider/case/*")
            assert text_of(page, "#status") == "Samtycke behövs"
            assert "Gärningspersonen har fyllt 12 år" in text_of(page, "#checklist")
            assert "ID-handling" in text_of(page, "#checklist")
            assert "samtycke från alla vårdnadshavare" in text_of(page, "#consent-rule")
            assert text_of(page, "#consent-missing") == "Samtycke saknas från: vårdnadshavare 1, vårdnadshavare 2"
            assert "Avidentifierad dokumentation" in text_of(page, "#level")
            assert page.locator("#personnummer").count() == 0, "14:5: no identity on the page"
            shot(page, "2-arende-samtycke-saknas")

            # both guardians' consent, by keyboard (Space checks a focused radio button)
            for n in (1, 2):
                page.locator(f"#g{n}-given").focus()
                page.keyboard.press("Space")
                assert page.locator(f"#g{n}-given").is_checked()
            page.locator("#facts-form button[type=submit]").focus()
            page.keyboard.press("Enter")
            page.wait_for_url("**?done=facts")
            assert "Uppgifterna är registrerade" in text_of(page, "#done")
            reload_until(page, "#status", "Har rätt till insatsen")
            assert "Har rätt till insatsen utan behovsprövning" in text_of(page, "#outcome")
            assert text_of(page, "#revision") == "Omprövning 1"
            revisions = page.locator("#revisions tbody tr")
            assert revisions.count() == 2, "the earlier decision is kept"
            assert "Samtycke från vårdnadshavare behövs" in revisions.nth(0).inner_text()
            assert "Har rätt till insatsen" in revisions.nth(1).inner_text()
            consent = text_of(page, "#consent-state")
            assert consent.count("samtycke lämnat") == 2 and "anna.l" in consent
            shot(page, "3-arende-beviljat")

            # start, with the de-identified situation and wellbeing (14:5 codes from Sala's lists)
            page.select_option("#start-situation", "arbete-studier")
            page.select_option("#start-scale-maende", "2")
            submit(page, "#start-form")
            assert text_of(page, "#done") == "Händelsen är dokumenterad."
            assert text_of(page, "#status") == "Pågår"
            assert page.locator("#start-form").count() == 0 and page.locator("#facts-form").count() == 0

            # three contacts: the form and minutes typed by keyboard
            for form, minutes in (("individual", "45"), ("phone", "20"), ("digital", "30")):
                page.select_option("#contact-form-kind", form)
                page.locator("#contact-minutes").focus()
                page.keyboard.type(minutes)
                submit(page, "#contact-form")
                assert text_of(page, "#done") == "Händelsen är dokumenterad."

            # ended early, with a reason from the kommun's list and the situation at the end
            page.select_option("#end-kind", "ended_early")
            page.select_option("#end-reason", "flyttat")
            page.select_option("#end-situation", "arbetssokande")
            page.select_option("#end-scale-maende", "3")
            submit(page, "#end-form")
            assert text_of(page, "#status") == "Avslutad"
            rows = [r.strip() for r in page.locator("#events tbody tr").all_inner_texts()]
            assert len(rows) == 5, rows
            assert rows[0].startswith("Start") and "Arbete eller studier" in rows[0] and "Mående 2" in rows[0]
            assert [r.split("\t")[0] for r in rows[1:4]] == ["Kontakt"] * 3
            # contacts of one day in no particular order (14 kap 5 §: no arrival order is kept)
            assert sorted(r.split("\t")[-1] for r in rows[1:4]) == ["Digitalt, 30 min", "Enskilt, 45 min",
                                                                    "Telefon, 20 min"]
            assert "Avbruten i förtid: Deltagaren har flyttat" in rows[4] and "Arbetssökande" in rows[4]
            assert page.locator("main form").count() == 0, "an ended insats offers no more forms"
            shot(page, "4-arende-avslutat")

            # the inbox shows the case as ended
            page.goto(f"{site.audit}/provider/inbox?status=ended")
            assert "Avslutad" in page.locator("#inbox tbody tr").inner_text()

            # offline: every request went to the audit service, and its stylesheet was applied
            assert fetched and all(u.startswith(f"{site.audit}/provider/") for u in fetched), set(fetched)
            assert f"{site.audit}/provider/static/provider.css" in fetched
            assert page.evaluate("getComputedStyle(document.querySelector('.top')).borderBottomStyle") == "solid"
        finally:
            shot(page, "sista-vyn")
            browser.close()
