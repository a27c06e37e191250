"""Authentication, rate limit and operation scope of each call (FastAPI dependencies).

Authentication runs before the body is parsed (``AuthFirstRoute``): a caller without a valid key
gets 401 whatever it sent, never a 422 that would tell it about the body's shape.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
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


def require(op: Operation | None, *, browser: bool = False) -> Callable[..., Awaitable[ClientConfig]]:
    """A dependency: the authenticated client, within its rate, allowed this operation (None: any client).

    ``browser``: also accept HTTP Basic (any user, password = API key) and challenge with Basic,
    so an operator can open /ops in a browser.
    """

    async def check(request: Request, intake: Intake, presented: str | None) -> ClientConfig:
        earlier = getattr(request.state, "iub_client", None)
        if earlier is not None:  # already checked before the body was parsed (one rate-limit hit per call)
            return earlier
        client = intake.authenticate(presented)
        if client is None:
            challenge = 'Basic realm="iub ops"' if browser else 'Bearer realm="iub"'
            raise ProblemError(401, headers={"WWW-Authenticate": challenge})
        request.state.client_id = client.id
        verdict = await intake.limiter.hit(client.id, client.rate_per_minute)
        if not verdict.allowed:
            raise ProblemError(429, headers={"Retry-After": str(verdict.retry_after_s)})
        if op is not None and op not in client.operations:
            raise ProblemError(403, f"Klienten får inte utföra {op.value}")
        request.state.iub_client = client
        return client

    async def before_body(request: Request) -> None:
        """The same check from the raw headers, run by AuthFirstRoute before any parsing."""
        await check(request, request.app.state.intake, presented_key(request, browser=browser))

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

    authorised.__name__ = f"require_{op.name.lower() if op else 'client'}"
    authorised.iub_before_body = before_body  # type: ignore[attr-defined]
    return authorised


def presented_key(request: Request, *, browser: bool = False) -> str | None:
    """The API key in the headers: Bearer, else X-API-Key, else (browser routes) the Basic password."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"]
    if browser and scheme.lower() == "basic" and value:
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


class AuthFirstRoute(APIRoute):
    """A route whose ``require`` dependency runs before FastAPI reads and parses the body."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        checks = [d.call.iub_before_body for d in self.dependant.dependencies
                  if hasattr(d.call, "iub_before_body")]
        if not checks:
            return handler

        async def authenticated_first(request: Request) -> Any:
            for check in checks:
                await check(request)
            return await handler(request)

        return authenticated_first


def check_kommun(client: ClientConfig, op: Operation, kommun: str) -> None:
    """Refuse (403) a kommun outside the client's scope."""
    if not client.may(op, kommun):
        raise ProblemError(403, "Klienten har inte behörighet för kommunen", see="/v1/kommuner")
