"""What a subscriber sees of their own account (CPE-V.1.a), read through the purpose gate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.context import AccountContext
from doorstep.accounts.profile.service import Profile
from doorstep.accounts.profile.service import read as read_profile
from doorstep.accounts.thirdparty.providers import LinkedProvider, linked
from doorstep.audit.entries import subject_actor


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account as its owner sees it."""

    id: uuid.UUID
    status: str
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    child: bool
    created_at: datetime
    providers: list[LinkedProvider]
    profile: Profile | None
    language: str = "en"


def own_account(session: Session, ctx: AccountContext, account_id: uuid.UUID) -> AccountView:
    """The signed-in subscriber's account data; each personal field read is audited."""
    account = require_open(session, account_id)
    access = ctx.gate.for_subject(session, account_id, actor=subject_actor(account_id))
    for element in ("accounts.email", "accounts.phone"):
        access.check(element, "account.management", audit=True)
    return AccountView(
        id=account.id,
        status=account.status.value,
        email=account.email,
        phone=account.phone,
        email_verified=account.email_verified_at is not None,
        phone_verified=account.phone_verified_at is not None,
        child=account.child_until is not None,
        created_at=account.created_at,
        providers=linked(session, account_id),
        profile=read_profile(session, ctx, account_id),
        language=account.language,
    )
