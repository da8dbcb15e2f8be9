"""Operator actions on accounts: look one up by id, lock and unlock it, create a verified one.

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

from doorstep.accounts.account.identifiers import normalise_email, normalise_phone
from doorstep.accounts.account.lookup import get_account, require_open
from doorstep.accounts.account.models import OPERATOR_IMPORT, Account, AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.sessions import tokens
from doorstep.accounts.sessions.models import AccountSession, SessionEndReason
from doorstep.accounts.thirdparty.models import AccountIdentity
from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.privacy.datamap.record_sources import checked_source
from doorstep.privacy.subjects.models import Subject, SubjectKind


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


def create_verified(
    session: Session,
    ctx: AccountContext,
    *,
    email: str,
    phone: str | None,
    password: str,
    actor: str,
    source: str = OPERATOR_IMPORT,
) -> uuid.UUID:
    """Create an active account whose identifiers the operator has already verified.

    For identities proven outside Doorstep (an operator importing its existing
    customers, the demo's seeded subscriber): no codes are sent.  The password is
    hashed as at sign-up (argon2id); the identifiers are normalised and checked.
    Raises InvalidInputError for a malformed identifier or a ``source`` that is
    not a collection point registered for accounts (CORP-1.1), ConflictError when
    one is taken.
    """
    source = checked_source(
        Account.__table__,
        source,
        ctx.policy.pack if ctx.policy is not None else None,
    )
    address = normalise_email(email)
    number = (
        normalise_phone(phone, default_region=ctx.settings.phone_default_region) if phone else None
    )
    errors = [
        {"field": field, "rule": checked.rule or "format"}
        for field, checked in (("email", address), ("phone", number))
        if checked is not None and checked.value is None
    ]
    if errors:
        raise InvalidInputError("invalid identifiers", errors=errors)
    # Only the identifiers given are compared: ``phone == None`` would read IS NULL and
    # find every account without a number.
    held = [Account.email == address.value]
    if number is not None and number.value is not None:
        held.append(Account.phone == number.value)
    taken = session.scalar(sa.select(sa.func.count()).select_from(Account).where(sa.or_(*held)))
    if taken:
        raise ConflictError("an account already holds this identifier", reason="taken")
    now = ctx.clock.now()
    subject = Subject(kind=SubjectKind.SUBSCRIBER, created_at=now)
    session.add(subject)
    session.flush()
    session.add(
        Account(
            id=subject.id,
            status=AccountStatus.ACTIVE,
            email=address.value,
            phone=number.value if number else None,
            password_hash=ctx.hasher.hash(password),
            password_changed_at=now,
            email_verified_at=now,
            phone_verified_at=now if number else None,
            created_at=now,
            source=source,
        )
    )
    session.flush()
    record(
        session,
        action="account.created_by_operator",
        actor=actor,
        subject_id=subject.id,
        purpose="account.management",
    )
    return subject.id


def set_password(
    session: Session, ctx: AccountContext, account_id: uuid.UUID, password: str, *, actor: str
) -> None:
    """Set a new password for the account (operator action, e.g. the demo); sessions end."""
    account = require_open(session, account_id, lock=True)
    account.password_hash = ctx.hasher.hash(password)
    account.password_changed_at = ctx.clock.now()
    tokens.revoke_all(session, account_id, SessionEndReason.PASSWORD_CHANGED, now=ctx.clock.now())
    record(
        session,
        action="account.password_set_by_operator",
        actor=actor,
        subject_id=account_id,
        purpose="account.authentication",
    )
