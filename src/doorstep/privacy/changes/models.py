"""``policy_notices``: which subscriber was told of which major version, when, and how.

One row per (version, subject), written in the same transaction as the messages
it queues: the notification run (:mod:`.fanout`) skips every subscriber that
already has a row, so a run that dies half-way resumes without telling anyone
twice (CPE-VII.3, CORP-8.2).  Rows go with the subject.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.retention.binding import Binding, ErasedWithSubject, retention_info
from doorstep.vocabulary import LegalBasis, personal

_CLAUSES = ("CPE-VII.3",)


def _notice(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["notification.delivery", "privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=_CLAUSES,
        description=description,
    )


class PolicyNotice(Base):
    """That ``subject_id`` was sent the notice of major version ``version_id``."""

    __tablename__ = "policy_notices"
    __table_args__ = (
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )

    version_id: Mapped[str] = mapped_column(
        sa.ForeignKey("policy_versions.id"),
        primary_key=True,
        info=_notice("user.privacy_preferences", "The version the notice was about."),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=_notice("user.unique_id.pseudonymous", "Who was told; a random id."),
    )
    channels: Mapped[str] = mapped_column(
        sa.Text,
        info=_notice(
            "user.privacy_preferences", "The channels used: email, sms (comma-separated)."
        ),
    )
    notified_at: Mapped[datetime] = mapped_column(
        info=_notice("user.privacy_preferences", "When the messages were queued.")
    )
