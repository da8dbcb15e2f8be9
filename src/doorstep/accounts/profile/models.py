"""The optional profile: the ``account_profiles`` table.

Every column rests on consent to ``account.profile`` (``consent.yaml``): the
purpose gate allows them only while the grant lives (:mod:`.service`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal, personal


def _profile(category: str, description: str) -> dict[str, object]:
    # Consent-based (consent.yaml): the gate allows these only while the grant lives.
    return personal(
        category,
        purposes=["account.profile"],
        legal_basis=LegalBasis.CONSENT,
        retention="until_deregistration",
        clauses=["CORP-1.7"],
        description=description,
    )


class AccountProfile(Base):
    """Optional profile fields, stored only while the subscriber consents to ``account.profile``."""

    __tablename__ = "account_profiles"

    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        info=_profile("user.unique_id.pseudonymous", "Whose profile this is."),
    )
    nickname: Mapped[str | None] = mapped_column(
        sa.Text, info=_profile("user.account.username", "A nickname shown in the app.")
    )
    avatar: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary, info=_profile("user.content.self_image", "A small picture (PNG or JPEG).")
    )
    avatar_type: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("image/png or image/jpeg", export=True)
    )
    date_of_birth: Mapped[date | None] = mapped_column(
        sa.Date, info=_profile("user.demographic.date_of_birth", "Shown in the profile only.")
    )
    updated_at: Mapped[datetime] = mapped_column(
        info=_profile("user.account", "When the profile last changed.")
    )
