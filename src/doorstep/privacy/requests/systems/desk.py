"""The privacy desk's side of connected systems: each system's state, manual outcomes, re-runs.

* :func:`states` — the request's tasks as the desk sees them: system, kind,
  operation, state, attempts, reason, exception, rows, evidence, due date and
  times; a manual task still waiting also shows the identifiers to look for
  (the desk needs them to search the system by hand).  The view is audited.
* :func:`record_outcome` — the desk's outcome of a manual task (done, nothing
  found, or an exception: legal hold, legal retention) with an evidence
  reference (an id, never free text); the request completes if it was the last.
* :func:`rerun` — the failed systems (only those) back to work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.connectors.base import Confirmation, Outcome
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import SystemKind
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.services import _REFERENCE, audit, get
from doorstep.privacy.requests.systems.fanout import requeue
from doorstep.privacy.requests.systems.models import Excepted, RequestSystem, SystemState
from doorstep.privacy.requests.systems.sealing import SealError, carried
from doorstep.privacy.requests.systems.settle import record, tasks_of


class ManualOutcome(StrEnum):
    """What the desk found in a manual system."""

    DONE = "done"
    NOT_FOUND = "not_found"
    LEGAL_HOLD = "legal_hold"
    LEGAL_RETENTION = "legal_retention"


@dataclass(frozen=True, slots=True)
class TaskView:
    """One system's part of a request, as the desk sees it."""

    system: str
    name: str
    kind: str
    operation: str
    state: str
    attempts: int
    reason: str | None
    exception: str | None
    rows: int | None
    evidence: str | None
    due_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    look_for: dict[str, list[str]] | None


def _view(ctx: RequestContext, pack: PolicyPack, task: RequestSystem) -> TaskView:
    system = pack.systems.systems.get(task.system)
    kind = system.kind.value if system is not None else "undeclared"
    look_for = None
    if kind == SystemKind.MANUAL.value and task.state == SystemState.WAITING.value:
        try:
            look_for = carried(ctx.require_services().keys.keyring, task).identifiers.as_json()
        except SealError:
            look_for = None
    return TaskView(
        system=task.system,
        name=system.name if system is not None else task.system,
        kind=kind,
        operation=task.operation,
        state=task.state,
        attempts=task.attempts,
        reason=task.reason,
        exception=task.exception,
        rows=task.rows,
        evidence=task.evidence,
        due_at=task.due_at,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        look_for=look_for,
    )


def states(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> list[TaskView]:
    """Every system's part of the request (audited: identifiers may be shown)."""
    row = get(session, request_id)
    tasks = tasks_of(session, row.id)
    views = [_view(ctx, ctx.policy, task) for task in tasks]
    shown = sum(1 for view in views if view.look_for)
    if not views:
        return views  # nothing shown: nothing to audit
    audit(session, row, "systems_viewed", actor, count=str(len(views)), identifiers=str(shown))
    return views


def _task(session: Session, request_id: uuid.UUID, system: str) -> RequestSystem:
    get(session, request_id, lock=True)
    task = session.scalar(
        sa.select(RequestSystem)
        .where(RequestSystem.request_id == request_id, RequestSystem.system == system)
        .with_for_update()
    )
    if task is None:
        raise NotFoundError("the request has no task in this system", system=system)
    return task


def record_outcome(
    session: Session,
    ctx: RequestContext,
    request_id: uuid.UUID,
    system: str,
    *,
    outcome: ManualOutcome | str,
    evidence: str,
    actor: str,
) -> TaskView:
    """Record the desk's outcome of a waiting manual task; the request completes if last."""
    try:
        found = ManualOutcome(outcome)
    except ValueError:
        raise InvalidInputError(
            "unknown outcome", errors=[{"field": "outcome", "rule": "one_of"}]
        ) from None
    if not _REFERENCE.fullmatch(evidence or ""):
        raise InvalidInputError(
            "the evidence is a reference (letters, digits, . _ : -)",
            errors=[{"field": "evidence", "rule": "reference"}],
        )
    task = _task(session, request_id, system)
    declared = ctx.policy.systems.systems.get(system)
    if declared is None or declared.kind is not SystemKind.MANUAL:
        raise ConflictError("only a manual system's outcome is recorded by the desk", reason="kind")
    if task.state != SystemState.WAITING.value:
        raise ConflictError("the task is not waiting for the desk", reason=task.state)
    task.actor = actor
    outcome_of = {
        ManualOutcome.DONE: Outcome.ERASED if task.operation == "erasure" else Outcome.FOUND,
        ManualOutcome.NOT_FOUND: Outcome.NOT_FOUND,
        ManualOutcome.LEGAL_RETENTION: Outcome.RETAINED,
        ManualOutcome.LEGAL_HOLD: Outcome.NOT_FOUND,
    }
    exception = Excepted.LEGAL_HOLD if found is ManualOutcome.LEGAL_HOLD else None
    confirmation = Confirmation(system, outcome_of[found], evidence=evidence)
    record(session, ctx, task, confirmation, actor=actor, exception=exception)
    return _view(ctx, ctx.policy, task)


def rerun(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> list[TaskView]:
    """Put only the request's failed systems back to work; ConflictError when none failed."""
    row = get(session, request_id, lock=True)
    if row.closed_at is not None:
        raise ConflictError("the request is already closed", reason="already_closed")
    again = requeue(session, [row.id], states=(SystemState.FAILED,))
    if not again:
        raise ConflictError("no system of the request has failed", reason="none_failed")
    audit(session, row, "systems_rerun", actor, systems=":".join(t.system for t in again))
    return [_view(ctx, ctx.policy, task) for task in tasks_of(session, row.id)]
