"""Session tokens: opaque, random 256-bit, stored as SHA-256, with rotating refresh tokens.

A sign-in creates a session row holding the SHA-256 of an access token (short
life, ``account_access_token_ttl_seconds``) and of a refresh token (at most
30 days).  Refreshing revokes the old row and creates a new one in the same
*family*; presenting a refresh token that was already rotated means it was
copied, so the whole family is revoked (the thief and the owner both sign in
again).  The tokens themselves exist only in the response that hands them out.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import AuthenticationFailedError
from doorstep.accounts.sessions.models import AccountSession, SessionEndReason

ACCESS_PREFIX = "dsa_"
REFRESH_PREFIX = "dsr_"


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """What a sign-in or refresh hands to the app (the only place the tokens exist)."""

    session_id: uuid.UUID
    account_id: uuid.UUID
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    """The account and session a valid access token belongs to."""

    account_id: uuid.UUID
    session_id: uuid.UUID


def _new(prefix: str) -> str:
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def digest(token: str) -> bytes:
    """SHA-256 of a token as stored."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID,
    *,
    family_id: uuid.UUID | None = None,
) -> IssuedTokens:
    """Create a session for ``account_id`` and return its tokens."""
    now = ctx.clock.now()
    access, refresh = _new(ACCESS_PREFIX), _new(REFRESH_PREFIX)
    row = AccountSession(
        id=uuid.uuid4(),
        account_id=account_id,
        family_id=family_id or uuid.uuid4(),
        token_hash=digest(access),
        refresh_hash=digest(refresh),
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.account_access_token_ttl_seconds),
        refresh_expires_at=now + timedelta(days=ctx.settings.account_refresh_token_ttl_days),
    )
    session.add(row)
    session.flush()
    return IssuedTokens(row.id, account_id, access, refresh, row.expires_at, row.refresh_expires_at)


def resolve(session: Session, token: str, *, now: datetime) -> ResolvedSession | None:
    """The session of a live access token of an active, unlocked account; None otherwise."""
    if not token.startswith(ACCESS_PREFIX) or len(token) > 128:
        return None
    row = session.execute(
        sa.select(AccountSession.id, AccountSession.account_id)
        .join(Account, Account.id == AccountSession.account_id)
        .where(
            AccountSession.token_hash == digest(token),
            AccountSession.revoked_at.is_(None),
            AccountSession.expires_at > now,
            Account.status == AccountStatus.ACTIVE,
            Account.locked_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else ResolvedSession(row.account_id, row.id)


def refresh(session: Session, ctx: AccountContext, refresh_token: str) -> IssuedTokens:
    """Rotate: revoke the refresh token's session and issue a new one in its family.

    A refresh token that was already rotated revokes its whole family.  Raises
    :class:`AuthenticationFailedError` (commit it: the revocation must stick).
    """
    now = ctx.clock.now()
    row = session.scalars(
        sa.select(AccountSession)
        .where(AccountSession.refresh_hash == digest(refresh_token))
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise AuthenticationFailedError("The refresh token is not valid; sign in again.")
    if row.revoked_at is not None:
        if row.end_reason is SessionEndReason.ROTATED:
            revoke_family(session, row.family_id, SessionEndReason.REUSE_DETECTED, now=now)
        raise AuthenticationFailedError("The refresh token is not valid; sign in again.")
    account = session.get(Account, row.account_id)
    usable = (
        account is not None and account.status is AccountStatus.ACTIVE and account.locked_at is None
    )
    if row.refresh_expires_at <= now or not usable:
        raise AuthenticationFailedError("The refresh token is not valid; sign in again.")
    row.revoked_at, row.end_reason = now, SessionEndReason.ROTATED
    session.flush()
    return issue(session, ctx, row.account_id, family_id=row.family_id)


def revoke(
    session: Session, session_id: uuid.UUID, reason: SessionEndReason, *, now: datetime
) -> None:
    """End one session (idempotent)."""
    session.execute(
        sa.update(AccountSession)
        .where(AccountSession.id == session_id, AccountSession.revoked_at.is_(None))
        .values(revoked_at=now, end_reason=reason)
    )


def revoke_family(
    session: Session, family_id: uuid.UUID, reason: SessionEndReason, *, now: datetime
) -> None:
    """End every live session of a rotation family."""
    session.execute(
        sa.update(AccountSession)
        .where(AccountSession.family_id == family_id, AccountSession.revoked_at.is_(None))
        .values(revoked_at=now, end_reason=reason)
    )


def revoke_all(
    session: Session,
    account_id: uuid.UUID,
    reason: SessionEndReason,
    *,
    now: datetime,
    keep: uuid.UUID | None = None,
) -> int:
    """End every live session of the account except ``keep``; return how many."""
    query = (
        sa.update(AccountSession)
        .where(AccountSession.account_id == account_id, AccountSession.revoked_at.is_(None))
        .values(revoked_at=now, end_reason=reason)
    )
    if keep is not None:
        query = query.where(AccountSession.id != keep)
    return int(getattr(session.execute(query), "rowcount", 0) or 0)


def prune(session: Session, *, now: datetime) -> int:
    """Delete sessions past their refresh expiry; return how many.

    Revoked sessions stay until then, so a rotated refresh token presented again
    is still recognised (and revokes its family).
    """
    result = session.execute(
        sa.delete(AccountSession).where(AccountSession.refresh_expires_at <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
