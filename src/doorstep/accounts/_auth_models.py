"""Authentication state: sessions, one-time codes, rate limits, sign-in flows, linked providers.

Secrets are never stored as given: session and refresh tokens as SHA-256,
one-time codes as HMAC-SHA-256 under the deployment secret (a six-digit code
has too few values for a plain hash), client addresses and identifiers in rate
limits as HMAC-SHA-256, third-party tokens encrypted with the subject's own
key (``secret=True``, so destroying the key shreds them).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts._declare import auth_state, registration
from doorstep.core.models import Base, enum_type
from doorstep.privacy.datamap import LegalBasis, described, not_personal


class VerificationKind(StrEnum):
    """What a one-time code proves or allows."""

    VERIFY_EMAIL = "verify_email"
    VERIFY_PHONE = "verify_phone"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a kind, not a password)


class SessionEndReason(StrEnum):
    """Why a session stopped being valid before it expired."""

    SIGNED_OUT = "signed_out"
    ROTATED = "rotated"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105
    PASSWORD_RESET = "password_reset"  # noqa: S105
    REUSE_DETECTED = "reuse_detected"
    LOCKED = "locked"
    DEREGISTERED = "deregistered"


def _account_fk(retention: str) -> Mapped[uuid.UUID]:
    return mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        index=True,
        info=auth_state(
            "user.unique_id.pseudonymous", "The account this belongs to.", retention=retention
        ),
    )


_SESSION = "sign_in_session"


class AccountSession(Base):
    """A signed-in session: a short-lived access token and a rotating refresh token."""

    __tablename__ = "account_sessions"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        info=auth_state("user.unique_id.pseudonymous", "The session id.", retention=_SESSION),
    )
    account_id: Mapped[uuid.UUID] = _account_fk(_SESSION)
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


_CODE = "one_time_code"


class AccountVerification(Base):
    """A one-time code sent to an e-mail address or mobile number."""

    __tablename__ = "account_verifications"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, info=not_personal("random id of the code record", export=True)
    )
    account_id: Mapped[uuid.UUID] = _account_fk(_CODE)
    kind: Mapped[VerificationKind] = mapped_column(
        enum_type(VerificationKind, "account_verification_kind"),
        info=not_personal("verify_email, verify_phone or password_reset", export=True),
    )
    code_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=auth_state(
            "user.authorization.credentials",
            "HMAC-SHA-256 of the code under the deployment secret.",
            retention=_CODE,
        ),
    )
    attempts: Mapped[int] = mapped_column(
        sa.Integer, server_default="0", info=not_personal("wrong guesses so far", export=True)
    )
    created_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the code was made", export=True)
    )
    expires_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the code stops working", export=True)
    )
    consumed_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when the code was used or replaced", export=True)
    )

    __table_args__ = (
        sa.Index(
            "uq_account_verifications_live",
            "account_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("consumed_at IS NULL"),
        ),
    )


class RateLimitBucket(Base):
    """A fixed-window counter keyed by a keyed hash of a client address or identifier."""

    __tablename__ = "account_rate_limits"

    bucket: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        primary_key=True,
        info=auth_state(
            "user.unique_id.pseudonymous",
            "HMAC-SHA-256 (deployment secret) of a client address or sign-in identifier.",
            retention="rate_limit_window",
            basis=LegalBasis.LEGITIMATE_INTERESTS,
        ),
    )
    window_start: Mapped[datetime] = mapped_column(
        info=not_personal("start of the counting window; means nothing without the bucket")
    )
    hits: Mapped[int] = mapped_column(
        sa.Integer, info=not_personal("attempts counted in the window")
    )


class OidcFlow(Base):
    """A third-party sign-in in progress: what the callback must match."""

    __tablename__ = "account_oidc_flows"

    state_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary, primary_key=True, info=not_personal("SHA-256 of a random state value")
    )
    provider: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("configured provider name", export=True)
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        index=True,
        info=auth_state(
            "user.unique_id.pseudonymous",
            "The account that links the provider (none for a sign-in).",
            retention="sign_in_flow",
        ),
    )
    nonce: Mapped[str] = mapped_column(sa.Text, info=not_personal("random nonce"))
    code_verifier: Mapped[str] = mapped_column(sa.Text, info=not_personal("random PKCE verifier"))
    share_with: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=not_personal("names of Doorstep services from the settings", export=True),
    )
    expires_at: Mapped[datetime] = mapped_column(info=not_personal("end of the flow", export=True))


_LINK_PURPOSES = ("account.authentication", "account.token_sharing", "privacy.rights")
_LINK_CLAUSES = ("CORP-1.8", "CORP-1.9")


class AccountIdentity(Base):
    """A linked third-party provider account, with its tokens encrypted for the subject."""

    __tablename__ = "account_identities"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, info=not_personal("random id of the link", export=True)
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        index=True,
        info=registration(
            "user.unique_id.pseudonymous", "The linked account.", purposes=_LINK_PURPOSES
        ),
    )
    provider: Mapped[str] = mapped_column(
        sa.Text,
        info=registration("user.account", "Which provider is linked.", purposes=_LINK_PURPOSES),
    )
    provider_subject: Mapped[str] = mapped_column(
        sa.Text,
        info=registration(
            "user.unique_id",
            "The provider's id of the person (the ID token's sub).",
            purposes=_LINK_PURPOSES,
            clauses=_LINK_CLAUSES,
        ),
    )
    access_token: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=registration(
            "user.authorization.credentials",
            "The provider's access token, encrypted with the subject's key.",
            purposes=("account.token_sharing",),
            clauses=_LINK_CLAUSES,
            secret=True,
            export=described(
                "An access token from the provider is held, valid until {token_expires_at}.",
                reason="a credential: whoever holds it can act at the provider in your name",
            ),
        ),
    )
    refresh_token: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=registration(
            "user.authorization.credentials",
            "The provider's refresh token, encrypted with the subject's key.",
            purposes=("account.token_sharing",),
            clauses=_LINK_CLAUSES,
            secret=True,
            export=described(
                "A refresh token from the provider is held.",
                reason="a credential: whoever holds it can get new access tokens in your name",
            ),
        ),
    )
    token_expires_at: Mapped[datetime | None] = mapped_column(
        info=registration("user.account", "When the access token expires.", purposes=_LINK_PURPOSES)
    )
    scope: Mapped[str] = mapped_column(
        sa.Text,
        info=registration("user.account.settings", "Scopes granted.", purposes=_LINK_PURPOSES),
    )
    share_with: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=registration(
            "user.privacy_preferences",
            "The Doorstep services the subscriber lets use the token.",
            purposes=_LINK_PURPOSES,
            clauses=_LINK_CLAUSES,
        ),
    )
    linked_at: Mapped[datetime] = mapped_column(
        info=registration("user.account", "When the provider was linked.", purposes=_LINK_PURPOSES)
    )

    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_subject", name="uq_account_identities_subject"),
        sa.UniqueConstraint("account_id", "provider", name="uq_account_identities_account"),
    )
