"""Staff sign-in for the operator console: a one-time link, exchanged for a session.

Staff hold no password in Doorstep.  The operator's command line (``doorstep
staff sign-in-link STAFF_ID``) or an admin issues a link that works once and
for :data:`LINK_TTL`; opening it gives a console session of
``staff_session_hours``.  Tokens are random (256 bits), shown once, and stored
as SHA-256 digests only (``staff_tokens``); a deactivated staff member's tokens
stop working at once.  Every issue, sign-in and sign-out is audited as
``staff.<event>`` with the staff id, never the token.

We accept links over passwords because the console's users are few and already
have the operator's own identity systems; a deployment that wants single
sign-on puts an OIDC proxy in front and issues links from it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import staff_actor, system_actor
from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.staff.models import StaffMember, StaffToken, StaffTokenKind
from doorstep.staff.services import Staff, get_staff

LINK_PREFIX = "dsl_"
SESSION_PREFIX = "dss_"
LINK_TTL = timedelta(minutes=15)
PURPOSE = "staff.administration"


class InvalidSignInLinkError(InvalidInputError):
    """The link is unknown, used or expired (one error for all three)."""

    def __init__(self) -> None:
        super().__init__(
            "the sign-in link is not valid (used, expired or unknown)",
            errors=[{"field": "token", "rule": "valid_link"}],
        )


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in console session: the token (shown once) and who it is."""

    token: str
    staff: Staff
    expires_at: datetime


def digest(token: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def _new(
    session: Session, staff_id: uuid.UUID, kind: StaffTokenKind, ttl: timedelta, now: datetime
) -> tuple[str, datetime]:
    prefix = LINK_PREFIX if kind is StaffTokenKind.LINK else SESSION_PREFIX
    token = prefix + secrets.token_urlsafe(32)
    expires = now + ttl
    session.add(
        StaffToken(
            id=uuid.uuid4(),
            staff_id=staff_id,
            kind=kind,
            token_hash=digest(token),
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return token, expires


def issue_link(
    session: Session, staff_id: uuid.UUID, *, clock: Clock, by: uuid.UUID | None = None
) -> str:
    """A one-time sign-in link token for an active staff member (shown once)."""
    staff = get_staff(session, staff_id)
    if not staff.active:
        raise ConflictError("the staff member is deactivated", reason="staff_inactive")
    token, _ = _new(session, staff.id, StaffTokenKind.LINK, LINK_TTL, clock.now())
    record(
        session,
        action="staff.sign_in_link_issued",
        actor=staff_actor(by) if by is not None else system_actor("cli"),
        subject_id=staff.subject_id,
        purpose=PURPOSE,
        details={"staff": str(staff.id)},
    )
    return token


def _live(
    session: Session, token: str, kind: StaffTokenKind, now: datetime, *, lock: bool = False
) -> tuple[StaffToken, StaffMember] | None:
    query = (
        sa.select(StaffToken, StaffMember)
        .join(StaffMember, StaffMember.id == StaffToken.staff_id)
        .where(
            StaffToken.token_hash == digest(token),
            StaffToken.kind == kind,
            StaffToken.ended_at.is_(None),
            StaffToken.expires_at > now,
            StaffMember.active.is_(True),
        )
    )
    found = session.execute(query.with_for_update(of=StaffToken) if lock else query).one_or_none()
    return None if found is None else (found[0], found[1])


def redeem_link(
    session: Session, token: str, *, clock: Clock, session_hours: int
) -> ConsoleSession:
    """Exchange a link for a console session; the link is spent even if the caller fails later."""
    now = clock.now()
    if not token.startswith(LINK_PREFIX):
        raise InvalidSignInLinkError()
    found = _live(session, token, StaffTokenKind.LINK, now, lock=True)
    if found is None:
        raise InvalidSignInLinkError()
    link, member = found
    link.ended_at = now
    issued, expires = _new(
        session, member.id, StaffTokenKind.SESSION, timedelta(hours=session_hours), now
    )
    record(
        session,
        action="staff.signed_in",
        actor=staff_actor(member.id),
        subject_id=member.subject_id,
        purpose=PURPOSE,
        details={"staff": str(member.id)},
    )
    return ConsoleSession(issued, get_staff(session, member.id), expires)


def resolve(session: Session, token: str, *, now: datetime) -> Staff | None:
    """The active staff member of a live console session token, or None."""
    if not token.startswith(SESSION_PREFIX):
        return None
    found = _live(session, token, StaffTokenKind.SESSION, now)
    return None if found is None else get_staff(session, found[1].id)


def sign_out(session: Session, token: str, *, clock: Clock) -> bool:
    """End a console session; False when it was not live."""
    now = clock.now()
    found = _live(session, token, StaffTokenKind.SESSION, now, lock=True)
    if found is None:
        return False
    found[0].ended_at = now
    record(
        session,
        action="staff.signed_out",
        actor=staff_actor(found[1].id),
        subject_id=found[1].subject_id,
        purpose=PURPOSE,
        details={"staff": str(found[1].id)},
    )
    return True
