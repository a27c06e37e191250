"""Test support for the provider web page: a test-only stand-in of the provider JSON API.

The stand-in answers the routes of the design (GET/POST /v1/provider/requests…) from memory,
behind the audit guard exactly as the real router is (the client comes from request.state), and
keeps every body it was sent, so the page's own behaviour (session, CSRF, forms, rendering) can be
tested apart from the store. The real API is used by the end-to-end browser test.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from iub_audit import insyn
from iub_audit.provider_web import SessionStore, WebSettings, build_router
from iub_contracts.catalog_loader import load_catalog
from iub_contracts.provider import CaseConsent, CasePerson, ChecklistItem, ProviderCase, Revision
from iub_runtime.auth import ClientConfig, ClientRegistry, Operation, hash_key

KEYS = {"sala-medling": "key-sala-medling-utforare-0123456789",
        "sala-read": "key-sala-read-only-0123456789",
        "sala-insyn": "key-sala-insyn-only-0123456789"}
CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "catalog")
UNIT = "Social- och arbetsmarknadskontoret, Sala kommun"
REGISTRY = ClientRegistry([
    ClientConfig(id="sala-medling", name="Medling Sala", key_sha256=[hash_key(KEYS["sala-medling"])],
                 kommuner=["sala"], units=[UNIT], operations=[Operation.PROVIDER_READ, Operation.PROVIDER_WRITE]),
    ClientConfig(id="sala-read", name="Läsare Sala", key_sha256=[hash_key(KEYS["sala-read"])],
                 kommuner=["sala"], units=[UNIT], operations=[Operation.PROVIDER_READ]),
    ClientConfig(id="sala-insyn", name="Handläggare", key_sha256=[hash_key(KEYS["sala-insyn"])],
                 kommuner=["sala"], operations=[Operation.INSYN]),
])

CASE_ID = "0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0"
# a case exactly as the provider API's contract has it (validated here, so the stand-in cannot drift)
CASE = ProviderCase(
    case_id=CASE_ID, kommun="sala", insats_id="medling", insats_name="Medling", unit=UNIT, level="anonymised",
    status="needs_consent", outcome="needs_consent", revision=0, request_day=dt.date(2026, 11, 30),
    updated_at=dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC),
    checklist=[ChecklistItem(villkor_id="garningsperson-fyllt-12", kind="fact", scope="insats", status="unknown",
                             confirm_by=["uppgift från polisen eller åklagaren om gärningspersonens ålder",
                                         "ID-handling"])],
    consent=CaseConsent(required="all_guardians", state="missing",
                        missing_from=["vårdnadshavare 1", "vårdnadshavare 2"]),
    person=CasePerson(age_band="13-15", legal_gender="kvinna"),
    revisions=[Revision(revision=0, outcome="needs_consent", decided_on=dt.date(2026, 11, 30))],
).model_dump(mode="json")


class StandIn:
    """In-memory cases and the bodies posted to them."""

    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {CASE["case_id"]: copy.deepcopy(CASE)}
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.answer: tuple[int, dict[str, Any]] | None = None  # the next POST's answer, when set

    def router(self, guard: insyn.Guard) -> APIRouter:
        r = APIRouter(route_class=insyn.AuthFirstRoute)

        def mine(client: ClientConfig, case_id: str) -> dict[str, Any]:
            case = self.cases.get(case_id)
            if case is None or case["kommun"] not in client.kommuner:
                raise insyn.Problem(404, "Finns inte")
            return case

        @r.get("/v1/provider/requests")
        async def inbox(status: str = "", page: int = 1, page_size: int = 25,
                        who: ClientConfig = Depends(guard.require(Operation.PROVIDER_READ))) -> JSONResponse:
            items = [c for c in self.cases.values() if c["kommun"] in who.kommuner and status in ("", c["status"])]
            return JSONResponse({"items": items, "page": page, "page_size": page_size, "total": len(items)})

        @r.get("/v1/provider/requests/{case_id}")
        async def case(case_id: str, who: ClientConfig = Depends(guard.require(Operation.PROVIDER_READ))):
            return JSONResponse(mine(who, case_id))

        @r.post("/v1/provider/requests/{case_id}/{what}")
        async def post(case_id: str, what: str, request: Request,
                       who: ClientConfig = Depends(guard.require(Operation.PROVIDER_WRITE))) -> JSONResponse:
            mine(who, case_id)
            self.posted.append((what, await request.json()))
            if self.answer is not None:
                status, body = self.answer
                self.answer = None
                return JSONResponse(body, status_code=status, media_type="application/problem+json")
            return JSONResponse({"accepted": True}, status_code=202)

        return r


def make_app(redis_url: str, stand_in: StandIn, *, settings: WebSettings | None = None) -> FastAPI:
    """The page and the stand-in API in one app; Redis is opened in the server's loop."""
    holder: dict[str, Redis] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        holder["redis"] = Redis.from_url(redis_url)
        yield
        await holder["redis"].aclose()

    app = FastAPI(lifespan=lifespan)
    guard = insyn.Guard(lambda: REGISTRY, lambda: None, 600)

    @app.exception_handler(insyn.Problem)
    async def _problem(_req: Request, exc: insyn.Problem) -> JSONResponse:
        return insyn.problem_response(exc)

    app.include_router(stand_in.router(guard))
    app.include_router(build_router(lambda req: req.app, lambda: REGISTRY,
                                    SessionStore(lambda: holder["redis"], 600),
                                    settings or WebSettings(cookie_secure=False), get_catalog=lambda: CATALOG))
    return app
