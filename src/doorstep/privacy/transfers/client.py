"""Client input: what an app sends that its request body does not declare (CPE-IV.3.a).

Every request body of the app API is a pydantic model that forbids unknown
fields (``extra="forbid"``), and none takes a free-form object: an undeclared
field never reaches a service, let alone storage, because the request is
refused with a 422 problem naming the field (rule ``extra_forbidden``) and
changes nothing.  What the issue also asks — a schema-drift event — is added
here: :func:`install_client_drift` wraps the app's handler of validation errors
so that each undeclared field of an ``/api/`` body is counted in
``schema_drift`` (source ``client``, model ``app``, the field's path, and the
operation it was sent to as its purpose), in a transaction of its own, before
the problem is answered.  Values are never read; a path that is not plainly a
path is counted as ``<unnamed>`` (:func:`.ingestion.safe_path`).  A failure to
count is logged by code and never changes the answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute

from doorstep.core.runtime import Runtime
from doorstep.privacy.transfers.ingestion import record_drift
from doorstep.privacy.transfers.models import DriftSource

log = logging.getLogger("doorstep.privacy.transfers")

API_PREFIX = "/api/"
MODEL = "app"
ACTOR = "system:api"
EXTRA = "extra_forbidden"


def undeclared_paths(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """The dotted paths of the body fields refused as undeclared (``extra_forbidden``)."""
    return [
        ".".join(str(part) for part in error.get("loc", ())[1:]) or "<body>"
        for error in errors
        if error.get("type") == EXTRA and tuple(error.get("loc", ()))[:1] == ("body",)
    ]


def operation_of(request: Request) -> str:
    """The operation a request was sent to: its route's name, else its path template."""
    route = request.scope.get("route")
    if isinstance(route, BaseRoute):
        name = getattr(route, "name", None) or getattr(route, "path", None)
        if isinstance(name, str) and name:
            return name
    return "unknown"


def _count(runtime: Runtime, operation: str, paths: list[str]) -> None:
    with runtime.sessions.begin() as session:
        record_drift(
            session,
            source=DriftSource.CLIENT,
            model=MODEL,
            purpose=operation,
            paths=paths,
            now=runtime.clock.now(),
            actor=ACTOR,
        )


def install_client_drift(app: FastAPI) -> None:
    """Count the undeclared fields of refused ``/api/`` bodies, then answer as before.

    Call after the problem handlers are installed (it wraps theirs) and before
    the pages wrap the handlers in turn.
    """
    answer = app.exception_handlers[RequestValidationError]

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RequestValidationError) and request.url.path.startswith(API_PREFIX):
            paths = undeclared_paths(exc.errors())
            runtime = getattr(request.app.state, "runtime", None)
            if paths and isinstance(runtime, Runtime):
                try:
                    await run_in_threadpool(_count, runtime, operation_of(request), paths)
                except Exception as failure:  # counting must never change the answer
                    log.error("schema drift not counted: %s", type(failure).__name__)
        answered = answer(request, exc)
        return await answered if inspect.isawaitable(answered) else answered

    app.add_exception_handler(RequestValidationError, handle)
