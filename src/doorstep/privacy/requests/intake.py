"""Where requests come in: the signed-in app, and a public form that proves control of an e-mail.

A signed-in subscriber has proven who they are: the request opens and is
verified at once (method ``session``).  The public form asks for the account's
e-mail address; whether or not an account holds it, the answer is the same
ticket-shaped reply, so the form reveals nothing about who has an account.  When
one does, the request waits in ``verifying`` (its clock paused) until the
six-digit code sent to that address is entered (method ``email_code``).  A
wrong, expired or unknown ticket/code pair fails with one and the same error.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.identifiers import normalise_email
from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.exceptions import KeepsChanges
from doorstep.audit.entries import subject_actor, system_actor
from doorstep.core.errors import InvalidInputError
from doorstep.notify.services import queue_email
from doorstep.privacy.requests import corrections, deadlines, fulfil, notices
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.codes import ErasureGround
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import (
    RequestChannel,
    RequestKind,
    RequestStatus,
    SubjectRequest,
)

FORM_ACTOR = system_actor("requests.form")
CODE_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5
PROOF_TEMPLATE = "account.verify_email"


class InvalidProofError(KeepsChanges, InvalidInputError):
    """The ticket and code do not match a live proof (whatever the reason); the count stays."""

    def __init__(self) -> None:
        super().__init__(
            "the code is wrong or has expired", errors=[{"field": "code", "rule": "valid_code"}]
        )


def _digest(ctx: RequestContext, request_id: uuid.UUID, code: str) -> bytes:
    secret = ctx.settings.secret_key.get_secret_value().encode("utf-8")
    key = hmac.new(secret, b"doorstep.requests.proof", hashlib.sha256).digest()
    return hmac.new(key, request_id.bytes + code.encode("ascii", "replace"), "sha256").digest()


def submit_signed_in(
    session: Session,
    ctx: RequestContext,
    *,
    subject_id: uuid.UUID,
    kind: RequestKind | str,
    purpose: str | None = None,
    ground: ErasureGround | str | None = None,
    jurisdiction: str | None = None,
    element: str | None = None,
    value: str | None = None,
) -> SubjectRequest:
    """Open a request for the signed-in subscriber; identity is proven by the session."""
    actor = subject_actor(subject_id)
    row = svc.open_request(
        session,
        ctx,
        subject_id=subject_id,
        kind=kind,
        channel=RequestChannel.APP,
        actor=actor,
        purpose=purpose,
        ground=ground,
        jurisdiction=jurisdiction,
        element=element,
        value=value,
    )
    row = svc.verify(session, ctx, row.id, method="session", actor=actor)
    acknowledge(session, ctx, row)
    return row


def acknowledge(session: Session, ctx: RequestContext, row: SubjectRequest) -> None:
    """Tell the requester the reference and the deadline (``request.received``), then start.

    Kinds the settings name as automatic (access and portability by default)
    are carried out at once (:func:`~.fulfil.start`); the rest wait for the desk.
    """
    notices.notify(
        session,
        ctx.clock,
        row.subject_id,
        row.id,
        notices.RECEIVED,
        gate=ctx.gate,
        due=row.due_at.date().isoformat(),
    )
    fulfil.start(session, ctx, row)


def submit_public(
    session: Session,
    ctx: RequestContext,
    *,
    email: str,
    kind: RequestKind | str,
    purpose: str | None = None,
    ground: ErasureGround | str | None = None,
    jurisdiction: str | None = None,
    element: str | None = None,
    value: str | None = None,
) -> uuid.UUID:
    """Take a request from the public form and return its ticket.

    The ticket looks the same whether or not an account holds ``email``; only
    when one does is a request opened and a code sent to that address.
    Malformed input (kind, ground, purpose, jurisdiction) is refused before the
    look-up, so validation errors do not depend on the address either.
    """
    _check_shape(ctx, kind=kind, purpose=purpose, ground=ground, element=element, value=value)
    deadlines.check_jurisdiction(ctx.settings, jurisdiction)
    address = normalise_email(email).value
    account = None
    if address is not None:
        account = session.scalars(
            sa.select(Account).where(
                Account.email == address, Account.status != AccountStatus.DEREGISTERED
            )
        ).one_or_none()
    if account is None or account.email is None:
        return uuid.uuid4()
    row = svc.open_request(
        session,
        ctx,
        subject_id=account.id,
        kind=kind,
        channel=RequestChannel.WEB_FORM,
        actor=FORM_ACTOR,
        purpose=purpose,
        ground=ground,
        jurisdiction=jurisdiction,
        element=element,
        value=value,
    )
    svc.ask_identity(session, ctx, row.id, actor=FORM_ACTOR)
    code = f"{secrets.randbelow(10**6):06d}"
    row.proof_hash = _digest(ctx, row.id, code)
    row.proof_expires_at = ctx.clock.now() + CODE_TTL
    session.flush()
    queue_email(
        session,
        subject_id=account.id,
        to=account.email,
        template=PROOF_TEMPLATE,
        params={"code": code},
        clock=ctx.clock,
        locale=account.language,
    )
    return row.id


def _check_shape(
    ctx: RequestContext,
    *,
    kind: RequestKind | str,
    purpose: str | None,
    ground: ErasureGround | str | None,
    element: str | None,
    value: str | None,
) -> None:
    try:
        code = RequestKind(kind)
    except ValueError:
        raise InvalidInputError(
            "unknown request kind", errors=[{"field": "kind", "rule": "known_code"}]
        ) from None
    if code is RequestKind.DELETION and ground not in set(ErasureGround):
        raise InvalidInputError(
            "an erasure needs a known ground",
            errors=[{"field": "ground", "rule": "erasure_ground"}],
        )
    if code in svc.PURPOSE_KINDS and purpose not in ctx.policy.purposes:
        raise InvalidInputError(
            "this request needs a known purpose",
            errors=[{"field": "purpose", "rule": "known_purpose"}],
        )
    if code is RequestKind.CORRECTION:
        corrections.check(ctx.settings, element, value)


def confirm_public(
    session: Session, ctx: RequestContext, *, ticket: uuid.UUID, code: str
) -> SubjectRequest:
    """Prove control of the address with the code; the request goes ``in_progress``.

    Raises :class:`InvalidProofError` for an unknown ticket, a wrong or expired
    code, or after :data:`MAX_ATTEMPTS` wrong codes; the caller commits the
    counted attempt even so.
    """
    row = session.scalars(
        sa.select(SubjectRequest).where(SubjectRequest.id == ticket).with_for_update()
    ).one_or_none()
    now = ctx.clock.now()
    if (
        row is None
        or row.status is not RequestStatus.VERIFYING
        or row.proof_hash is None
        or row.proof_expires_at is None
        or row.proof_expires_at <= now
        or row.proof_attempts >= MAX_ATTEMPTS
    ):
        raise InvalidProofError()
    if not hmac.compare_digest(row.proof_hash, _digest(ctx, row.id, code.strip())):
        row.proof_attempts += 1
        session.flush()
        raise InvalidProofError()
    row.proof_hash = None
    row.proof_expires_at = None
    row = svc.verify(session, ctx, row.id, method="email_code", actor=subject_actor(row.subject_id))
    acknowledge(session, ctx, row)
    return row
