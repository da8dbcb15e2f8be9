"""Operator actions on accounts: look one up by id, lock and unlock it.

A summary holds ids, statuses, flags and instants only: never an address, a
number or a secret, so it can be printed in a terminal or a ticket.  Locking
ends every session at once; an unlocked account signs in again with its
password.  Each action is audited with the operator's actor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts import tokens
from doorstep.accounts._lookup import get_account, require_open
from doorstep.accounts.context import AccountContext
from doorstep.accounts.models import AccountIdentity, AccountSession, SessionEndReason
from doorstep.audit.services import record
from doorstep.core.errors import ConflictError


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """What an operator may see of an account (no personal values)."""

    id: uuid.UUID
    status: str
    created_at: datetime
    email_verified: bool
    phone_verified: bool
    child: bool
    locked_at: datetime | None
    deregistered_at: datetime | None
    erased_at: datetime | None
    live_sessions: int
    linked_providers: int


def summary(
    session: Session, ctx: AccountContext, account_id: uuid.UUID, *, actor: str
) -> AccountSummary:
    """The summary of one account (audited as a support look-up)."""
    account = get_account(session, account_id)
    now = ctx.clock.now()
    live = session.scalar(
        sa.select(sa.func.count())
        .select_from(AccountSession)
        .where(
            AccountSession.account_id == account_id,
            AccountSession.revoked_at.is_(None),
            AccountSession.refresh_expires_at > now,
        )
    )
    links = session.scalar(
        sa.select(sa.func.count())
        .select_from(AccountIdentity)
        .where(AccountIdentity.account_id == account_id)
    )
    record(
        session,
        action="account.looked_up",
        actor=actor,
        subject_id=account_id,
        purpose="customer.support",
    )
    return AccountSummary(
        id=account.id,
        status=account.status.value,
        created_at=account.created_at,
        email_verified=account.email_verified_at is not None,
        phone_verified=account.phone_verified_at is not None,
        child=account.child_until is not None,
        locked_at=account.locked_at,
        deregistered_at=account.deregistered_at,
        erased_at=account.erased_at,
        live_sessions=int(live or 0),
        linked_providers=int(links or 0),
    )


def lock(session: Session, ctx: AccountContext, account_id: uuid.UUID, *, actor: str) -> int:
    """Lock the account (no sign-in) and end its sessions; return how many ended."""
    account = require_open(session, account_id, lock=True)
    if account.locked_at is not None:
        raise ConflictError("the account is already locked", reason="already_locked")
    now = ctx.clock.now()
    account.locked_at = now
    ended = tokens.revoke_all(session, account_id, SessionEndReason.LOCKED, now=now)
    record(
        session,
        action="account.locked",
        actor=actor,
        subject_id=account_id,
        purpose="account.authentication",
        details={"sessions_ended": ended},
        at=now,
    )
    return ended


def unlock(session: Session, ctx: AccountContext, account_id: uuid.UUID, *, actor: str) -> None:
    """Lift a lock; the subscriber signs in again with their password."""
    account = require_open(session, account_id, lock=True)
    if account.locked_at is None:
        raise ConflictError("the account is not locked", reason="not_locked")
    account.locked_at = None
    record(
        session,
        action="account.unlocked",
        actor=actor,
        subject_id=account_id,
        purpose="account.authentication",
    )
