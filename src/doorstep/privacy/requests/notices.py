"""What the requester is told, and when: receipt, extension, refusal, completion, export ready.

Every notice goes through the outbox in the caller's transaction, so it is sent
exactly when the change it reports commits.  The address is the account's
e-mail (or, without one, its mobile number by SMS), read through the purpose
gate for ``privacy.rights``; a subject with neither (a request filed by post
for someone without an account) gets no message here, and the desk answers by
the channel the request came in.  Parameters are references, dates and codes:
never a value of the subject's data.

Templates (see :mod:`doorstep.notify.catalogue`):

* ``request.received`` (reference, due) — once identity is proven;
* ``request.extended`` (reference, due, reason) — inside the first period (X-9);
* ``request.refused`` (reference, reason, complaint) — with where to complain
  (CPE-IX.4, CORP-9.3);
* ``request.partly_refused`` (reference, reason, complaint) — an erasure was carried
  out except for what a legal hold keeps (which goes once the hold is released);
* ``request.completed`` (reference) — the request was carried out;
* ``request.export_ready`` (reference, expires) — the data can be downloaded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account
from doorstep.audit.entries import system_actor
from doorstep.core.clock import Clock
from doorstep.core.errors import PurposeRefusedError
from doorstep.locale import SOURCE
from doorstep.notify.services import queue_email, queue_sms
from doorstep.privacy.purposes.gate import PurposeGate

ACTOR = system_actor("requests.notices")
PURPOSE = "privacy.rights"
RECEIVED = "request.received"
EXTENDED = "request.extended"
REFUSED = "request.refused"
COMPLETED = "request.completed"
PARTLY_REFUSED = "request.partly_refused"
EXPORT_READY = "request.export_ready"


@dataclass(frozen=True, slots=True)
class Reach:
    """How to reach a requester: the subject, an e-mail address or a mobile number, and
    the language the subscriber reads (the account's)."""

    subject_id: uuid.UUID
    email: str | None
    phone: str | None
    language: str = SOURCE


def reach(
    session: Session, gate: PurposeGate, subject_id: uuid.UUID, request_id: uuid.UUID
) -> Reach | None:
    """The subject's address, read through ``gate`` (the process's); None when there is none.

    Read it *before* an erasure when the notice goes out after it.
    """
    found = session.execute(
        sa.select(Account.email, Account.phone, Account.language).where(Account.id == subject_id)
    ).one_or_none()
    if found is None or (found.email is None and found.phone is None):
        return None
    element = "accounts.email" if found.email is not None else "accounts.phone"
    try:
        gate.for_subject(session, subject_id, actor=ACTOR).check(
            element, PURPOSE, audit=True, details={"request": str(request_id)}
        )
    except PurposeRefusedError:
        return None  # audited by the gate; the desk answers by the request's own channel
    phone = found.phone if found.email is None else None
    return Reach(subject_id, found.email, phone, found.language)


def send(
    session: Session,
    clock: Clock,
    to: Reach | None,
    template: str,
    request_id: uuid.UUID,
    **params: str,
) -> bool:
    """Queue ``template`` to ``to`` (in its language) with the request's reference; False
    when unreachable."""
    if to is None:
        return False
    values = {"reference": str(request_id), **params}
    if to.email is not None:
        queue_email(
            session,
            subject_id=to.subject_id,
            to=to.email,
            template=template,
            params=values,
            clock=clock,
            locale=to.language,
        )
    elif to.phone is not None:
        queue_sms(
            session,
            subject_id=to.subject_id,
            to=to.phone,
            template=template,
            params=values,
            clock=clock,
            locale=to.language,
        )
    return True


def notify(
    session: Session,
    clock: Clock,
    subject_id: uuid.UUID,
    request_id: uuid.UUID,
    template: str,
    *,
    gate: PurposeGate,
    **params: str,
) -> bool:
    """:func:`reach` (through ``gate``) then :func:`send`: the usual case, while one exists."""
    to = reach(session, gate, subject_id, request_id)
    return send(session, clock, to, template, request_id, **params)
