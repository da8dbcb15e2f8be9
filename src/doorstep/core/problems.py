"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error response of the API is ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail`` and ``instance`` (the request id), plus the
error's safe structured fields.  Validation errors name the field and the rule,
never the rejected value (which may be personal data).

:class:`Problem` is that document as the OpenAPI description publishes it, and
:func:`problem_responses` is what a router declares for the statuses it answers.
A body that is not JSON at all is a 400 saying where it breaks (or that it is
nested too deeply), not a 422 about a field.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from doorstep.core.errors import DoorstepError
from doorstep.core.request_scope import current_request_id

PROBLEM_BASE = "https://doorstep.dev/problems/"
MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("doorstep.problems")

#: What each status means, as the API description says it.
STATUS_DESCRIPTIONS = {
    400: "The body is not JSON (the detail says where it breaks) or is nested too deeply.",
    401: "No valid session token: sign in first.",
    403: "Not allowed (the detail and `reason` say why).",
    404: "No such thing, or not yours to see.",
    409: "The current state does not allow it.",
    410: "Gone for good (the data was erased).",
    413: "The body is larger than the API accepts.",
    415: "The body is not `application/json`.",
    422: "The input breaks the rules listed in `errors` (field and rule, never the value).",
    429: "Too many attempts: retry after `Retry-After` seconds.",
    502: "The device or provider answered with an error.",
    503: "A dependency (the database or the device) is not available now.",
    504: "The device did not answer in time.",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
}


class FieldError(BaseModel):
    """One broken rule of the input: the field's dotted path and the rule's name."""

    field: str = Field(examples=["email"])
    rule: str = Field(examples=["value_error"])


class Problem(BaseModel):
    """An RFC 9457 problem document: the body of every error response of the API.

    Besides these members a problem carries the error's safe structured fields
    (ids, names of fields and rules, ``retry_after``, ``reason`` …), never a
    personal-data value.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="https://doorstep.dev/problems/<code>: what kind of problem this is.",
        examples=[PROBLEM_BASE + "not-found"],
    )
    title: str = Field(description="A short, fixed summary of the kind.")
    status: int = Field(description="The HTTP status code.", ge=400, le=599)
    detail: str = Field(description="What went wrong this time (no personal data).")
    instance: str | None = Field(
        default=None, description="urn:doorstep:request:<the request id, also in X-Request-ID>"
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Invalid input only: every broken rule."
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route or router that answers ``statuses`` with problems.

    Each refers to the one :class:`Problem` schema of the description (added by
    :mod:`doorstep.core.openapi`).
    """
    return {status: problem_response_description(status) for status in statuses}


def problem_response_description(status: int) -> dict[str, Any]:
    """The OpenAPI response object of one problem status."""
    described: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS.get(status, "A problem document."),
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in _HEADERS:
        described["headers"] = _HEADERS[status]
    return described


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build one problem-details response; ``extra`` members must be JSON-safe and free of PD."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    request_id = current_request_id()
    if request_id:
        body["instance"] = f"urn:doorstep:request:{request_id}"
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in {"body"}]
        errors.append({"field": ".".join(location) or "body", "rule": str(error.get("type"))})
    return errors


async def _on_doorstep_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DoorstepError)
    headers = None
    if "retry_after" in exc.fields:
        headers = {"Retry-After": str(int(exc.fields["retry_after"]))}
    if exc.status >= 500:
        log.error("request failed: %s", exc.code)
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=headers,
        **exc.fields,
    )


def _json_position(document: object, position: int) -> str:
    """``line L, column C`` of character ``position`` in the body (1-based)."""
    if isinstance(document, bytes):
        document = document.decode("utf-8", "replace")
    if not isinstance(document, str):
        return f"character {position}"
    line = document.count("\n", 0, position) + 1
    column = position - (document.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    broken = [error for error in exc.errors() if error.get("type") == "json_invalid"]
    if broken:
        # Not JSON at all: a 400 that says where it breaks (json's own words never
        # quote the body), instead of a field named after a character offset.
        loc = broken[0].get("loc", ())
        position = loc[-1] if loc and isinstance(loc[-1], int) else 0
        reason = str((broken[0].get("ctx") or {}).get("error", "invalid JSON"))
        return problem_response(
            status=400,
            code="malformed-json",
            title="Malformed JSON",
            detail=f"The body is not valid JSON: {reason} at {_json_position(exc.body, position)}.",
            position=position,
        )
    return problem_response(
        status=422,
        code="invalid-input",
        title="Invalid input",
        detail="The request does not satisfy the rules named in 'errors'.",
        errors=_validation_errors(exc),
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Content too large",
    415: "Unsupported media type",
}


def _unreadable_body(cause: BaseException | None) -> str:
    """Why FastAPI could not read a body (it raises a bare 400 from the real error)."""
    if isinstance(cause, RecursionError):
        return "The JSON body is nested too deeply to be read."
    if isinstance(cause, UnicodeDecodeError):
        return "The JSON body is not valid UTF-8 text."
    return "The body could not be read as JSON."


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "HTTP error")
    code = title.lower().replace(" ", "-")
    detail = None
    if exc.status_code == 413 and exc.detail != HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase:
        detail = str(exc.detail)  # the body rules say how large a body may be
    elif exc.status_code == 400 and exc.__cause__ is not None:
        code, title = "unreadable-body", "Unreadable body"
        detail = _unreadable_body(exc.__cause__)
    # Starlette's own details ("Not Found") are generic; ours never echo the path.
    return problem_response(
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details.

    Unexpected exceptions are answered by :class:`RequestIdMiddleware`, which
    still knows the request id when they reach it.
    """
    app.add_exception_handler(DoorstepError, _on_doorstep_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
