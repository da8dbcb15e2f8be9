"""Refusing or extending a request whose connected systems were already reached.

The desk's refusal and extension (:func:`~doorstep.privacy.requests.services.refuse`,
:func:`~doorstep.privacy.requests.services.extend`) and what they mean for the
request's tasks, in the same transaction; the console API and the console pages
call these:

* :func:`refuse` — every task not settled yet (``pending``, ``running``,
  ``waiting``, ``failed``) becomes ``cancelled`` with the refusal code as its
  reason.  A queued job then finds nothing to do (only pending or running tasks
  go on); an attempt already calling its system records nothing when it returns;
  an HTTP system's later callback or a poll changes nothing (only a waiting or
  running task takes an answer); a manual task leaves the desk.  Nothing already
  done is undone: settled tasks stay as they are.  The tasks' sealed
  identifiers and addresses are emptied, as for any closed request.  Audited
  ``request.systems_cancelled`` (system keys, the code).
* :func:`extend` — every manual task still waiting is due at its fan-out plus
  the system's ``due_days``, never after the new deadline (audited
  ``request.systems_due_moved`` with how many moved).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.privacy.requests import services
from doorstep.privacy.requests.codes import RefusalCode
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import SubjectRequest
from doorstep.privacy.requests.systems.models import SETTLED, RequestSystem, SystemState
from doorstep.privacy.requests.systems.settle import forget

_OPEN = [state.value for state in SystemState if state not in SETTLED]


def cancel_outstanding(
    session: Session, ctx: RequestContext, row: SubjectRequest, *, reason: str, actor: str
) -> list[RequestSystem]:
    """Cancel the (closed) request's unsettled tasks with ``reason``; the cancelled ones."""
    tasks = list(
        session.scalars(
            sa.select(RequestSystem)
            .where(RequestSystem.request_id == row.id, RequestSystem.state.in_(_OPEN))
            .order_by(RequestSystem.system)
            .with_for_update()
        )
    )
    now = ctx.clock.now()
    for task in tasks:
        task.state, task.reason, task.finished_at = SystemState.CANCELLED.value, reason, now
    forget(session, row.id)
    session.flush()
    if tasks:
        systems = ":".join(task.system for task in tasks)
        services.audit(session, row, "systems_cancelled", actor, systems=systems, code=reason)
    return tasks


def refuse(
    session: Session,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    code: RefusalCode | str | None,
    reviewer: str,
    evidence: str | None = None,
) -> services.Refusal:
    """Refuse the request (see :func:`~doorstep.privacy.requests.services.refuse`) and cancel
    its systems' outstanding work."""
    refusal = services.refuse(
        session, ctx, request_id, code=code, reviewer=reviewer, evidence=evidence
    )
    row = services.get(session, request_id)
    cancel_outstanding(session, ctx, row, reason=refusal.code.value, actor=reviewer)
    return refusal


def fit_due_dates(session: Session, ctx: RequestContext, row: SubjectRequest, *, actor: str) -> int:
    """Move each waiting manual task's due date inside the request's deadline; how many moved."""
    tasks = session.scalars(
        sa.select(RequestSystem)
        .where(
            RequestSystem.request_id == row.id,
            RequestSystem.state == SystemState.WAITING.value,
            RequestSystem.due_at.is_not(None),
        )
        .with_for_update()
    )
    moved = 0
    for task in tasks:
        declared = ctx.policy.systems.systems.get(task.system)
        days = declared.due_days if declared is not None else 0
        due = min(task.created_at + timedelta(days=days), row.due_at)
        if due != task.due_at:
            task.due_at, moved = due, moved + 1
    if moved:
        session.flush()
        services.audit(session, row, "systems_due_moved", actor, count=str(moved))
    return moved


def extend(
    session: Session,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    months: int,
    reason: str,
    actor: str,
) -> SubjectRequest:
    """Extend the deadline (see :func:`~doorstep.privacy.requests.services.extend`) and move
    the manual tasks' due dates with it."""
    row = services.extend(session, ctx, request_id, months=months, reason=reason, actor=actor)
    fit_due_dates(session, ctx, row, actor=actor)
    return row
