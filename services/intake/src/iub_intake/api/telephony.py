"""POST /v1/telephony/events: Kundcenter's platform events, Standard Webhooks signed, each id once.

The body is parsed only after the signature is verified, so it is read here rather than declared
as a FastAPI body; its schema is added to the OpenAPI by ``telephony_openapi``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import TypeAdapter, ValidationError

from iub_contracts.api import Accepted, AgentFormSubmitted, FieldProblem, TelephonyAck, TelephonyEvent
from iub_intake import idempotency as idem
from iub_intake.access import AuthFirstRoute, require
from iub_intake.api.requests import LOCATION, accepted
from iub_intake.context import Intake, get_intake
from iub_intake.domain.telephony import form_to_request
from iub_intake.problems import ProblemError, field_problems, problem_responses
from iub_intake.submission import OnceKey, Submitted, claim, submit
from iub_runtime import webhooks
from iub_runtime.auth import ClientConfig, Operation

router = APIRouter(tags=["telefoni"], route_class=AuthFirstRoute)
EVENT = TypeAdapter(TelephonyEvent)
EVENTS = Counter("iub_intake_telephony_events_total", "Kundcenter platform events accepted", ["type"])
SIGNATURE_REFUSED = Counter("iub_intake_webhook_refused_total", "Webhooks refused for their signature", ["reason"])

EVENT_SCHEMA_REF = "#/components/schemas/TelephonyEvent"
NO_REQUEST = uuid.UUID(int=0)  # what a call event's webhook-id stands for


def telephony_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the TelephonyEvent union and its parts to an OpenAPI document's components."""
    js = EVENT.json_schema(ref_template="#/components/schemas/{model}")
    defs = js.pop("$defs", {})
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, d in defs.items():
        components.setdefault(name, d)
    components["TelephonyEvent"] = js
    return schema


def verify_signature(client: ClientConfig, raw: bytes, msg_id: str | None, ts: str | None, sig: str | None,
                     now: float) -> None:
    """401 unless the body carries the platform's valid, fresh Standard Webhooks signature."""
    try:
        webhooks.verify(client.webhook_secret or "", msg_id, ts, sig, raw, now)
    except webhooks.SignatureError as exc:
        reason = str(exc)  # our own fixed texts: 'timestamp too old', 'no matching signature', …
        SIGNATURE_REFUSED.labels(reason=reason).inc()
        raise ProblemError(401, "Ogiltig webhook-signatur", [FieldProblem(field="webhook-signature", problem=reason)],
                           headers={"WWW-Authenticate": 'Bearer realm="iub"'}) from None


def parse_event(raw: bytes) -> Any:
    """The event, or 422 naming fields and problems only."""
    try:
        return EVENT.validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        raise ProblemError(422, errors=field_problems(RequestValidationError(errors))) from None


def ack(kind: str, earlier: Submitted | None = None) -> JSONResponse:
    """200 for a call event or a webhook-id already processed."""
    body = TelephonyAck(status="duplicate" if earlier else "acknowledged", type=kind,
                        request_id=earlier.request_id if earlier and earlier.request_id != NO_REQUEST else None)
    return JSONResponse(body.model_dump(mode="json"), status_code=200)


HEADER = {"max_length": 200}


@router.post(
    "/v1/telephony/events",
    status_code=202,
    response_model=None,
    responses={
        200: {"model": TelephonyAck, "description": "Call event acknowledged, or a webhook-id already processed"},
        202: {"model": Accepted, "description": "Form accepted: the request is on the stream", "headers": LOCATION},
        **problem_responses(401, 403, 404, 409, 413, 422, 429, 503),
    },
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": {"$ref": EVENT_SCHEMA_REF}}}}},
)
async def telephony_event(
    request: Request,
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.TELEPHONY)),
    webhook_id: str | None = Header(default=None, description="Standard Webhooks message id", **HEADER),
    webhook_timestamp: str | None = Header(default=None, description="Unix seconds", **HEADER),
    webhook_signature: str | None = Header(default=None, description="v1,<base64 HMAC-SHA256>", max_length=2000),
):
    """A Kundcenter event: call.started / call.ended are acknowledged; agent.form_submitted becomes a request."""
    raw = await request.body()
    verify_signature(client, raw, webhook_id, webhook_timestamp, webhook_signature, intake.rt.clock().timestamp())
    event = parse_event(raw)
    once = OnceKey(scope=f"{client.id}:webhook", key=webhook_id or "", digest=idem.body_digest(raw),
                   field="webhook-id")
    if isinstance(event, AgentFormSubmitted):
        result = await submit(intake, form_to_request(event), client, Operation.TELEPHONY, once)
        if result.replayed:
            return ack(event.type, result)
        EVENTS.labels(type=event.type).inc()
        return accepted(intake, result.request_id)
    if (earlier := await claim(intake, once, NO_REQUEST)) is not None:
        return ack(event.type, earlier)
    EVENTS.labels(type=event.type).inc()
    return ack(event.type)
