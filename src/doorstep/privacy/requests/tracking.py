"""Deadlines in force: the overdue list and the reminder/escalation sweep.

While a request waits for identity proof its clock is paused, so its effective
deadline slides with the present; it is never overdue and never reminded.  An
erasure answered in part because of a legal hold (refusal code ``LEGAL_HOLD``,
still open until the hold is released) was answered in time: it is not
overdue, reminded or escalated either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import OPEN, audit

ACTOR = system_actor("requests.remind")
#: Open requests whose clock runs (``verifying`` pauses it).
RUNNING = tuple(status for status in OPEN if status is not RequestStatus.VERIFYING)
#: Answered in part, the rest waiting for a legal hold's release (see the module docstring).
_HELD_BACK = "LEGAL_HOLD"


def _clock_runs() -> sa.ColumnElement[bool]:
    """SQL: the request's deadline clock runs (open, not paused, not answered in part)."""
    return sa.and_(
        SubjectRequest.status.in_(RUNNING),
        SubjectRequest.refusal_code.is_distinct_from(_HELD_BACK),
    )


def effective_due(row: SubjectRequest, now: datetime) -> datetime:
    """The deadline as of ``now``: a paused clock adds the pause so far."""
    if row.paused_since is not None:
        return row.due_at + max(now - row.paused_since, timedelta(0))
    return row.due_at


def overdue(session: Session, now: datetime) -> list[SubjectRequest]:
    """Open requests whose running clock is past the deadline, most overdue first."""
    return desk_queue(session, now, overdue_only=True)


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
            _clock_runs(),
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


def desk_queue(
    session: Session,
    now: datetime,
    *,
    status: RequestStatus | None = None,
    overdue_only: bool = False,
    limit: int = 500,
) -> list[SubjectRequest]:
    """The privacy desk's list: open requests (or ``status``), overdue first, then by deadline.

    A request whose clock is paused (``verifying``) is never overdue.
    """
    running_late = sa.and_(_clock_runs(), SubjectRequest.due_at <= now)
    query = sa.select(SubjectRequest)
    if overdue_only:
        query = query.where(running_late)
    elif status is not None:
        query = query.where(SubjectRequest.status == status)
    else:
        query = query.where(SubjectRequest.status.in_(OPEN))
    query = query.order_by(
        sa.case((running_late, 0), else_=1), SubjectRequest.due_at, SubjectRequest.id
    ).limit(limit)
    return list(session.scalars(query))


def is_overdue(row: SubjectRequest, now: datetime) -> bool:
    """Whether the request's running clock is past its deadline."""
    return row.status in RUNNING and row.refusal_code != _HELD_BACK and row.due_at <= now


def deadline_counts(session: Session, now: datetime, soon: datetime) -> dict[str, tuple[int, int]]:
    """Per request kind: (due by ``soon`` but not yet overdue, overdue) of running clocks.

    Counts only, for the metrics gauges (decision 0043): one grouped statement,
    the same "clock runs" rule as :func:`overdue` and :func:`remind`.
    """
    due = SubjectRequest.due_at
    rows = session.execute(
        sa.select(
            SubjectRequest.kind,
            sa.func.count().filter(due > now, due <= soon),
            sa.func.count().filter(due <= now),
        )
        .where(_clock_runs(), due <= soon)
        .group_by(SubjectRequest.kind)
    )
    return {str(kind): (int(at_risk), int(late)) for kind, at_risk, late in rows}
