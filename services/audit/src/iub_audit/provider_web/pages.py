"""The provider web page: server-rendered Swedish pages under /provider/ (no script, no CDN).

Sign-in with the provider key once (or a trusted SSO header), then an HttpOnly, SameSite=Strict
session cookie holding only a random token; every form carries the session's CSRF token and a
fresh event id (a retried post documents once). Each page action is one in-process call of the
provider JSON API (``inprocess.call``), so the page has no rules of its own.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import TypeAdapter, ValidationError

from iub_audit.provider_web import catalogue_view, texts
from iub_audit.provider_web.inprocess import call
from iub_audit.provider_web.session import Session, SessionStore, same_token
from iub_contracts.calendar import request_day
from iub_contracts.provider import StaffId
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation
from iub_runtime.ratelimit import RateLimiter

log = structlog.get_logger("iub.audit.provider_web")

HERE = Path(__file__).resolve().parent
COOKIE = "iub_provider"
LOGIN_COOKIE = "iub_provider_login"  # double-submit token of the sign-in form (no session yet)
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
STATUSES = list(texts.STATUS)
LOGIN_ATTEMPTS_PER_MINUTE = 10  # per browser address: keys cannot be guessed, but nobody should try
API = "/v1/provider/requests"
STAFF_ID = TypeAdapter(StaffId)


def valid_staff_id(value: str) -> bool:
    """Whether a staff id has the contract's form (letters first, no spaces, at most 40)."""
    try:
        STAFF_ID.validate_python(value)
    except ValidationError:
        return False
    return True


@dataclass
class WebSettings:
    """How the page authenticates: cookie flags, session length and the optional SSO header."""

    cookie_secure: bool = True
    session_ttl_s: int = 8 * 3600
    sso_header: str | None = None
    sso_trusted_proxies: list[str] = field(default_factory=list)
    sso_users: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    """An error page: status and a Swedish message (never an echo of input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def environment() -> Environment:
    """The Jinja2 templates shipped with the package, autoescaped."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.do"])
    env.globals.update(texts=texts, say=texts.say, statuses=STATUSES)
    return env


def _trusted(peer: str | None, proxies: list[str]) -> bool:
    if not peer:
        return False
    try:
        addr = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for p in proxies:
        try:
            if addr in ipaddress.ip_network(p, strict=False):
                return True
        except ValueError:
            continue
    return False


async def form_of(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (last value of each name); 415 for anything else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "Formuläret skickades i fel format.")
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def build_router(app_of: Callable[[Request], Any], get_registry: Callable[[], ClientRegistry | None],
                 sessions: SessionStore, settings: WebSettings,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 get_catalog: Callable[[], Any] = lambda: None) -> APIRouter:
    """GET/POST /provider/…: sign-in, inbox, case with checklist, consent, start/contact/end, logout."""
    router = APIRouter(include_in_schema=False)
    env = environment()

    def page(name: str, code: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(**ctx)
        return HTMLResponse(html, status_code=code, headers={
            "Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"})

    def set_cookie(resp: Response, name: str, value: str, max_age: int | None, path: str = "/provider") -> None:
        resp.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="strict",
                        secure=settings.cookie_secure)

    def registry() -> ClientRegistry:
        reg = get_registry()
        if reg is None:
            raise Refused(503, "Inloggning är inte konfigurerad (IUB_CLIENTS_FILE eller IUB_CLIENTS_JSON).")
        return reg

    def provider(client: ClientConfig | None) -> ClientConfig | None:
        return client if client is not None and Operation.PROVIDER_READ in client.operations else None

    async def sso_session(request: Request) -> tuple[str, Session] | None:
        """A session from the SSO proxy's header, when configured and sent by a trusted peer."""
        if not settings.sso_header:
            return None
        user = request.headers.get(settings.sso_header)
        if not user:
            return None
        peer = request.client.host if request.client else None
        if not _trusted(peer, settings.sso_trusted_proxies):
            log.warning("provider_sso_header_untrusted_peer")  # the header is ignored
            return None
        client_id = settings.sso_users.get(user.strip().lower())
        client = provider(registry().by_id(client_id)) if client_id else None
        if client is None or not valid_staff_id(user.strip()):
            log.warning("provider_sso_user_unmapped")
            raise Refused(403, "Ditt konto är inte kopplat till någon utförare. Kontakta kommunens IT.")
        return await sessions.create(client.id, user.strip(), via="sso")

    @dataclass
    class Who:
        session: Session
        client: ClientConfig
        new_token: str | None = None

    async def who(request: Request) -> Who | None:
        token = request.cookies.get(COOKIE)
        session = await sessions.get(token)
        if session is None:
            created = await sso_session(request)
            if created is None:
                return None
            token, session = created
            found = registry().by_id(session.client_id)
            return Who(session, found, token) if provider(found) else None
        if settings.sso_header and session.via == "sso":  # the proxy's user must still be the session's
            user = request.headers.get(settings.sso_header, "").strip()
            if user != session.staff_id:
                await sessions.delete(token)
                return await who_fresh(request)
        found = provider(registry().by_id(session.client_id))
        if found is None:  # the client was removed or lost provider:read
            await sessions.delete(token)
            return None
        return Who(session, found)

    async def who_fresh(request: Request) -> Who | None:
        created = await sso_session(request)
        if created is None:
            return None
        token, session = created
        found = provider(registry().by_id(session.client_id))
        return Who(session, found, token) if found else None

    def finish(resp: Response, w: Who) -> Response:
        if w.new_token:
            set_cookie(resp, COOKIE, w.new_token, None)  # a browser-session cookie
        return resp

    def to_login() -> RedirectResponse:
        return RedirectResponse("/provider/login", status_code=303)

    async def signed_in(request: Request) -> Who | Response:
        w = await who(request)
        return w if w is not None else to_login()

    async def checked_form(request: Request, w: Who, write: bool = True) -> dict[str, str]:
        data = await form_of(request)
        if not same_token(w.session.csrf, data.get("csrf")):
            log.warning("provider_csrf_refused", client_id=w.client.id)
            raise Refused(403, "Formuläret har gått ut eller kom inte från den här sidan. "
                               "Ladda om sidan och försök igen.")
        if write and Operation.PROVIDER_WRITE not in w.client.operations:
            raise Refused(403, "Din inloggning får bara läsa, inte registrera.")
        return data

    def error_page(exc: Refused, w: Who | None = None) -> HTMLResponse:
        return page("error.html", exc.status, who=w, message=exc.message)

    # ------------------------------------------------------------------ static assets

    @router.get("/provider/static/{name}")
    async def static(name: str) -> Response:
        allowed = {"provider.css": "text/css; charset=utf-8"}
        if name not in allowed:
            return Response(status_code=404)
        return Response((HERE / "static" / name).read_bytes(), media_type=allowed[name],
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})

    # ------------------------------------------------------------------ sign-in

    @router.get("/provider")
    @router.get("/provider/")
    async def home(request: Request) -> Response:
        try:
            w = await who(request)
        except Refused as exc:
            return error_page(exc)
        return finish(RedirectResponse("/provider/inbox", status_code=303), w) if w else to_login()

    @router.get("/provider/login")
    async def login_form(request: Request) -> Response:
        try:
            w = await who(request)
        except Refused as exc:
            return error_page(exc)
        if w is not None:
            return finish(RedirectResponse("/provider/inbox", status_code=303), w)
        token = secrets.token_urlsafe(32)
        resp = page("login.html", who=None, csrf=token, sso=bool(settings.sso_header))
        set_cookie(resp, LOGIN_COOKIE, token, 1800, path="/provider/login")
        return resp

    limiters: dict[int, RateLimiter] = {}

    async def login_allowed(request: Request) -> None:
        redis = sessions.redis()
        limiter = limiters.get(id(redis))
        if limiter is None:
            limiter = limiters[id(redis)] = RateLimiter(redis, 60, prefix="iub:provider-login")
        peer = request.client.host if request.client else "unknown"
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        if forwarded and _trusted(peer, settings.sso_trusted_proxies):  # the browser's address, per the proxy
            peer = forwarded
        verdict = await limiter.hit(peer, LOGIN_ATTEMPTS_PER_MINUTE)
        if not verdict.allowed:
            log.warning("provider_login_rate_limited")
            raise Refused(429, f"För många inloggningsförsök. Försök igen om {verdict.retry_after_s} sekunder.")

    @router.post("/provider/login")
    async def login(request: Request) -> Response:
        try:
            await login_allowed(request)
            data = await form_of(request)
            if not same_token(request.cookies.get(LOGIN_COOKIE, ""), data.get("csrf")):
                raise Refused(403, "Inloggningsformuläret har gått ut. Ladda om sidan och försök igen.")
            staff = data.get("staff_id", "").strip()
            found = registry().authenticate(data.get("key", "").strip())
        except Refused as exc:
            return error_page(exc)
        token = secrets.token_urlsafe(32)
        problems = []
        if not valid_staff_id(staff):
            problems.append(("staff_id", "Ange ditt personal-id: börjar med en bokstav, bara bokstäver, siffror, "
                                         "punkt, understreck och bindestreck, högst 40 tecken."))
        if provider(found) is None:
            log.warning("provider_login_refused")
            problems.append(("key", "Nyckeln gäller inte för utförarsidan."))
        if problems:
            resp = page("login.html", 401 if found is None or provider(found) is None else 422, who=None,
                        csrf=token, problems=problems, staff_id=staff[:40], sso=bool(settings.sso_header))
            set_cookie(resp, LOGIN_COOKIE, token, 1800, path="/provider/login")
            return resp
        sid, _ = await sessions.create(found.id, staff)
        log.info("provider_signed_in", client_id=found.id)
        resp = RedirectResponse("/provider/inbox", status_code=303)
        set_cookie(resp, COOKIE, sid, None)  # gone when the browser closes; Redis ends it when idle
        resp.delete_cookie(LOGIN_COOKIE, path="/provider/login")
        return resp

    @router.post("/provider/logout")
    async def logout(request: Request) -> Response:
        try:
            w = await who(request)
            if w is None:
                return to_login()
            await checked_form(request, w, write=False)
        except Refused as exc:
            return error_page(exc)
        await sessions.delete(request.cookies.get(COOKIE))
        log.info("provider_signed_out", client_id=w.client.id)
        resp = page("logged_out.html", who=None, sso=w.session.via == "sso")
        resp.delete_cookie(COOKIE, path="/provider", httponly=True, samesite="strict", secure=settings.cookie_secure)
        return resp

    # ------------------------------------------------------------------ inbox and case

    @router.get("/provider/inbox")
    async def inbox(request: Request, status: str = "", page_no: int = 1) -> Response:
        try:
            w = await signed_in(request)
        except Refused as exc:
            return error_page(exc)
        if isinstance(w, Response):
            return w
        status = status if status in STATUSES else ""
        page_no = max(1, min(page_no, 10_000))
        ans = await call(app_of(request), w.client, "GET", API,
                         params={"status": status, "page": page_no, "page_size": 25})
        if not ans.ok:
            return finish(error_page(Refused(ans.status, ans.title() or "Inkorgen kunde inte visas."), w), w)
        return finish(page("inbox.html", who=w, inbox=ans.body, status=status, page_no=page_no), w)

    async def render_case(request: Request, w: Who, case_id: str, *, status: int = 200, done: str = "",
                          problems: list[str] | None = None, problem_title: str = "", form: str = "") -> Response:
        ans = await call(app_of(request), w.client, "GET", f"{API}/{quote(case_id, safe='')}")
        if not ans.ok:
            return finish(error_page(Refused(ans.status, "Ärendet finns inte." if ans.status == 404
                                             else ans.title() or "Ärendet kunde inte visas."), w), w)
        c = ans.body
        try:
            catalog = get_catalog()
        except KeyError:  # not loaded yet
            catalog = None
        codes = catalogue_view.followup_codes(catalog, c.get("kommun", ""))
        return finish(page(
            "case.html", status, who=w, case=c, case_id=case_id, done=DONE.get(done, ""),
            problems=problems or [], problem_title=problem_title, failed_form=form,
            event_ids={k: str(uuid.uuid4()) for k in ("facts", "start", "contact", "end")},
            today=request_day(clock()).isoformat(), form_at=clock().astimezone(dt.UTC).isoformat(),
            may_write=Operation.PROVIDER_WRITE in w.client.operations,
            villkor_text=catalogue_view.villkor_texts(catalog, c.get("kommun", ""), c.get("insats_id", ""),
                                                      c.get("request_day")),
            guardian_slots=catalogue_view.guardian_slots(c.get("consent") or {}),
            codes=codes, reason_text={e.code: e.label for e in codes.end_reasons} if codes else {},
            situation_text={e.code: e.label for e in codes.situation} if codes else {},
            scale_text={sc.id: sc.label for sc in codes.scales} if codes else {},
            child_consent_asked=False), w)

    @router.get("/provider/case/{case_id}")
    async def case(request: Request, case_id: str, done: str = "") -> Response:
        try:
            w = await signed_in(request)
        except Refused as exc:
            return error_page(exc)
        if isinstance(w, Response):
            return w
        return await render_case(request, w, case_id, done=done if done in DONE else "")

    async def post_to_api(request: Request, case_id: str, form_name: str,
                          build: Callable[[dict[str, str], Session], tuple[str, dict[str, Any]]]) -> Response:
        try:
            w = await signed_in(request)
            if isinstance(w, Response):
                return w
            data = await checked_form(request, w)
        except Refused as exc:
            return error_page(exc)
        try:
            suffix, body = build(data, w.session)
        except Refused as exc:
            return await render_case(request, w, case_id, status=exc.status, problems=[("", exc.message)],
                                     problem_title="Formuläret är inte komplett", form=form_name)
        ans = await call(app_of(request), w.client, "POST", f"{API}/{quote(case_id, safe='')}/{suffix}", body=body)
        if ans.ok:
            return finish(RedirectResponse(f"/provider/case/{quote(case_id, safe='')}?done={form_name}",
                                           status_code=303), w)
        if ans.status == 404:
            return finish(error_page(Refused(404, "Ärendet finns inte."), w), w)
        return await render_case(request, w, case_id, status=ans.status, problems=ans.problems(),
                                 problem_title=ans.title() or "Uppgifterna kunde inte registreras", form=form_name)

    def recorded_at(data: dict[str, str]) -> str:
        """When the consent was recorded: the time the form was shown (kept in it, so a retried post is
        the same event), never later than now."""
        try:
            at = dt.datetime.fromisoformat(data.get("form_at", ""))
        except ValueError:
            at = None
        if at is None or at.tzinfo is None or at > clock():
            at = clock()
        return at.astimezone(dt.UTC).isoformat()

    def facts_body(data: dict[str, str], s: Session) -> tuple[str, dict[str, Any]]:
        villkor = []
        for name, value in data.items():
            if name.startswith("villkor.") and value in ("confirmed", "refuted"):
                key = name.removeprefix("villkor.")
                villkor.append({"key": key, "result": value, "confirm_by": data.get(f"confirm_by.{key}", "")})
        consents = []
        for name, value in data.items():
            if name.startswith("guardian.") and value in ("given", "refused"):
                consents.append({"guardian": f"vårdnadshavare {name.removeprefix('guardian.')}",
                                 "given": value == "given",
                                 "recorded_by": s.staff_id, "recorded_at": recorded_at(data)})
        child = {"yes": True, "no": False}.get(data.get("child_consent", ""))
        if not villkor and not consents and child is None:
            raise Refused(422, "Markera minst ett villkor eller ett samtycke.")
        return "facts", {"event_id": data.get("event_id") or str(uuid.uuid4()), "staff_id": s.staff_id,
                         "villkor": villkor, "consents": consents, "child_consent": child}

    def event_body(data: dict[str, str], _s: Session) -> tuple[str, dict[str, Any]]:
        kind = data.get("kind", "")
        if kind not in ("start", "contact", "end"):
            raise Refused(422, "Okänd händelse.")
        body: dict[str, Any] = {"event_id": data.get("event_id") or str(uuid.uuid4()), "kind": kind,
                                "date": data.get("date", "")}
        if kind == "contact":
            body["form"] = data.get("form", "")
            try:
                body["minutes"] = int(data.get("minutes", ""))
            except ValueError:
                raise Refused(422, "Ange minuter som ett heltal.") from None
        if kind == "end":
            body["end"] = data.get("end", "")
            if data.get("reason"):
                body["reason"] = data["reason"]
        if data.get("situation"):  # 14:5 at start and end: codes and scales from the kommun's lists
            body["situation"] = data["situation"]
        scales = {}
        for name, value in data.items():
            if name.startswith("scale.") and value:
                try:
                    scales[name.removeprefix("scale.")] = int(value)
                except ValueError:
                    raise Refused(422, "Ange skalan som ett heltal.") from None
        if scales:
            body["scales"] = scales
        if data.get("note", "").strip():
            body["note"] = data["note"].strip()
        return "events", body

    # ------------------------------------------------------------------ 14 kap 4 §: counts, no case, no person

    def counts_page(w: Who, code: int = 200, problems: list[tuple[str, str]] | None = None, done: bool = False,
                    problem_title: str = "") -> Response:
        try:
            catalog = get_catalog()
        except KeyError:
            catalog = None
        kommun = w.client.kommuner[0]
        today = request_day(clock())
        return finish(page("counts.html", code, who=w, today=today.isoformat(), event_id=str(uuid.uuid4()),
                           insatser=catalogue_view.advisory_insatser(catalog, kommun, list(w.client.units), today),
                           topics=catalogue_view.topics(catalog, kommun), problems=problems or [],
                           problem_title=problem_title, done=done,
                           may_write=Operation.PROVIDER_WRITE in w.client.operations), w)

    @router.get("/provider/counts")
    async def counts_form(request: Request, done: str = "") -> Response:
        try:
            w = await signed_in(request)
        except Refused as exc:
            return error_page(exc)
        if isinstance(w, Response):
            return w
        return counts_page(w, done=done == "count")

    @router.post("/provider/counts")
    async def counts(request: Request) -> Response:
        try:
            w = await signed_in(request)
            if isinstance(w, Response):
                return w
            data = await checked_form(request, w)
        except Refused as exc:
            return error_page(exc)
        try:
            count = int(data.get("count", ""))
        except ValueError:
            return counts_page(w, 422, [("count", "ange ett heltal")], problem_title="Ogiltig begäran")
        body = {"event_id": data.get("event_id") or str(uuid.uuid4()), "kommun": w.client.kommuner[0],
                "insats_id": data.get("insats_id", ""), "date": data.get("date", ""), "topic": data.get("topic", ""),
                "channel": data.get("channel", ""), "count": count}
        if data.get("form"):
            body["form"] = data["form"]
        ans = await call(app_of(request), w.client, "POST", "/v1/provider/advisory-counts", body=body)
        if ans.ok:
            return finish(RedirectResponse("/provider/counts?done=count", status_code=303), w)
        return counts_page(w, ans.status, ans.problems(), problem_title=ans.title() or "Antalet kunde inte registreras")

    @router.post("/provider/case/{case_id}/facts")
    async def facts(request: Request, case_id: str) -> Response:
        return await post_to_api(request, case_id, "facts", facts_body)

    @router.post("/provider/case/{case_id}/events")
    async def events(request: Request, case_id: str) -> Response:
        return await post_to_api(request, case_id, "event", event_body)

    return router


DONE = {"facts": "Uppgifterna är registrerade. Beslutet prövas på nytt; ladda om sidan om en liten stund.",
        "event": "Händelsen är dokumenterad."}
