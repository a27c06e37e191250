"""GET /v1/kommuner and GET /v1/kommuner/{kommun}/insatser: the catalogue as the app shows it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from iub_contracts.api import InsatsList, KommunList
from iub_contracts.calendar import request_day
from iub_intake.access import AuthFirstRoute, check_kommun, require
from iub_intake.context import Intake, get_intake
from iub_intake.domain.catalog_view import insatser_view, kommun_view
from iub_intake.problems import ProblemError, problem_responses
from iub_runtime.auth import ClientConfig, Operation

router = APIRouter(tags=["katalog"], route_class=AuthFirstRoute)
KOMMUN = Path(min_length=1, max_length=80, description="Kommun id, e.g. 'sala' (see /v1/kommuner)")


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
    intake: Intake = Depends(get_intake),
    client: ClientConfig = Depends(require(Operation.CATALOG_READ)),
) -> InsatsList:
    """Insatser in force today: name, unit, målgrupp, villkor, consent, documentation, contact."""
    check_kommun(client, Operation.CATALOG_READ, kommun)
    k = intake.catalog.kommun(kommun)
    if k is None:
        raise ProblemError(404, "Okänd kommun", see="/v1/kommuner")
    return insatser_view(k, request_day(intake.rt.clock()))
