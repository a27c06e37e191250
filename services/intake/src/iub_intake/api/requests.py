"""POST /v1/requests and GET /v1/requests/{id}: the app's requests and their status."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from iub_contracts.api import Accepted, RequestIn, RequestStatus
from iub_contracts.messages import Channel
from iub_intake import idempotency as idem
from iub_intake.access import AuthFirstRoute, require
from iub_intake.context import Intake, get_intake
from iub_intake.problems import ProblemError, problem_responses
from iub_intake.status import read_status
from iub_intake.submission import OnceKey, submit
from iub_runtime.auth import ClientConfig, Operation

router = APIRouter(tags=["begäran"], route_class=AuthFirstRoute)

LOCATION = {"Location": {"description": "Where to read the request's status", "schema": {"type": "string"}}}


def accepted(intake: Intake, request_id: uuid.UUID) -> JSONResponse:
    """202 with the request id and its Location."""
    path = f"/v1/requests/{request_id}"
    return JSONResponse(Accepted(request_id=request_id, location=path).model_dump(mode="json"), status_code=202,
                        headers={"Location": intake.location(path)})


@router.post("/v1/requests", status_code=202, response_model=Accepted,
             responses={202: {"headers": LOCATION}, **problem_responses(401, 403, 404, 409, 413, 422, 429, 503)})
async def post_request(
    body: RequestIn,
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.REQUESTS_CREATE)),
    idempotency_key: str | None = Header(default=None, min_length=1, max_length=200,
                                         description="A retry with the same key returns the first answer (48 h)"),
):
    """Ask for an insats. 202 only once the request is durably on the stream."""
    if body.channel is Channel.TELEPHONY and Operation.TELEPHONY not in client.operations:
        raise ProblemError(403, "Kanalen telephony är till för Kundcenters plattform")
    once = None
    if idempotency_key is not None:
        once = OnceKey(scope=client.id, key=idempotency_key, digest=idem.body_digest(body.model_dump_json().encode()))
    result = await submit(intake, body, client, Operation.REQUESTS_CREATE, once)
    return accepted(intake, result.request_id)


@router.get("/v1/requests/{request_id}", response_model=RequestStatus,
            responses=problem_responses(401, 403, 404, 413, 422, 429, 503))
async def get_request(
    request_id: uuid.UUID,
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.REQUESTS_READ)),
) -> RequestStatus:
    """Status, the decision with its explanation, and the information as delivered."""
    row = await read_status(intake.rt.redis, str(request_id), intake.rt.shards)
    # another kommun's request is answered exactly like one that does not exist
    if row is None or not client.may(Operation.REQUESTS_READ, row["kommun"]):
        raise ProblemError(404, "Okänd begäran")
    return RequestStatus.model_validate(row)
