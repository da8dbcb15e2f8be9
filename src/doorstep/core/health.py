"""Liveness and readiness.

``/healthz`` says the process is up (no I/O).  ``/readyz`` says it can serve:
the database answers and its schema is at the code's head migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from doorstep import __version__
from doorstep.core.errors import DatabaseUnavailableError
from doorstep.core.migrations import current_revision, head_revision
from doorstep.core.problems import problem_responses
from doorstep.core.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", summary="The process can serve requests", responses=problem_responses(503))
def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and migrations are current, else a 503 problem."""
    runtime: Runtime = request.app.state.runtime
    try:
        with runtime.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        current = current_revision(runtime.engine)
    except sa.exc.OperationalError:
        raise DatabaseUnavailableError("the database does not answer") from None
    head = head_revision()
    if current != head:
        raise DatabaseUnavailableError(
            "the database schema is not at the current migration; run `doorstep migrate`",
            current=current,
            head=head,
        )
    return JSONResponse({"status": "ready", "migration": current})
