"""The optional profile (avatar, nickname, date of birth): only with the subscriber's consent.

Never required (CORP-1.7): sign-up asks for none of it.  The purpose
``account.profile`` rests on consent (``consent.yaml``), so the purpose gate
refuses to store or show a profile until the consent ledger holds a grant, and
again once it is withdrawn.  Withdrawing also deletes the stored profile:
processing stops, and there is no other purpose to keep it for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import invalid
from doorstep.accounts.profile.models import AccountProfile
from doorstep.audit.entries import subject_actor
from doorstep.privacy.consent import ConsentRecord, grant, withdraw

PURPOSE = "account.profile"
MAX_AVATAR_BYTES = 64 * 1024
MAX_NICKNAME = 40
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
#: What the app shows before asking (its SHA-256 goes into the ledger).
PROFILE_NOTICE = (
    "Add an optional profile: a picture, a nickname and your date of birth. They are shown "
    "in the app only, you can remove them at any time, and every function works without them."
)


@dataclass(frozen=True, slots=True)
class Profile:
    """The stored profile (all fields optional)."""

    nickname: str | None
    avatar: bytes | None
    avatar_type: str | None
    date_of_birth: date | None
    updated_at: datetime | None


EMPTY = Profile(None, None, None, None, None)


def consent(session: Session, ctx: AccountContext, account_id: uuid.UUID) -> ConsentRecord:
    """Record the subscriber's consent to the optional profile (channel ``app``)."""
    require_open(session, account_id)
    return grant(
        session,
        subject_id=account_id,
        purpose=PURPOSE,
        channel="app",
        notice_text=PROFILE_NOTICE,
        clock=ctx.clock,
        terms=ctx.gate.terms,
    )


def withdraw_consent(session: Session, ctx: AccountContext, account_id: uuid.UUID) -> None:
    """Withdraw the consent and delete the stored profile."""
    withdraw(
        session,
        subject_id=account_id,
        purpose=PURPOSE,
        channel="app",
        clock=ctx.clock,
        terms=ctx.gate.terms,
    )
    session.execute(sa.delete(AccountProfile).where(AccountProfile.account_id == account_id))


def _avatar_type(avatar: bytes) -> str:
    for signature, media in _SIGNATURES.items():
        if avatar.startswith(signature):
            return media
    raise invalid(("avatar", "png_or_jpeg"))


def update(
    session: Session,
    ctx: AccountContext,
    account_id: uuid.UUID,
    *,
    nickname: str | None,
    avatar: bytes | None,
    date_of_birth: date | None,
) -> Profile:
    """Store the profile; the gate refuses (403, audited) without a live consent."""
    require_open(session, account_id)
    errors = []
    if nickname is not None and not 1 <= len(nickname.strip()) <= MAX_NICKNAME:
        errors.append(("nickname", "length_1_to_40"))
    if avatar is not None and len(avatar) > MAX_AVATAR_BYTES:
        errors.append(("avatar", "at_most_64_kib"))
    if (
        date_of_birth is not None
        and not date(1900, 1, 1) <= date_of_birth <= ctx.clock.now().date()
    ):
        errors.append(("date_of_birth", "date_of_birth_range"))
    if errors:
        raise invalid(*errors)
    media = _avatar_type(avatar) if avatar is not None else None
    access = ctx.gate.for_subject(session, account_id, actor=subject_actor(account_id))
    for element, value in (
        ("account_profiles.nickname", nickname),
        ("account_profiles.avatar", avatar),
        ("account_profiles.date_of_birth", date_of_birth),
    ):
        access.check(element, PURPOSE, audit=value is not None)
    row = session.get(AccountProfile, account_id, with_for_update=True)
    if row is None:
        row = AccountProfile(account_id=account_id)
        session.add(row)
    row.nickname = nickname.strip() if nickname is not None else None
    row.avatar, row.avatar_type, row.date_of_birth = avatar, media, date_of_birth
    row.updated_at = ctx.clock.now()
    session.flush()
    return _profile(row)


def read(session: Session, ctx: AccountContext, account_id: uuid.UUID) -> Profile | None:
    """The profile, or None when there is no live consent (nothing is shown then)."""
    access = ctx.gate.for_subject(session, account_id, actor=subject_actor(account_id))
    if not access.allows("account_profiles.nickname", PURPOSE):
        return None
    row = session.get(AccountProfile, account_id)
    if row is None:
        return EMPTY
    access.check("account_profiles.nickname", PURPOSE, audit=True)
    return _profile(row)


def _profile(row: AccountProfile) -> Profile:
    return Profile(row.nickname, row.avatar, row.avatar_type, row.date_of_birth, row.updated_at)
