"""Password sign-in, sign-out, password change and password reset.

Guessing is bounded twice: per client address (every attempt counts, the
address is kept only as a keyed hash) and per identifier (failed attempts only;
``account_signin_max_failures`` within ``account_lockout_seconds`` locks the
identifier until the window ends).  The identifier lockout applies to unknown
identifiers too, and an unknown identifier costs one argon2 verification like a
known one, so neither the answer nor its timing says whether an account exists.
A successful sign-in clears the identifier's failures and re-hashes the
password when the hashing parameters changed.

The password is the one registration field a subscriber edits directly
(CPE-V.2); changing it ends every other session, resetting it ends all.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import find_by_identifier, normalise_identifier, require_open
from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import (
    AccountNotUsableError,
    AuthenticationFailedError,
    SelfServiceEditError,
    TooManyAttemptsError,
    invalid,
)
from doorstep.accounts.sessions import tokens
from doorstep.accounts.sessions.models import SessionEndReason
from doorstep.accounts.signin import ratelimit
from doorstep.accounts.signin.passwords import strength_problems
from doorstep.accounts.signup import codes
from doorstep.accounts.signup.models import VerificationKind
from doorstep.audit.entries import subject_actor, system_actor
from doorstep.audit.services import record
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.purposes import GateRefusedError

AUTHENTICATION = "account.authentication"
_WRONG = "The e-mail address or mobile number and password do not match."
_NOT_USABLE = {
    AccountStatus.PENDING: ("verification_required", "Confirm your e-mail and number first."),
    AccountStatus.AWAITING_GUARDIAN: (
        "guardian_consent_required",
        "The account waits for your parent's or guardian's consent.",
    ),
}


def sign_in(
    session: Session,
    ctx: AccountContext,
    identifier: str,
    password: str,
    *,
    address: str | None,
) -> tokens.IssuedTokens:
    """Check the password and open a session; raise on a wrong one (commit the counts)."""
    now = ctx.clock.now()
    ratelimit.count_address(session, ctx, address)
    normal = normalise_identifier(ctx, identifier)
    key = ratelimit.bucket(ctx, "signin", normal[1] if normal else identifier.strip().lower())
    lockout = ratelimit.lockout_limit(ctx)
    ratelimit.enforce(session, key, lockout, now=now, scope="identifier", count=False)
    account = find_by_identifier(session, *normal, lock=True) if normal else None
    if account is None or account.password_hash is None:
        ctx.hasher.waste_time(password)
        _failed(session, ctx, key, None)
    assert account is not None and account.password_hash is not None
    if not ctx.hasher.verify(account.password_hash, password):
        _failed(session, ctx, key, account.id)
    ratelimit.reset(session, key)
    _require_usable(session, ctx, account)
    access = ctx.gate.for_subject(session, account.id, actor=subject_actor(account.id))
    access.check("accounts.password_hash", AUTHENTICATION, audit=True)
    if ctx.hasher.needs_rehash(account.password_hash):
        account.password_hash = ctx.hasher.hash(password)
    issued = tokens.issue(session, ctx, account.id)
    record(
        session,
        action="account.signed_in",
        actor=subject_actor(account.id),
        subject_id=account.id,
        purpose=AUTHENTICATION,
        details={"session": str(issued.session_id), "method": "password"},
        at=now,
    )
    return issued


def _failed(
    session: Session, ctx: AccountContext, key: bytes, account_id: uuid.UUID | None
) -> None:
    ratelimit.hit(session, key, ratelimit.lockout_limit(ctx), now=ctx.clock.now())
    if account_id is not None:
        record(
            session,
            action="account.sign_in_failed",
            actor=system_actor("accounts"),
            subject_id=account_id,
            purpose=AUTHENTICATION,
            outcome="refused",
        )
    raise AuthenticationFailedError(_WRONG)


def _require_usable(session: Session, ctx: AccountContext, account: Account) -> None:
    """Refuse a correct password for an account that may not sign in (yet)."""
    if account.status is AccountStatus.DEREGISTERED:
        raise AuthenticationFailedError(_WRONG)
    if account.locked_at is not None:
        raise AccountNotUsableError("The account is locked; contact support.", reason="locked")
    if account.status is not AccountStatus.ACTIVE:
        reason, detail = _NOT_USABLE[account.status]
        error = AccountNotUsableError(detail, reason=reason)
        if reason == "guardian_consent_required":
            # The gate refuses (and audits) any use of a child's data without the guardian's
            # consent; the refusal's audit record survives the rollback with the error.
            access = ctx.gate.for_subject(session, account.id, actor=subject_actor(account.id))
            try:
                access.check("accounts.child_until", "account.guardian_consent")
            except GateRefusedError as refusal:
                error.audit_entry = refusal.audit_entry
        raise error


def sign_out(
    session: Session, ctx: AccountContext, account_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    """End the current session (nothing else: data stays, CPE-IV.1.c)."""
    tokens.revoke(session, session_id, SessionEndReason.SIGNED_OUT, now=ctx.clock.now())
    record(
        session,
        action="account.signed_out",
        actor=subject_actor(account_id),
        subject_id=account_id,
        purpose=AUTHENTICATION,
        details={"session": str(session_id)},
    )


def check_password(session: Session, ctx: AccountContext, account: Account, password: str) -> None:
    """Re-authenticate the signed-in subscriber (wrong guesses per account are limited)."""
    key = ratelimit.bucket(ctx, "reauth", str(account.id))
    lockout = ratelimit.lockout_limit(ctx)
    now = ctx.clock.now()
    ratelimit.enforce(session, key, lockout, now=now, scope="account", count=False)
    if account.password_hash is None or not ctx.hasher.verify(account.password_hash, password):
        ratelimit.hit(session, key, lockout, now=now)
        raise AuthenticationFailedError("The current password is wrong.")
    ratelimit.reset(session, key)


def _strong(ctx: AccountContext, account: Account, password: str) -> None:
    problems = strength_problems(
        password,
        min_length=ctx.settings.password_min_length,
        email=account.email,
        phone=account.phone,
    )
    if problems:
        raise InvalidInputError(
            " ".join(p.message for p in problems),
            errors=[{"field": "new_password", "rule": p.rule} for p in problems],
        )


def change_password(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    current: str,
    new: str,
) -> None:
    """Set a new password after checking the current one; end every other session."""
    account = require_open(session, account_id, lock=True)
    check_password(session, ctx, account, current)
    _strong(ctx, account, new)
    _set_password(session, ctx, account, new, SessionEndReason.PASSWORD_CHANGED, keep=session_id)


def _set_password(
    session: Session,
    ctx: AccountContext,
    account: Account,
    new: str,
    reason: SessionEndReason,
    *,
    keep: uuid.UUID | None,
) -> None:
    now = ctx.clock.now()
    access = ctx.gate.for_subject(session, account.id, actor=subject_actor(account.id))
    access.check("accounts.password_hash", AUTHENTICATION, audit=True)
    account.password_hash = ctx.hasher.hash(new)
    account.password_changed_at = now
    ended = tokens.revoke_all(session, account.id, reason, now=now, keep=keep)
    record(
        session,
        action=f"account.{reason.value}",
        actor=subject_actor(account.id),
        subject_id=account.id,
        purpose=AUTHENTICATION,
        details={"sessions_ended": ended},
        at=now,
    )


def request_reset(
    session: Session, ctx: AccountContext, identifier: str, *, address: str | None
) -> None:
    """Send a reset code to an active account's identifier; the same silence for anything else."""
    from doorstep.notify.services import queue_email, queue_sms

    ratelimit.count_address(session, ctx, address)
    normal = normalise_identifier(ctx, identifier)
    account = find_by_identifier(session, *normal) if normal else None
    if account is None or normal is None or account.status is not AccountStatus.ACTIVE:
        return
    kind, value = normal
    access = ctx.gate.for_subject(session, account.id, actor=system_actor("accounts"))
    access.check(f"accounts.{kind}", AUTHENTICATION, audit=True)
    try:
        code = codes.issue(session, ctx, account.id, VerificationKind.PASSWORD_RESET)
    except TooManyAttemptsError:
        return  # answering 429 here would reveal that the account exists
    queue = queue_email if kind == "email" else queue_sms
    queue(
        session,
        subject_id=account.id,
        to=value,
        template="account.password_reset",
        params={"code": code},
        clock=ctx.clock,
        locale=account.language,
    )


def confirm_reset(
    session: Session,
    ctx: AccountContext,
    identifier: str,
    code: str,
    new: str,
    *,
    address: str | None,
) -> None:
    """Set a new password with a reset code; end every session of the account."""
    ratelimit.count_address(session, ctx, address)
    normal = normalise_identifier(ctx, identifier)
    account = find_by_identifier(session, *normal, lock=True) if normal else None
    if account is not None and account.status is not AccountStatus.ACTIVE:
        account = None
    if account is not None:
        _strong(ctx, account, new)  # before the code is used up, so a weak choice can retry
    codes.redeem(
        session, ctx, account.id if account else None, VerificationKind.PASSWORD_RESET, code
    )
    assert account is not None and normal is not None
    ratelimit.reset(session, ratelimit.bucket(ctx, "signin", normal[1]))
    _set_password(session, ctx, account, new, SessionEndReason.PASSWORD_RESET, keep=None)


def refuse_direct_edit(fields: list[str], *, correction_request: str) -> None:
    """Only the password is edited directly (CPE-V.2.a); other corrections are requests.

    ``correction_request`` is the path where a correction request is filed (the
    caller builds it from the routes, so the link follows them).
    """
    if not fields:
        raise invalid(("body", "nothing_to_change"))
    raise SelfServiceEditError(
        "Only the password can be changed in the app. To correct other account data, "
        "send a correction request.",
        fields=sorted(fields),
        correction_request=correction_request,
        reason="self_service_edit_limited",
    )
