"""POST /v1/eligibility/preview: 'can I get this?' without creating a request; nothing stored or logged."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from iub_contracts.api import PreviewIn, PreviewOut
from iub_contracts.calendar import request_day
from iub_intake.access import AuthFirstRoute, check_kommun, require
from iub_intake.context import Intake, get_intake
from iub_intake.domain.admission import Refusal
from iub_intake.domain.preview import preview
from iub_intake.problems import problem_responses
from iub_intake.submission import personnummer_of, refusal_error
from iub_runtime.auth import ClientConfig, Operation

router = APIRouter(tags=["behörighet"], route_class=AuthFirstRoute)


@router.post("/v1/eligibility/preview", response_model=PreviewOut,
             responses=problem_responses(401, 403, 404, 413, 422, 429, 503))
async def eligibility_preview(
    body: PreviewIn,
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.PREVIEW)),
) -> PreviewOut:
    """The decision a request with these facts would get; nothing is stored and nothing is logged."""
    check_kommun(client, Operation.PREVIEW, body.kommun)
    pnr = personnummer_of(body.facts.personnummer)
    result = preview(intake.catalog, body, pnr, body.at or request_day(intake.rt.clock()))
    if isinstance(result, Refusal):
        raise refusal_error(result)
    return result
