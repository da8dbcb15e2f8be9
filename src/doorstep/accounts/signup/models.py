"""One-time codes: the ``account_verifications`` table.

A code is stored as HMAC-SHA-256 under the deployment secret, never as given (a
six-digit code has too few values for a plain hash); :mod:`.codes` makes and
checks them.
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


class VerificationKind(StrEnum):
    """What a one-time code proves or allows."""

    VERIFY_EMAIL = "verify_email"
    VERIFY_PHONE = "verify_phone"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a kind, not a password)


_CODE = "one_time_code"


class AccountVerification(Base):
    """A one-time code sent to an e-mail address or mobile number."""

    __tablename__ = "account_verifications"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, info=not_personal("random id of the code record", export=True)
    )
    account_id: Mapped[uuid.UUID] = account_fk(_CODE)
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
