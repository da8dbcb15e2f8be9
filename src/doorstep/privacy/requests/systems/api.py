"""HTTP routes of the connected systems: the desk's console API and the systems' signed callback.

* ``GET /api/v1/console/requests/{id}/systems`` — each system's state on the
  request (``view_requests``; audited);
* ``POST /api/v1/console/requests/{id}/systems/{system}/outcome`` — the desk's
  outcome of a manual task, with an evidence reference (``decide_requests``);
* ``POST /api/v1/console/requests/{id}/systems/rerun`` — re-run only the failed
  systems (``decide_requests``);
* ``POST /api/v1/connectors/{system}/callback`` — an HTTP system's signed answer
  to a task it accepted (:mod:`doorstep.privacy.connectors.signing`): a wrong or
  stale signature is a 403, an unknown task a 404, a garbage answer a 422, and
  nothing changes; a task already settled answers 200 and stays as it is.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from doorstep.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from doorstep.core.problems import problem_responses
from doorstep.privacy.connectors import signing
from doorstep.privacy.connectors.base import ConnectorError
from doorstep.privacy.connectors.build import secret_of
from doorstep.privacy.connectors.http import parse_answer
from doorstep.privacy.datamap.systems import SystemKind
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.services import get
from doorstep.privacy.requests.systems import desk
from doorstep.privacy.requests.systems.claim import ACTOR
from doorstep.privacy.requests.systems.fanout import reached
from doorstep.privacy.requests.systems.models import RequestSystem, SystemState
from doorstep.privacy.requests.systems.settle import record
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import require_action

router = APIRouter(tags=["console"], responses=problem_responses(403, 404, 409))


class SystemTask(BaseModel):
    """One connected system's part of a request."""

    system: str
    name: str
    kind: str = Field(description="sql, http or manual.")
    operation: str = Field(description="access or erasure.")
    state: str = Field(
        description="pending, running, waiting, done, not_found, excepted, failed or cancelled."
    )
    attempts: int
    reason: str | None = Field(description="Why the last attempt failed (timeout, garbage …).")
    exception: str | None = Field(description="legal_hold or legal_retention, when recorded.")
    rows: int | None
    evidence: str | None
    due_at: datetime | None = Field(description="When a manual task is due.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    look_for: dict[str, list[str]] | None = Field(
        description="A waiting manual task: the identifiers to look for in the system."
    )


class OutcomeIn(BaseModel):
    """The desk's outcome of a manual task."""

    model_config = ConfigDict(extra="forbid")
    outcome: desk.ManualOutcome
    evidence: str = Field(min_length=1, max_length=100, description="A reference, e.g. TICKET-42.")


class CallbackOut(BaseModel):
    """What Doorstep made of a callback."""

    state: str


def _out(view: desk.TaskView) -> SystemTask:
    return SystemTask.model_validate(view, from_attributes=True)


@router.get("/api/v1/console/requests/{request_id}/systems", summary="Each system's state")
def list_systems(
    request_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> list[SystemTask]:
    """Each connected system's part of the request (audited)."""
    actor = require_action(session, staff.id, StaffAction.VIEW_REQUESTS).actor
    views = desk.states(session, RequestContext.of(services), request_id, actor=actor)
    return [_out(view) for view in views]


@router.post(
    "/api/v1/console/requests/{request_id}/systems/{system}/outcome",
    summary="Record a manual system's outcome",
)
def record_outcome(
    request_id: uuid.UUID,
    system: str,
    *,
    body: OutcomeIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> SystemTask:
    """The desk's outcome of a waiting manual task and its evidence reference."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    view = desk.record_outcome(
        session,
        RequestContext.of(services),
        request_id,
        system,
        outcome=body.outcome,
        evidence=body.evidence,
        actor=actor,
    )
    return _out(view)


@router.post(
    "/api/v1/console/requests/{request_id}/systems/rerun", summary="Re-run the failed systems"
)
def rerun(
    request_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> list[SystemTask]:
    """Put only the failed systems of the request back to work."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    views = desk.rerun(session, RequestContext.of(services), request_id, actor=actor)
    return [_out(view) for view in views]


@router.post(
    "/api/v1/connectors/{system}/callback",
    summary="A connected system's signed answer",
    tags=["connectors"],
    responses=problem_responses(403, 404, 422),
)
async def callback(
    system: str, request: Request, services: ServicesDep, session: SessionDep
) -> CallbackOut:
    """An HTTP system's signed answer to a task it accepted (see the module docstring)."""
    body = await request.body()
    ctx = RequestContext.of(services)
    declared = {item.key: item for item in reached(ctx.policy, ctx.settings.requests_systems)}
    found = declared.get(system)
    if found is None or found.kind is not SystemKind.HTTP:
        raise NotFoundError("no such connected system", system=system)
    try:
        secret = secret_of(session, services.keys.keyring, found)
    except ConnectorError:
        secret = None
    key = request.headers.get(signing.KEY, "")
    if not secret or not signing.verify(
        secret,
        timestamp=request.headers.get(signing.TIMESTAMP, ""),
        key=key,
        given=request.headers.get(signing.SIGNATURE, ""),
        body=body,
        now=int(ctx.clock.now().timestamp()),
    ):
        raise PermissionDeniedError("the signature does not verify", reason="signature")
    try:
        task_id = uuid.UUID(key)
    except ValueError:
        raise NotFoundError("no such task") from None
    task = session.scalar(
        sa.select(RequestSystem).where(RequestSystem.id == task_id, RequestSystem.system == system)
    )
    if task is None:
        raise NotFoundError("no such task")
    try:
        answer = parse_answer(found, task.operation, body)
    except ConnectorError as exc:
        raise InvalidInputError(
            "the answer is not one Doorstep understands",
            errors=[{"field": "body", "rule": exc.reason}],
        ) from None
    get(session, task.request_id, lock=True)
    session.refresh(task, with_for_update=True)
    if task.state not in (SystemState.WAITING.value, SystemState.RUNNING.value):
        return CallbackOut(state=task.state)
    if answer.outcome.value == "pending":
        return CallbackOut(state=task.state)
    state = record(session, ctx, task, answer, actor=ACTOR)
    return CallbackOut(state=state.value)
