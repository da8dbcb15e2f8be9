"""Finding accounts by identifier, and the checks every service makes before using one."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.identifiers import identifier_kind, normalise_email, normalise_phone
from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import AccountDeregisteredError
from doorstep.core.errors import NotFoundError


def normalise_identifier(ctx: AccountContext, raw: str) -> tuple[str, str] | None:
    """``(kind, normalised value)`` of an e-mail address or mobile number; None if invalid."""
    kind = identifier_kind(raw)
    checked = (
        normalise_email(raw)
        if kind == "email"
        else normalise_phone(raw, default_region=ctx.settings.phone_default_region)
    )
    return None if checked.value is None else (kind, checked.value)


def find_by_identifier(
    session: Session, kind: str, value: str, *, lock: bool = False
) -> Account | None:
    """The account holding this e-mail address or number (any status), if any."""
    column = Account.email if kind == "email" else Account.phone
    query = sa.select(Account).where(column == value)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get_account(session: Session, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    """The account with ``account_id``; :class:`NotFoundError` when there is none."""
    account = session.get(Account, account_id, with_for_update=lock or None)
    if account is None:
        raise NotFoundError("no such account")
    return account


def require_open(session: Session, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    """The account, unless it was deregistered (:class:`AccountDeregisteredError`).

    Every job and service keyed on an account calls this first: after
    deregistration nothing may use the account's data (CPE-I.i.1.b).
    """
    account = get_account(session, account_id, lock=lock)
    if account.status is AccountStatus.DEREGISTERED:
        raise AccountDeregisteredError()
    return account
