"""Composition root of intake: FastAPI (served by uvicorn) plus the broker for status updates."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import structlog
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.redis import RedisBroker
from iub_contracts import streams
from iub_contracts.api import Accepted, ProblemDetail, RequestIn, RequestStatus
from iub_contracts.catalog_loader import default_catalog_dir, load_catalog
from iub_contracts.messages import DecisionMade, InformationGiven
from iub_runtime import metrics
from iub_runtime.consumer import Runtime, make_canonical_log_middleware, register_consumer
from iub_runtime.health import check_health
from iub_runtime.logging import configure_logging
from iub_runtime.streams import ensure_groups

from iub_intake import idempotency as idem
from iub_intake.domain.admission import Refusal, admit
from iub_intake.identity import InvalidPersonnummer, normalise_personnummer
from iub_intake.settings import IntakeSettings
from iub_intake.status import accept_request, read_status, record_decision, record_information

log = structlog.get_logger("iub.intake")


def problem(status: int, title: str, errors: list[dict] | None = None, see: str | None = None) -> JSONResponse:
    """An error body that names fields and problems, never submitted values."""
    return JSONResponse(
        ProblemDetail(title=title, status=status, errors=errors or [], see=see).model_dump(exclude_none=True),
        status_code=status,
        media_type="application/problem+json",
    )


def create_api(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the intake API and its stream consumers."""
    settings = settings or IntakeSettings()
    configure_logging("intake", json=settings.log_json, level=settings.log_level)
    rt = Runtime(settings=settings, service="intake")
    broker = RedisBroker(settings.redis_url, logger=None, middlewares=[make_canonical_log_middleware(rt)])
    catalog_dir = Path(settings.catalog_dir) if settings.catalog_dir else default_catalog_dir()
    state: dict = {}

    async def on_decision_made(msg: DecisionMade) -> None:
        """Keep the decision for GET /v1/requests/{id}."""
        await record_decision(rt.redis, msg)

    async def on_information_given(msg: InformationGiven) -> None:
        """Keep the information as delivered for GET /v1/requests/{id} (the polling channel)."""
        await record_information(rt.redis, msg)

    register_consumer(broker, rt, stream=streams.DECISIONS, group=streams.GROUP_INTAKE, model=DecisionMade,
                      handle=on_decision_made, description="Request status: decided")
    register_consumer(broker, rt, stream=streams.INFORMATION, group=streams.GROUP_INTAKE,
                      model=InformationGiven, handle=on_information_given,
                      description="Request status: information given")
    broker.publisher(streams.REQUESTS, title=streams.REQUESTS, schema=None,
                     description="Requests accepted by intake (RequestReceived)")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["catalog"] = load_catalog(catalog_dir)
        await rt.connect()
        await ensure_groups(rt.redis)
        await broker.start()
        log.info("intake_started", port=settings.port, catalog_version=state["catalog"].version)
        try:
            yield
        finally:
            await broker.stop()
            await rt.close()

    api = FastAPI(
        title="IUB intake",
        version="1",
        summary="Requests for insatser utan individuell behovsprövning (SoL 2025:400)",
        lifespan=lifespan,
    )

    @api.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        # name the field and the problem; never echo the input (it may hold a personnummer)
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        return problem(422, "Ogiltig begäran", errors)

    @api.get("/health")
    async def health() -> JSONResponse:
        """Broker reachable and consumer groups present."""
        h = await check_health(rt.redis)
        return JSONResponse(h, status_code=200 if h["ok"] else 503)

    @api.post("/v1/requests", status_code=202, response_model=Accepted,
              responses={404: {"model": ProblemDetail}, 409: {"model": ProblemDetail},
                         422: {"model": ProblemDetail}})
    async def post_request(
        body: RequestIn,
        request: Request,
        idempotency_key: str | None = Header(default=None, max_length=200),
    ):
        """Ask for an insats. 202 only once the request is durably on the stream."""
        return await submit(body, await request.body(), idempotency_key, client_id="anonymous")

    async def submit(body: RequestIn, raw: bytes, idempotency_key: str | None, client_id: str):
        """Validate, admit, and put one request on the stream (shared by the app and telephony)."""
        pnr = None
        if body.facts.personnummer:
            try:
                pnr = normalise_personnummer(body.facts.personnummer)
            except InvalidPersonnummer:
                return problem(422, "Ogiltig begäran",
                               [{"field": "facts.personnummer", "problem": "ogiltigt personnummer"}])
        request_id = uuid.uuid4()
        ttl = int(settings.idempotency_ttl_hours * 3600)
        digest = idem.body_digest(raw)
        if idempotency_key:
            c = await idem.claim(rt.redis, client_id, idempotency_key, digest, str(request_id), ttl)
            if c.state == "conflict":
                return problem(422, "Idempotency-Key används redan för en annan begäran",
                               [{"field": "Idempotency-Key", "problem": "återanvänd med annat innehåll"}])
            if c.state == "in_flight":
                return problem(409, "En begäran med samma Idempotency-Key behandlas redan")
            if c.state == "replay":
                return accepted(uuid.UUID(c.request_id))
        result = admit(state["catalog"], body, pnr, request_id=request_id, now=rt.clock())
        if isinstance(result, Refusal):
            if idempotency_key:
                await idem.release(rt.redis, client_id, idempotency_key)
            return problem(result.status, result.title, [{"field": result.field, "problem": result.title}],
                           see=result.see)
        if result.personnummer_dropped:
            metrics.PNR_DROPPED.labels(kommun=result.request.kommun).inc()
        try:
            await accept_request(rt.redis, result.request, retention_s=settings.stream_retention_hours * 3600)
        except Exception:
            if idempotency_key:
                await idem.release(rt.redis, client_id, idempotency_key)
            raise
        if idempotency_key:
            await idem.complete(rt.redis, client_id, idempotency_key, digest, str(request_id), ttl)
        return accepted(request_id)

    def accepted(request_id: uuid.UUID) -> JSONResponse:
        location = f"/v1/requests/{request_id}"
        return JSONResponse(
            Accepted(request_id=request_id, location=location).model_dump(mode="json"),
            status_code=202,
            headers={"Location": location},
        )

    @api.get("/v1/requests/{request_id}", response_model=RequestStatus,
             responses={404: {"model": ProblemDetail}})
    async def get_request(request_id: uuid.UUID):
        """Status, the decision with its explanation, and the information as delivered."""
        row = await read_status(rt.redis, str(request_id))
        if row is None:
            return problem(404, "Okänd begäran")
        return RequestStatus.model_validate(row)

    api.state.runtime = rt
    api.state.submit = submit
    api.state.broker = broker
    api.state.data = state
    return api
