"""Deletion requests carried out: one or many at once, each answered exactly once.

:func:`erase_for_requests` is the body of the ``requests.erase`` job (and of the
API's inline answer, decision 0046).  A job may carry several requests: the worker
that runs one claims up to ``requests_erase_batch - 1`` other waiting erase jobs
(:func:`.tasks.erase`, decision 0051), and their requests are carried out in the
same transaction.  One request alone is the same code with a batch of one.

Per request, as before batching:

* the requester's address, the recipients of the subject's data and where the
  removal of their settings from routers stands are read *before* the erasure
  empties the links to them;
* Doorstep's own erasure (:func:`.erasure_batch.erase_subjects`: one statement for
  every subject not under a legal hold; a held subject alone, keeping what is held);
* the erasure's ground is audited and every recipient in the disclosure register is
  asked to erase too, or skipped with the reason (CPE-V.3.c), once;
* a subject under a legal hold is answered in part (refusal code ``LEGAL_HOLD``, the
  reason and where to complain; once) and the request stays open, its job deferred
  until a hold of the subject is released (CPE-IV.3.b, CPE-V.5.d);
* with tasks in connected systems (:mod:`.systems`) outstanding, the request stays
  open: the last system to settle completes it (:func:`.systems.settle.settle`);
* otherwise it is completed and the requester told (``request.completed``, or
  ``request.completed_router`` saying where the removals from routers stand,
  decision 0042).

All of it happens in the caller's transaction.  If any subject's erasure fails, the
whole batch raises (:class:`ErasureFailedError`) and nothing of it is kept: the job
is retried, alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, DoorstepError, NotFoundError
from doorstep.devices.fleet.wipes import removal_outcomes
from doorstep.keys.services import KeyService
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.elements import Held
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.codes import REFUSAL_TEXT, RefusalCode, complaint_route
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import Hook, erase_subject, no_hook
from doorstep.privacy.requests.erasure_batch import erase_subjects
from doorstep.privacy.requests.fulfil import ERASE_TASK
from doorstep.privacy.requests.models import (
    RequestKind,
    SubjectRequest,
)
from doorstep.privacy.requests.services import (
    AUDIT_PURPOSE,
    audit,
    complete,
    require_verified,
)
from doorstep.privacy.requests.systems.fanout import requeue
from doorstep.privacy.requests.systems.models import Excepted, SystemState
from doorstep.privacy.requests.systems.settle import (
    forget,
    outstanding_among,
    own_parts_done,
    settle,
)
from doorstep.privacy.sharing.models import NoticeKind
from doorstep.privacy.sharing.services import Recipient, notify_recipients, recipients_of

ROUTERS_DONE = "request.completed_router"
"""The confirmation of a subject who had their settings removed from routers (decision 0042)."""


class ErasureFailedError(DoorstepError):
    """A subject of the batch could not be erased; the caller's transaction must roll back.

    An internal error (500) where it reaches the API: the request stays as it was.
    """


@dataclass(frozen=True, slots=True)
class _Before:
    """What is read about a request's subject before the erasure empties the links."""

    first: bool
    held: Held
    to: notices.Reach | None
    recipients: list[Recipient]
    routers: str | None


def erase_for_request(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    request_id: uuid.UUID,
    *,
    actor: str,
    after_step: Hook = no_hook,
) -> SubjectRequest:
    """Carry out one verified deletion request (see the module docstring); a closed one is a
    no-op.  ``after_step`` is called with ``"keys"`` and ``"rows"`` (tests die there)."""
    done = erase_for_requests(session, ctx, keys, [request_id], actor=actor, after_step=after_step)
    return done[request_id]


def erase_for_requests(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    request_ids: Sequence[uuid.UUID],
    *,
    actor: str,
    after_step: Hook = no_hook,
) -> dict[uuid.UUID, SubjectRequest]:
    """Carry out every one of ``request_ids`` in the caller's transaction; each request as
    it stands after.

    Raises :class:`NotFoundError` for an unknown id, :class:`ConflictError` for a request
    that is not a deletion or not verified, :class:`ErasureFailedError` when a subject's
    erasure failed; the caller then rolls back (nothing is half-done).
    """
    rows = _locked(session, request_ids)
    for row in rows:
        if row.kind is not RequestKind.DELETION:
            raise ConflictError("not a deletion request", reason="kind")
        if row.closed_at is None:
            require_verified(row)
    answered = {row.id: row for row in rows}
    waiting = [row for row in rows if row.closed_at is None]
    own_done = own_parts_done(session, [row.id for row in waiting])
    for row in waiting:
        if row.id in own_done:  # done already; connected systems still at work
            answered[row.id] = settle(session, ctx, row.id, actor=actor)
    fresh = [row for row in waiting if row.id not in own_done]
    before = _read_before(session, ctx, fresh)
    _erase(session, ctx, keys, fresh, before, actor=actor, after_step=after_step)
    for row in fresh:
        _tell_recipients(session, ctx, row, before[row.id], actor=actor)
    held = [row for row in fresh if before[row.id].held]
    for row in held:
        answered[row.id] = _answer_in_part(session, ctx, row, before[row.id], actor=actor)
    free = [row for row in fresh if not before[row.id].held]
    # Connected systems excepted for a hold now released go back to work; Doorstep's own
    # part never waits on a system: the last system to settle completes the request.
    requeue(
        session,
        [row.id for row in free],
        states=(SystemState.EXCEPTED,),
        exception=Excepted.LEGAL_HOLD.value,
    )
    busy = outstanding_among(session, [row.id for row in free])
    for row in free:
        answered[row.id] = _complete(
            session, ctx, row, before[row.id], busy=row.id in busy, actor=actor
        )
    forget(session, [row.id for row in free if row.id not in busy])
    return answered


def _locked(session: Session, request_ids: Sequence[uuid.UUID]) -> list[SubjectRequest]:
    """The requests, locked in id order (two batches never wait on each other in a circle)."""
    wanted = sorted(set(request_ids))
    rows = list(
        session.scalars(
            sa.select(SubjectRequest)
            .where(SubjectRequest.id.in_(wanted))
            .order_by(SubjectRequest.id)
            .with_for_update()
        )
    )
    if len(rows) != len(wanted):
        missing = sorted(set(wanted) - {row.id for row in rows})
        raise NotFoundError("no such request", request=str(missing[0]))
    return rows


def _read_before(
    session: Session, ctx: RequestContext, rows: list[SubjectRequest]
) -> dict[uuid.UUID, _Before]:
    """What each request needs after its subject is erased, read before (one query each for
    the holds, recipients and removals of all; the address through the purpose gate)."""
    subjects = [row.subject_id for row in rows]
    standing = holds.held_many(session, subjects)
    recipients = recipients_of(session, subjects)
    routers = removal_outcomes(session, subjects)
    return {
        row.id: _Before(
            first=row.refusal_code != RefusalCode.LEGAL_HOLD.value,
            held=standing[row.subject_id],
            to=notices.reach(session, ctx.gate, row.subject_id, row.id),
            recipients=recipients[row.subject_id],
            routers=routers[row.subject_id],
        )
        for row in rows
    }


def _erase(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    rows: list[SubjectRequest],
    before: dict[uuid.UUID, _Before],
    *,
    actor: str,
    after_step: Hook,
) -> None:
    """Doorstep's own erasure of every request's subject: the free ones in one statement,
    the held ones alone, keeping what is held."""
    plain = [row for row in rows if not before[row.id].held]
    for row in rows:
        if before[row.id].held:
            erase_subject(
                session,
                ctx,
                keys,
                row.subject_id,
                request_id=row.id,
                actor=actor,
                after_step=after_step,
                held=before[row.id].held,
            )
    if not plain:
        return
    erased = erase_subjects(
        session,
        ctx,
        keys,
        [row.subject_id for row in plain],
        actor=actor,
        requests=[row.id for row in plain],
        after_step=after_step,
    )
    if erased.failed:
        raise ErasureFailedError(
            "a subject's erasure failed; the batch is rolled back and retried",
            subjects=len(erased.failed),
        )


def _tell_recipients(
    session: Session, ctx: RequestContext, row: SubjectRequest, before: _Before, *, actor: str
) -> None:
    """The erasure's ground, audited, and every recipient asked to erase too (CPE-V.3.c);
    once, on the first run of the request's erasure."""
    if not before.first:
        return
    record(
        session,
        action="request.erasure_ground",
        actor=actor,
        subject_id=row.subject_id,
        purpose=AUDIT_PURPOSE,
        details={"request": str(row.id), "ground": row.ground},
    )
    notify_recipients(
        session,
        subject_id=row.subject_id,
        request_id=row.id,
        kind=NoticeKind.ERASURE,
        recipients=before.recipients,
        pack=ctx.policy,
        clock=ctx.clock,
        actor=actor,
    )


def _complete(
    session: Session,
    ctx: RequestContext,
    row: SubjectRequest,
    before: _Before,
    *,
    busy: bool,
    actor: str,
) -> SubjectRequest:
    """Complete a request whose subject is erased, unless a system's part is outstanding."""
    if busy:
        audit(session, row, "own_part_erased", actor)
        return row
    if before.routers is None:
        return complete(session, ctx, row.id, actor=actor, reach=before.to)
    # the confirmation says where the removal of the settings from routers stands
    return complete(
        session,
        ctx,
        row.id,
        actor=actor,
        reach=before.to,
        notice=ROUTERS_DONE,
        outcome=before.routers,
    )


def _answer_in_part(
    session: Session, ctx: RequestContext, row: SubjectRequest, before: _Before, *, actor: str
) -> SubjectRequest:
    """Record the partial refusal (once) and defer the rest of the erasure to a release."""
    held = before.held
    if before.first:
        row.refusal_code = RefusalCode.LEGAL_HOLD.value
        session.flush()
        audit(
            session,
            row,
            "partly_refused",
            actor,
            code=RefusalCode.LEGAL_HOLD.value,
            held=held.key if not held.everything else "all",
        )
        notices.send(
            session,
            ctx.clock,
            before.to,
            notices.PARTLY_REFUSED,
            row.id,
            reason=REFUSAL_TEXT[RefusalCode.LEGAL_HOLD],
            complaint=complaint_route(row.jurisdiction),
        )
    holds.defer(session, ctx.clock, row.subject_id, ERASE_TASK, actor=actor, request_id=str(row.id))
    return row
