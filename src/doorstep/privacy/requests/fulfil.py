"""Carrying out a verified request, by kind, in the caller's transaction.

* access / portability — the ``requests.export`` job builds the ZIP, stores it
  encrypted and completes the request in one transaction (:mod:`.downloads`);
* deletion — the ``requests.erase`` job (:func:`~.erasure_requests.erase_for_request`):
  one transaction per subject, so it never holds an HTTP request and is
  retried if a worker dies;
* for these three, the request also fans out to the connected systems
  (:mod:`.systems`): one task and job per system, and the request completes when
  every system is settled too;
* restriction / objection — a restriction of the named purpose, in force from
  the moment the request completes (same transaction); the data stays stored
  (CORP-4.3);
* consent withdrawal — a withdrawal in the consent ledger (CPE-V.4.e);
* for an objection and a withdrawal, the connected systems whose elements rest
  on consent for the purpose are told (:mod:`doorstep.privacy.connectors.withdrawals`);
* correction — the reviewed new value is written (:mod:`.corrections`);
* deregistration — the accounts area's deregistration (CPE-V.5.b), refused
  while devices are bound (the request then stays open for the desk).

:func:`start` runs when identity is proven: kinds named in the setting
``requests_automatic`` (access and portability by default) start at once; the
others wait for :func:`approve` by the privacy desk.  Jobs take the request id
only and are enqueued with a queueing lock, so a request is never queued twice.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.core.errors import ConflictError
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.connectors.withdrawals.fanout import tell_systems
from doorstep.privacy.connectors.withdrawals.models import Cause
from doorstep.privacy.consent.models import Channel
from doorstep.privacy.consent.services import withdraw
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestChannel, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import complete, get, require_verified
from doorstep.privacy.requests.systems.fanout import fan_out
from doorstep.privacy.restrictions.models import RestrictionReason
from doorstep.privacy.restrictions.services import restrict

ERASE_TASK = "requests.erase"
EXPORT_TASK = "requests.export"
AUTOMATIC_ACTOR = system_actor("requests.automatic")
_JOBS = {
    RequestKind.ACCESS: EXPORT_TASK,
    RequestKind.PORTABILITY: EXPORT_TASK,
    RequestKind.DELETION: ERASE_TASK,
}
_CONSENT_CHANNEL = {
    RequestChannel.APP: Channel.APP,
    RequestChannel.WEB_FORM: Channel.WEB,
    RequestChannel.EMAIL: Channel.EMAIL,
}


def start(session: Session, ctx: RequestContext, row: SubjectRequest) -> None:
    """Carry out a just-verified request now if its kind is automatic (a setting)."""
    if row.kind.value in ctx.settings.requests_automatic:
        approve(session, ctx, row.id, actor=AUTOMATIC_ACTOR)


def approve(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> SubjectRequest:
    """Carry out a verified request; exports and erasures are queued (their jobs complete them).

    Raises ConflictError for a closed or unverified request.
    """
    row = get(session, request_id, lock=True)
    require_verified(row)
    if row.closed_at is not None:
        raise ConflictError("the request is already closed", reason="already_closed")
    task = _JOBS.get(row.kind)
    if task is not None:
        fan_out(session, ctx, row)  # the connected systems' parts, each a job of its own
        _queue_once(session, task, row.id)
        return row
    if row.kind in (RequestKind.RESTRICTION, RequestKind.OBJECTION):
        assert row.purpose is not None  # checked at intake
        reason = (
            RestrictionReason.OBJECTION
            if row.kind is RequestKind.OBJECTION
            else RestrictionReason.ACCURACY_CONTESTED
        )
        restricted = restrict(
            session,
            subject_id=row.subject_id,
            purpose=row.purpose,
            reason=reason,
            clock=ctx.clock,
            actor=actor,
            pack=ctx.policy,
        )
        if row.kind is RequestKind.OBJECTION:
            _tell_systems(
                session, ctx, row, cause=Cause.OBJECTION, origin_id=restricted.id, actor=actor
            )
    elif row.kind is RequestKind.CONSENT_WITHDRAWAL:
        assert row.purpose is not None
        withdrawn = withdraw(
            session,
            subject_id=row.subject_id,
            purpose=row.purpose,
            channel=_CONSENT_CHANNEL.get(row.channel, Channel.SUPPORT),
            clock=ctx.clock,
            actor=actor,
            terms=ctx.terms,
        )
        _tell_systems(
            session, ctx, row, cause=Cause.WITHDRAWAL, origin_id=withdrawn.id, actor=actor
        )
    elif row.kind is RequestKind.CORRECTION:
        from doorstep.privacy.requests.corrections import apply

        apply(session, ctx, row, actor=actor)
    elif row.kind is RequestKind.DEREGISTRATION:
        return _deregister(session, ctx, row, actor=actor)
    return complete(session, ctx, row.id, actor=actor)


def _tell_systems(
    session: Session,
    ctx: RequestContext,
    row: SubjectRequest,
    *,
    cause: Cause,
    origin_id: uuid.UUID,
    actor: str,
) -> None:
    """The connected systems relying on the purpose are told, in this transaction."""
    assert row.purpose is not None
    tell_systems(
        session,
        pack=ctx.policy,
        settings=ctx.settings,
        clock=ctx.clock,
        subject_id=row.subject_id,
        purpose=row.purpose,
        cause=cause,
        origin_id=origin_id,
        actor=actor,
    )


_WORKING = sa.text(
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs "
    "WHERE queueing_lock = ANY(:locks) AND status IN ('todo', 'doing'))"
)


def being_carried_out(session: Session, request_id: uuid.UUID) -> bool:
    """Whether a worker job carrying the request out (export, erasure) waits or runs.

    Such a request is approved already: the desk has nothing more to decide
    until the job completes it (or fails, when it may be approved again).
    """
    locks = [f"{task}:{request_id}" for task in sorted(set(_JOBS.values()))]
    return bool(session.scalar(_WORKING, {"locks": locks}))


def _queue_once(session: Session, task: str, request_id: uuid.UUID) -> None:
    """Enqueue ``task`` for the request unless a job for it is already waiting."""
    try:
        with session.begin_nested():
            enqueue(session, task, request_id=request_id, queueing_lock=f"{task}:{request_id}")
    except IntegrityError:
        pass  # approved twice: the waiting job does it once


def _deregister(
    session: Session, ctx: RequestContext, row: SubjectRequest, *, actor: str
) -> SubjectRequest:
    """Hand a manual deregistration to the accounts area; it sends its own notice."""
    from doorstep.accounts.account.models import DeregistrationReason
    from doorstep.accounts.context import AccountContext
    from doorstep.accounts.deregistration.closing import deregister

    deregister(
        session,
        AccountContext.of(ctx.require_services()),
        row.subject_id,
        reason=DeregistrationReason.SUPPORT,
        actor=actor,
    )
    return complete(session, ctx, row.id, actor=actor, notice=None)
