"""Carrying out an approved request, by kind, in the caller's transaction.

* restriction / objection — a restriction of the named purpose, in force from
  the moment the request completes (same transaction); the data stays stored
  (CORP-4.3);
* consent withdrawal — a withdrawal in the consent ledger (CPE-V.4.e);
* deletion — :func:`~.erasure.erase_for_request`, run as the ``requests.erase``
  job so it never holds an HTTP request (and is retried if a worker dies);
* access / portability — the export is built by :mod:`.export` when it is
  fetched; approving completes the request;
* correction, deregistration — done by staff in their own areas (the accounts
  area's deregistration flow); approving records that it was done.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.consent.models import Channel
from doorstep.privacy.consent.services import withdraw
from doorstep.privacy.purposes.models import RestrictionReason
from doorstep.privacy.purposes.services import restrict
from doorstep.privacy.requests.models import RequestChannel, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import RequestContext, complete, get, require_verified

ERASE_TASK = "requests.erase"
_CONSENT_CHANNEL = {
    RequestChannel.APP: Channel.APP,
    RequestChannel.WEB_FORM: Channel.WEB,
    RequestChannel.EMAIL: Channel.EMAIL,
}


def approve(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> SubjectRequest:
    """Carry out a verified request; deletions are queued (the job completes them)."""
    row = get(session, request_id, lock=True)
    require_verified(row)
    if row.kind is RequestKind.DELETION:
        enqueue(session, ERASE_TASK, request_id=row.id, queueing_lock=f"erase:{row.id}")
        return row
    if row.kind in (RequestKind.RESTRICTION, RequestKind.OBJECTION):
        assert row.purpose is not None  # checked at intake
        reason = (
            RestrictionReason.OBJECTION
            if row.kind is RequestKind.OBJECTION
            else RestrictionReason.ACCURACY_CONTESTED
        )
        restrict(
            session,
            subject_id=row.subject_id,
            purpose=row.purpose,
            reason=reason,
            clock=ctx.clock,
            actor=actor,
            pack=ctx.policy,
        )
    elif row.kind is RequestKind.CONSENT_WITHDRAWAL:
        assert row.purpose is not None
        withdraw(
            session,
            subject_id=row.subject_id,
            purpose=row.purpose,
            channel=_CONSENT_CHANNEL.get(row.channel, Channel.SUPPORT),
            clock=ctx.clock,
            actor=actor,
        )
    return complete(session, ctx, row.id, actor=actor)
