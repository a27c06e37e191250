"""Authentication, rate limit and operation scope of each call (FastAPI dependencies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer

from iub_intake.context import Intake, get_intake
from iub_intake.problems import ProblemError
from iub_runtime.auth import ClientConfig, Operation

bearer = HTTPBearer(auto_error=False, scheme_name="ApiKeyBearer",
                    description="The client's API key: `Authorization: Bearer <key>`")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader",
                       description="The client's API key in `X-API-Key` (alternative to the bearer header)")


basic = HTTPBasic(auto_error=False, scheme_name="ApiKeyBasic",
                  description="For the operator page in a browser: any user name, the API key as password")


def require(op: Operation, *, browser: bool = False) -> Callable[..., Awaitable[ClientConfig]]:
    """A dependency: the authenticated client, within its rate, allowed this operation.

    ``browser``: also accept HTTP Basic (any user, password = API key) and challenge with Basic,
    so an operator can open /ops in a browser.
    """

    async def check(request: Request, intake: Intake, presented: str | None) -> ClientConfig:
        client = intake.authenticate(presented)
        if client is None:
            challenge = 'Basic realm="iub ops"' if browser else 'Bearer realm="iub"'
            raise ProblemError(401, headers={"WWW-Authenticate": challenge})
        request.state.client_id = client.id
        verdict = await intake.limiter.hit(client.id, client.rate_per_minute)
        if not verdict.allowed:
            raise ProblemError(429, headers={"Retry-After": str(verdict.retry_after_s)})
        if op not in client.operations:
            raise ProblemError(403, f"Klienten får inte utföra {op.value}")
        return client

    if browser:

        async def authorised(
            request: Request,
            intake: Intake = Depends(get_intake),
            credentials: HTTPAuthorizationCredentials | None = Security(bearer),
            header_key: str | None = Security(api_key),
            basic_credentials: HTTPBasicCredentials | None = Security(basic),
        ) -> ClientConfig:
            presented = credentials.credentials if credentials is not None else header_key
            if presented is None and basic_credentials is not None:
                presented = basic_credentials.password
            return await check(request, intake, presented)

    else:

        async def authorised(
            request: Request,
            intake: Intake = Depends(get_intake),
            credentials: HTTPAuthorizationCredentials | None = Security(bearer),
            header_key: str | None = Security(api_key),
        ) -> ClientConfig:
            presented = credentials.credentials if credentials is not None else header_key
            return await check(request, intake, presented)

    authorised.__name__ = f"require_{op.name.lower()}"
    return authorised


def check_kommun(client: ClientConfig, op: Operation, kommun: str) -> None:
    """Refuse (403) a kommun outside the client's scope."""
    if not client.may(op, kommun):
        raise ProblemError(403, "Klienten har inte behörighet för kommunen", see="/v1/kommuner")
