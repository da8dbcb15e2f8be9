"""Restrictions of processing: a subject's data is kept but not used for a purpose.

A row is in force from ``since`` until ``lifted_at`` is set.  Lifting is the only
change the database accepts (migration 0004): ``lifted_at`` goes from NULL to an
instant once, every other column stays as written, so the history of every
restriction is kept.  At most one restriction per subject x purpose is in force.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal, personal

_CLAUSES = ("CORP-4.3",)


class RestrictionReason(StrEnum):
    """Why processing is restricted (GDPR Art. 18(1) a-d, and Art. 21 objection)."""

    ACCURACY_CONTESTED = "accuracy_contested"
    UNLAWFUL_PROCESSING = "unlawful_processing"
    LEGAL_CLAIMS = "legal_claims"
    OBJECTION_PENDING = "objection_pending"
    OBJECTION = "objection"


def _restriction(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=_CLAUSES,
        description=description,
    )


class Restriction(Base):
    """One restriction of processing of a subject's data for a purpose."""

    __tablename__ = "restrictions"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random id of the restriction; personal only through subject_id", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        info=_restriction("user.unique_id.pseudonymous", "The subject whose data is restricted."),
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=_restriction("user.privacy_preferences", "The purpose no longer allowed.")
    )
    reason: Mapped[RestrictionReason] = mapped_column(
        sa.Enum(
            RestrictionReason,
            name="restriction_reason",
            values_callable=lambda members: [m.value for m in members],
        ),
        info=_restriction("user.privacy_preferences", "Reason code of the restriction."),
    )
    since: Mapped[datetime] = mapped_column(
        info=_restriction("user.privacy_preferences", "When the restriction took effect."),
    )
    lifted_at: Mapped[datetime | None] = mapped_column(
        info=_restriction("user.privacy_preferences", "When it was lifted; NULL while in force."),
    )

    __table_args__ = (
        sa.CheckConstraint("lifted_at IS NULL OR lifted_at >= since", name="lifted_after_since"),
        sa.Index(
            "uq_restrictions_in_force",
            "subject_id",
            "purpose",
            unique=True,
            postgresql_where=sa.text("lifted_at IS NULL"),
        ),
        sa.Index("ix_restrictions_subject_id", "subject_id"),
    )
