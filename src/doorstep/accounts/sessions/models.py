"""Sign-in sessions: the ``account_sessions`` table.

A session holds the SHA-256 of its access token and of its refresh token, never
the tokens themselves (:mod:`doorstep.accounts.sessions.tokens` makes and checks
them).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts.account.datamap import account_fk, auth_state
from doorstep.core.models import Base, enum_type
from doorstep.vocabulary import not_personal


class SessionEndReason(StrEnum):
    """Why a session stopped being valid before it expired."""

    SIGNED_OUT = "signed_out"
    ROTATED = "rotated"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105
    PASSWORD_RESET = "password_reset"  # noqa: S105
    REUSE_DETECTED = "reuse_detected"
    LOCKED = "locked"
    DEREGISTERED = "deregistered"


_SESSION = "sign_in_session"


class AccountSession(Base):
    """A signed-in session: a short-lived access token and a rotating refresh token."""

    __tablename__ = "account_sessions"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        info=auth_state("user.unique_id.pseudonymous", "The session id.", retention=_SESSION),
    )
    account_id: Mapped[uuid.UUID] = account_fk(_SESSION)
    family_id: Mapped[uuid.UUID] = mapped_column(
        index=True,
        info=auth_state(
            "user.unique_id.pseudonymous",
            "Groups a session with those its refresh token rotated into.",
            retention=_SESSION,
        ),
    )
    token_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        unique=True,
        info=auth_state(
            "user.authorization.credentials", "SHA-256 of the access token.", retention=_SESSION
        ),
    )
    refresh_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        unique=True,
        info=auth_state(
            "user.authorization.credentials", "SHA-256 of the refresh token.", retention=_SESSION
        ),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=auth_state("user.account", "When the session began.", retention=_SESSION)
    )
    expires_at: Mapped[datetime] = mapped_column(
        info=auth_state("user.account", "End of the access token.", retention=_SESSION)
    )
    refresh_expires_at: Mapped[datetime] = mapped_column(
        info=auth_state("user.account", "End of the refresh token.", retention=_SESSION)
    )
    revoked_at: Mapped[datetime | None] = mapped_column(
        info=auth_state("user.account", "When the session was ended early.", retention=_SESSION)
    )
    end_reason: Mapped[SessionEndReason | None] = mapped_column(
        enum_type(SessionEndReason, "account_session_end_reason"),
        info=not_personal("a fixed reason code (signed_out, rotated, …)", export=True),
    )

    __table_args__ = (
        sa.CheckConstraint("(revoked_at IS NULL) = (end_reason IS NULL)", name="end_has_reason"),
    )
