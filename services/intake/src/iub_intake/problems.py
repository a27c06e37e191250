"""Problem responses (application/problem+json): name fields and problems, never submitted values."""

from __future__ import annotations

import re
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from iub_contracts.api import FieldProblem, ProblemDetail

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Felaktig begäran",
    401: "Ogiltig eller saknad API-nyckel",
    403: "Klienten har inte behörighet",
    404: "Finns inte",
    409: "Konflikt",
    413: "Begäran är för stor",
    422: "Ogiltig begäran",
    429: "För många anrop",
    503: "Tjänsten är tillfälligt otillgänglig",
}


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem body."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        errors: list[FieldProblem] | None = None,
        see: str | None = None,
        headers: dict[str, str] | None = None,
        information: str | None = None,
    ) -> None:
        super().__init__(title or TITLES.get(status, "Fel"))
        self.information = information
        self.status = status
        self.title = title or TITLES.get(status, "Fel")
        self.errors = errors or []
        self.see = see
        self.headers = headers or {}


def problem(
    status: int,
    title: str | None = None,
    errors: list[FieldProblem] | None = None,
    see: str | None = None,
    headers: dict[str, str] | None = None,
    information: str | None = None,
) -> JSONResponse:
    """An error response that names fields and problems, never submitted values."""
    body = ProblemDetail(title=title or TITLES.get(status, "Fel"), status=status, errors=errors or [], see=see,
                         information=information)
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def from_error(exc: ProblemError) -> JSONResponse:
    """The response for a raised ProblemError."""
    return problem(exc.status, exc.title, exc.errors, exc.see, exc.headers, exc.information)


def field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    """Field path and message of each validation error; the input and its context are dropped."""
    out = []
    for e in exc.errors():
        # a dict key in a path is submitted data (it could be a personnummer): only names are kept
        loc = [p if isinstance(p, int) or _NAME.match(str(p)) else "[nyckel]" for p in e.get("loc", ())]
        out.append(FieldProblem(field=".".join(str(p) for p in loc) or "body", problem=_message(e)))
    return out


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,60}$|^\[key\]$")


def _message(error: dict[str, Any]) -> str:
    """The pydantic message (it names constraints), except for the kinds that quote what was sent."""
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "ogiltig JSON"
    if kind == "union_tag_invalid":
        return "okänd typ"
    return str(error.get("msg", "ogiltigt värde"))[:200]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI 'responses' for problem statuses, as application/problem+json and application/json."""
    ref = {"$ref": "#/components/schemas/ProblemDetail"}
    out: dict[int | str, dict[str, Any]] = {}
    for s in statuses:
        entry: dict[str, Any] = {
            "model": ProblemDetail,
            "description": TITLES.get(s, "Fel"),
            "content": {PROBLEM_JSON: {"schema": ref}},
        }
        if s in (429, 503):
            entry["headers"] = {"Retry-After": {"description": "Sekunder att vänta", "schema": {"type": "integer"}}}
        if s == 401:
            entry["headers"] = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
        out[s] = entry
    return out
