"""Console API of withdrawals told to connected systems (:mod:`.desk`).

* ``GET /api/v1/console/withdrawals[?state=&system=]`` (``view_requests``) — every
  system's task, newest first; ``state=failed`` is what needs the desk.  A waiting
  manual task carries ``look_for`` (the identifiers to search by) only for a role
  that may read them for the privacy desk; otherwise ``withheld`` is true;
* ``POST …/{id}/outcome`` ``{"outcome": "done|not_found", "evidence": "TICKET-42"}``
  (``decide_requests``) — a manual task done by hand; 409 for anything else;
* ``POST …/{id}/rerun`` (``decide_requests``) — a failed task back to work; 409
  unless it failed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from doorstep.core.problems import problem_responses
from doorstep.privacy.connectors.withdrawals import desk
from doorstep.privacy.connectors.withdrawals.models import SystemWithdrawal
from doorstep.services import Services, ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import require_action

router = APIRouter(tags=["console"], responses=problem_responses(403, 404, 409, 422))
_PATH = "/api/v1/console/withdrawals"


class WithdrawalTask(BaseModel):
    """One connected system told of a withdrawn consent or an objection."""

    id: uuid.UUID
    subject_id: uuid.UUID
    system: str
    name: str
    kind: str = Field(description="sql, http or manual.")
    purpose: str
    cause: str = Field(description="withdrawal or objection.")
    state: str = Field(description="pending, running, waiting, done, not_found, skipped or failed.")
    attempts: int
    reason: str | None = Field(description="Why it failed (timeout, garbage …) or was skipped.")
    evidence: str | None
    due_at: datetime | None = Field(description="When a manual task is due.")
    created_at: datetime
    finished_at: datetime | None
    look_for: dict[str, list[str]] | None = Field(
        description="A waiting manual task: the identifiers to look for (roles that may see them)."
    )
    withheld: bool = Field(description="Identifiers exist that this role may not see.")


class WithdrawalOutcomeIn(BaseModel):
    """The desk's outcome of a manual task."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["done", "not_found"]
    evidence: str = Field(min_length=1, max_length=100, description="A reference, e.g. NL-42.")


def _one(row: SystemWithdrawal, services: Services) -> WithdrawalTask:
    declared = services.pack.systems.systems.get(row.system)
    return WithdrawalTask(
        id=row.id,
        subject_id=row.subject_id,
        system=row.system,
        name=declared.name if declared is not None else row.system,
        kind=declared.kind.value if declared is not None else "undeclared",
        purpose=row.purpose,
        cause=row.cause,
        state=row.state,
        attempts=row.attempts,
        reason=row.reason,
        evidence=row.evidence,
        due_at=row.due_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        look_for=None,
        withheld=False,
    )


@router.get(_PATH, summary="Connected systems told of withdrawals")
def list_withdrawals(
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    state: str | None = None,
    system: str | None = None,
) -> list[WithdrawalTask]:
    """Every system's task, newest first (audited)."""
    acting = require_action(session, staff.id, StaffAction.VIEW_REQUESTS)
    views = desk.listing(
        session,
        services.pack,
        services.gate,
        acting.role,
        actor=acting.actor,
        state=state,
        system=system,
    )
    return [WithdrawalTask.model_validate(view, from_attributes=True) for view in views]


@router.post(_PATH + "/{task_id}/outcome", summary="Record a manual system's outcome")
def record_outcome(
    task_id: uuid.UUID,
    *,
    body: WithdrawalOutcomeIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> WithdrawalTask:
    """The desk stopped the purpose in a manual system (or found no one there)."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    row = desk.confirm(
        session,
        services.runtime.clock,
        services.pack,
        task_id,
        outcome=body.outcome,
        evidence=body.evidence,
        actor=actor,
    )
    return _one(row, services)


@router.post(_PATH + "/{task_id}/rerun", summary="Run a failed task again")
def rerun(
    task_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> WithdrawalTask:
    """A failed system's task back to work with a fresh count of attempts."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    return _one(desk.rerun(session, task_id, actor=actor), services)
