"""Deregistration: self-service and effective at once, or through customer service.

Accepting a deregistration is one transaction (CPE-V.5.a): the account is
marked ``deregistered`` (sign-in, refresh and every service keyed on it stop at
once, CPE-I.i.1.b), its sessions end, the confirmation is queued while the
address is still known, and the erasure job is enqueued.  If the process dies
after the commit, a worker still finds the job; the job is idempotent and
resumable (:mod:`.erasure`).  It is refused, listing the devices, while any
device is bound (CPE-V.5.c; the :class:`~doorstep.accounts.hooks.BoundDevices`
hook answers).

The manual path (CPE-V.5.b): customer service opens a request for an account
(after checking the person's identity materials outside Doorstep); it is due
``manual_deregistration_working_days`` working days later on the desk's
calendar (:mod:`doorstep.accounts.business_days`), and closes as completed (the same
deregistration) or refused with a reason code, each with a notice to the
subscriber.  Open requests past their deadline are reported by the sweep.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.account.models import Account, AccountStatus, DeregistrationReason
from doorstep.accounts.business_days import BusinessCalendar
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.models import DeregistrationOutcome, DeregistrationRequest
from doorstep.accounts.exceptions import DevicesBoundError
from doorstep.accounts.sessions import tokens
from doorstep.accounts.sessions.models import SessionEndReason
from doorstep.accounts.thirdparty.models import OidcFlow
from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.jobs.enqueue import enqueue

log = logging.getLogger("doorstep.accounts")

ERASE_TASK = "accounts.erase"
_CHILD_REASONS = (
    DeregistrationReason.GUARDIAN_CONSENT_MISSING,
    DeregistrationReason.GUARDIAN_REFUSED,
)


def deregister(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID,
    *,
    reason: DeregistrationReason,
    actor: str,
) -> datetime:
    """Close the account now and schedule the erasure of its data; return the instant.

    Raises :class:`DevicesBoundError` while devices are bound, and
    :class:`AccountDeregisteredError` when it is already closed.
    """
    account = require_open(session, account_id, lock=True)
    if reason not in _CHILD_REASONS:
        bound = [str(device) for device in ctx.bound_devices(session, account_id)]
        if bound:
            record(
                session,
                action="account.deregistration_refused",
                actor=actor,
                subject_id=account_id,
                purpose="account.management",
                outcome="refused",
                details={"reason": "devices_bound", "devices": len(bound)},
            )
            raise DevicesBoundError(bound)
        routers = ctx.router_removals(session, account_id)
        if routers is None:
            _queue_notice(session, ctx, account, "account.deregistered")
        else:  # where removing their settings from the routers they unbound stands (0042)
            _queue_notice(session, ctx, account, "account.deregistered_router", outcome=routers)
    now = ctx.clock.now()
    account.status = AccountStatus.DEREGISTERED
    account.deregistered_at = now
    account.deregistration_reason = reason
    ended = tokens.revoke_all(session, account_id, SessionEndReason.DEREGISTERED, now=now)
    session.execute(sa.delete(OidcFlow).where(OidcFlow.account_id == account_id))
    session.flush()
    job_id = enqueue(session, ERASE_TASK, account_id=account_id, lock=f"account:{account_id}")
    record(
        session,
        action="account.deregistered",
        actor=actor,
        subject_id=account_id,
        purpose="account.management",
        details={"reason": reason.value, "sessions_ended": ended, "erasure_job": job_id},
        at=now,
    )
    return now


def _queue_notice(
    session: Session, ctx: AccountContext, account: Account, template: str, **params: str
) -> None:
    from doorstep.audit.entries import system_actor
    from doorstep.notify.services import queue_email, queue_sms

    access = ctx.gate.for_subject(session, account.id, actor=system_actor("accounts"))
    if account.email is not None:
        access.check("accounts.email", "account.management", audit=True)
        queue_email(
            session,
            subject_id=account.id,
            to=account.email,
            template=template,
            params=params,
            clock=ctx.clock,
            locale=account.language,
        )
    elif account.phone is not None:
        access.check("accounts.phone", "account.management", audit=True)
        queue_sms(
            session,
            subject_id=account.id,
            to=account.phone,
            template=template,
            params=params,
            clock=ctx.clock,
            locale=account.language,
        )


@dataclass(frozen=True, slots=True)
class ManualRequest:
    """A manual deregistration request as services hand it out (ids and times only)."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    received_at: datetime
    due_at: datetime
    closed_at: datetime | None
    outcome: DeregistrationOutcome | None
    refusal_reason: str | None

    def overdue(self, now: datetime) -> bool:
        """Whether the answer is late: still open after its deadline."""
        return self.closed_at is None and now > self.due_at


def _manual(row: DeregistrationRequest) -> ManualRequest:
    return ManualRequest(
        row.id,
        row.account_id,
        row.received_at,
        row.due_at,
        row.closed_at,
        row.outcome,
        row.refusal_reason,
    )


def calendar(ctx: AccountContext) -> BusinessCalendar:
    """The support desk's calendar from the settings."""
    return BusinessCalendar(ctx.settings.business_timezone, ctx.settings.business_holidays)


def open_request(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID,
    *,
    actor: str,
    received_at: datetime | None = None,
) -> ManualRequest:
    """Record a manual request received now (or at ``received_at``) with its deadline."""
    require_open(session, account_id)
    received = received_at or ctx.clock.now()
    row = DeregistrationRequest(
        id=uuid.uuid4(),
        account_id=account_id,
        received_at=received,
        due_at=calendar(ctx).add_working_days(
            received, ctx.settings.manual_deregistration_working_days
        ),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="account.deregistration_requested",
        actor=actor,
        subject_id=account_id,
        purpose="privacy.rights",
        details={"request": str(row.id), "channel": "support"},
    )
    return _manual(row)


def _open_row(session: Session, request_id: uuid.UUID) -> DeregistrationRequest:
    row = session.get(DeregistrationRequest, request_id, with_for_update=True)
    if row is None:
        raise NotFoundError("no such deregistration request")
    if row.closed_at is not None:
        raise ConflictError("the request is already closed", reason="already_closed")
    return row


def complete_request(
    session: Session, ctx: AccountContext, request_id: uuid.UUID, *, actor: str
) -> ManualRequest:
    """Deregister the request's account and close the request as completed.

    :class:`DevicesBoundError` leaves the request open: refuse it, or complete it
    once the devices are unbound.
    """
    row = _open_row(session, request_id)
    if row.account_id is None:
        raise ConflictError("the account no longer exists", reason="account_gone")
    deregister(session, ctx, row.account_id, reason=DeregistrationReason.SUPPORT, actor=actor)
    return _close(session, ctx, row, DeregistrationOutcome.COMPLETED, reason=None, actor=actor)


def refuse_request(
    session: Session, ctx: AccountContext, request_id: uuid.UUID, reason: str, *, actor: str
) -> ManualRequest:
    """Close the request as refused with a reason code (``devices_bound``, ``no_identity``…)."""
    if not reason or not reason.replace("_", "").isalpha() or not reason.islower():
        raise InvalidInputError(
            "the reason must be a code", errors=[{"field": "reason", "rule": "reason_code"}]
        )
    row = _open_row(session, request_id)
    if row.account_id is not None:
        account = session.get(Account, row.account_id)
        if account is not None and account.status is not AccountStatus.DEREGISTERED:
            _queue_notice(session, ctx, account, "account.deregistration_refused")
    return _close(session, ctx, row, DeregistrationOutcome.REFUSED, reason=reason, actor=actor)


def _close(
    session: Session,
    ctx: AccountContext,
    row: DeregistrationRequest,
    outcome: DeregistrationOutcome,
    *,
    reason: str | None,
    actor: str,
) -> ManualRequest:
    now = ctx.clock.now()
    row.closed_at, row.outcome, row.refusal_reason = now, outcome, reason
    session.flush()
    record(
        session,
        action="account.deregistration_request_closed",
        actor=actor,
        subject_id=row.account_id,
        purpose="privacy.rights",
        details={"request": str(row.id), "outcome": outcome.value, "late": now > row.due_at},
        at=now,
    )
    return _manual(row)


def list_requests(session: Session, *, open_only: bool = True) -> list[ManualRequest]:
    """Manual requests by deadline (only open ones unless asked)."""
    query = sa.select(DeregistrationRequest).order_by(DeregistrationRequest.due_at)
    if open_only:
        query = query.where(DeregistrationRequest.closed_at.is_(None))
    return [_manual(row) for row in session.scalars(query)]
