"""One-time codes: six digits, stored as a keyed hash, expiring, with limited guesses.

An account has at most one live code of each kind (a partial unique index); a
new code replaces the old one.  A code is stored as ``HMAC-SHA-256(derived
secret, record id ‖ code)``: a million possible codes are no obstacle to
someone who reads a plain hash, but are to someone without the secret.  Each
wrong guess counts (the caller commits it even though it answers with an
error); at ``account_code_max_attempts`` the code dies.  At most
:data:`CODES_PER_HOUR` codes are sent per account and kind in an hour.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import InvalidCodeError, TooManyAttemptsError
from doorstep.accounts.signup.models import AccountVerification, VerificationKind

DIGITS = 6
CODES_PER_HOUR = 5


def _digest(ctx: AccountContext, record_id: uuid.UUID, code: str) -> bytes:
    return ctx.keyed_hash("codes", record_id.bytes + code.encode("ascii", "replace"))


def issue(
    session: Session, ctx: AccountContext, account_id: uuid.UUID, kind: VerificationKind
) -> str:
    """Create a new code for ``account_id`` (replacing a live one) and return it.

    Raises :class:`TooManyAttemptsError` when :data:`CODES_PER_HOUR` were sent
    in the last hour.
    """
    now = ctx.clock.now()
    recent = session.scalar(
        sa.select(sa.func.count())
        .select_from(AccountVerification)
        .where(
            AccountVerification.account_id == account_id,
            AccountVerification.kind == kind,
            AccountVerification.created_at > now - timedelta(hours=1),
        )
    )
    if int(recent or 0) >= CODES_PER_HOUR:
        raise TooManyAttemptsError(3600, scope="codes")
    session.execute(
        sa.update(AccountVerification)
        .where(
            AccountVerification.account_id == account_id,
            AccountVerification.kind == kind,
            AccountVerification.consumed_at.is_(None),
        )
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    record_id = uuid.uuid4()
    session.add(
        AccountVerification(
            id=record_id,
            account_id=account_id,
            kind=kind,
            code_hash=_digest(ctx, record_id, code),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.account_code_ttl_seconds),
        )
    )
    session.flush()
    return code


def redeem(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID | None,
    kind: VerificationKind,
    code: str,
) -> None:
    """Use up the live code of ``kind`` if ``code`` matches; else count the guess and raise.

    ``account_id`` None (an unknown identifier) fails the same way as a wrong
    code.  Raises :class:`InvalidCodeError` (its changes are to be committed).
    """
    now = ctx.clock.now()
    row = None
    if account_id is not None:
        row = session.scalars(
            sa.select(AccountVerification)
            .where(
                AccountVerification.account_id == account_id,
                AccountVerification.kind == kind,
                AccountVerification.consumed_at.is_(None),
            )
            .with_for_update()
        ).one_or_none()
    if row is None or row.expires_at <= now:
        raise InvalidCodeError()
    if not hmac.compare_digest(row.code_hash, _digest(ctx, row.id, code.strip())):
        row.attempts += 1
        if row.attempts >= ctx.settings.account_code_max_attempts:
            row.consumed_at = now
        session.flush()
        raise InvalidCodeError()
    row.consumed_at = now
    session.flush()


def prune(session: Session, *, created_before: datetime) -> int:
    """Delete code records created before ``created_before``; return how many."""
    result = session.execute(
        sa.delete(AccountVerification).where(AccountVerification.created_at < created_before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
