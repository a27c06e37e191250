"""GET /v1/kommuner and GET /v1/kommuner/{kommun}/insatser: the catalogue as the app shows it."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Path, Query, Request

from iub_contracts.api import FieldProblem, InsatsList, InsatsOut, KommunList
from iub_contracts.calendar import request_day
from iub_intake.access import AuthFirstRoute, check_kommun, require
from iub_intake.context import Intake, get_intake
from iub_intake.domain.admission import Refusal, find_version
from iub_intake.domain.catalog_view import insats_view, insatser_view, kommun_view
from iub_intake.problems import ProblemError, problem_responses
from iub_intake.submission import refusal_error
from iub_runtime.auth import ClientConfig, Operation

router = APIRouter(tags=["katalog"], route_class=AuthFirstRoute)
KOMMUN = Path(min_length=1, max_length=80, description="Kommun id, e.g. 'sala' (see /v1/kommuner)")
INSATS = Path(min_length=1, max_length=120, description="Insats id (see /v1/kommuner/{kommun}/insatser)")
AT_QUERY = Query(default=None, alias="at", pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"},
                 description="The day to show, YYYY-MM-DD (default: today in Sweden); a version whose valid_from "
                 "is later is not shown before that day")


def shown_day(request: Request, at: str | None = AT_QUERY) -> dt.date | None:
    """The `at` query parameter as a calendar day: one ISO date, given at most once (else 422)."""
    if at is None:
        return None
    problem = "ange ett datum en gång, ÅÅÅÅ-MM-DD"
    if len(request.query_params.getlist("at")) > 1:
        raise ProblemError(422, "Ogiltig parameter", [FieldProblem(field="query.at", problem=problem)])
    try:
        return dt.date.fromisoformat(at)
    except ValueError:
        raise ProblemError(422, "Ogiltig parameter", [FieldProblem(field="query.at", problem=problem)]) from None


AT = Depends(shown_day)


@router.get("/v1/kommuner", response_model=KommunList, responses=problem_responses(401, 403, 413, 429, 503))
async def list_kommuner(
    intake: Intake = Depends(get_intake), client: ClientConfig = Depends(require(Operation.CATALOG_READ))
) -> KommunList:
    """The kommuner this client serves, with how to get in touch."""
    on = request_day(intake.rt.clock())
    kommuner = [kommun_view(k, on) for k in intake.catalog.kommuner.values()
                if client.may(Operation.CATALOG_READ, k.kommun)]
    return KommunList(kommuner=kommuner)


@router.get("/v1/kommuner/{kommun}/insatser", response_model=InsatsList,
            responses=problem_responses(401, 403, 404, 413, 422, 429, 503))
async def list_insatser(
    kommun: str = KOMMUN,
    at: dt.date | None = AT,
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.CATALOG_READ)),
) -> InsatsList:
    """Insatser in force today (or on `at`): name, unit, målgrupp, villkor, consent, documentation,
    contact, and the questions the app must ask for each."""
    check_kommun(client, Operation.CATALOG_READ, kommun)
    k = intake.catalog.kommun(kommun)
    if k is None:
        raise ProblemError(404, "Okänd kommun", see="/v1/kommuner")
    return insatser_view(k, at or request_day(intake.rt.clock()))


@router.get("/v1/kommuner/{kommun}/insatser/{insats_id}", response_model=InsatsOut,
            responses=problem_responses(401, 403, 404, 422, 429, 503))
async def get_insats(
    kommun: str = KOMMUN,
    insats_id: str = INSATS,
    at: dt.date | None = AT,
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.CATALOG_READ)),
) -> InsatsOut:
    """One insats in force today (or on `at`), with the questions the app must ask: fact key, question in
    sv, en and sv-lattlast, answer type, the villkor or consent rule it serves, and confirm_by."""
    check_kommun(client, Operation.CATALOG_READ, kommun)
    found = find_version(intake.catalog, kommun, insats_id, at or request_day(intake.rt.clock()))
    if isinstance(found, Refusal):
        raise refusal_error(found)
    k, version = found
    return insats_view(k, insats_id, version)
