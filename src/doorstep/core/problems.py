"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error response of the API is ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail`` and ``instance`` (the request id), plus the
error's safe structured fields.  Validation errors name the field and the rule,
never the rejected value (which may be personal data).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from doorstep.core.errors import DoorstepError
from doorstep.core.requestid import current_request_id

PROBLEM_BASE = "https://doorstep.dev/problems/"
MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("doorstep.problems")


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


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        status=422,
        code="invalid-input",
        title="Invalid input",
        detail="The request does not satisfy the rules named in 'errors'.",
        errors=_validation_errors(exc),
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
    title = titles.get(exc.status_code, "HTTP error")
    code = title.lower().replace(" ", "-")
    # Starlette's own details ("Not Found") are generic; ours never echo the path.
    return problem_response(
        status=exc.status_code, code=code, title=title, headers=dict(exc.headers or {})
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details.

    Unexpected exceptions are answered by :class:`RequestIdMiddleware`, which
    still knows the request id when they reach it.
    """
    app.add_exception_handler(DoorstepError, _on_doorstep_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
