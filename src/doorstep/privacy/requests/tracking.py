"""Deadlines in force: the overdue list and the reminder/escalation sweep.

While a request waits for identity proof its clock is paused, so its effective
deadline slides with the present; it is never overdue and never reminded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.privacy.purposes import system_actor
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import OPEN, RequestContext, audit

ACTOR = system_actor("requests.remind")
#: Open requests whose clock runs (``verifying`` pauses it).
RUNNING = tuple(status for status in OPEN if status is not RequestStatus.VERIFYING)


def effective_due(row: SubjectRequest, now: datetime) -> datetime:
    """The deadline as of ``now``: a paused clock adds the pause so far."""
    if row.paused_since is not None:
        return row.due_at + max(now - row.paused_since, timedelta(0))
    return row.due_at


def overdue(session: Session, now: datetime) -> list[SubjectRequest]:
    """Open requests whose running clock is past the deadline, most overdue first."""
    query = (
        sa.select(SubjectRequest)
        .where(SubjectRequest.status.in_(RUNNING), SubjectRequest.due_at <= now)
        .order_by(SubjectRequest.due_at, SubjectRequest.id)
    )
    return list(session.scalars(query))


def remind(session: Session, ctx: RequestContext) -> tuple[int, int]:
    """Remind the privacy desk of requests due soon and escalate overdue ones, once each.

    Returns (reminded, escalated).  Safe with many workers: rows are locked and
    skipped when another worker holds them.
    """
    now = ctx.clock.now()
    soon = now + timedelta(days=ctx.settings.requests_reminder_days)
    rows = session.scalars(
        sa.select(SubjectRequest)
        .where(
            SubjectRequest.status.in_(RUNNING),
            SubjectRequest.due_at <= soon,
            sa.or_(SubjectRequest.reminded_at.is_(None), SubjectRequest.escalated_at.is_(None)),
        )
        .order_by(SubjectRequest.due_at)
        .with_for_update(skip_locked=True)
    )
    reminded = escalated = 0
    for row in rows:
        if row.reminded_at is None:
            row.reminded_at = now
            audit(session, row, "reminder", ACTOR)
            reminded += 1
        if row.due_at <= now and row.escalated_at is None:
            row.escalated_at = now
            audit(session, row, "overdue", ACTOR)
            escalated += 1
    session.flush()
    return reminded, escalated
