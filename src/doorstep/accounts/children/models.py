"""Children's guardians: the ``account_guardians`` table.

A guardian is a data subject of their own (``next_of_kin``); their data is
registration data of the child's account, deleted when it is deregistered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts.account.datamap import registration
from doorstep.core.models import Base, enum_type


class GuardianDecision(StrEnum):
    """What the guardian answered."""

    GRANTED = "granted"
    REFUSED = "refused"


def _guardian(category: str, description: str) -> dict[str, object]:
    return registration(
        category,
        description,
        purposes=("account.child_protection", "privacy.rights"),
        clauses=("CPE-VI.1", "CORP-6.1"),
        subject="next_of_kin",
    )


class Guardian(Base):
    """The parent or guardian a child named at sign-up; a data subject of their own."""

    __tablename__ = "account_guardians"

    id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        primary_key=True,
        info=_guardian("user.unique_id.pseudonymous", "The guardian's subject id."),
    )
    child_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        unique=True,
        info=_guardian("user.unique_id.pseudonymous", "The child's account."),
    )
    email: Mapped[str | None] = mapped_column(
        sa.Text, info=_guardian("user.contact.email", "Where the consent link was sent.")
    )
    token_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=_guardian("user.authorization.credentials", "SHA-256 of the link's token id."),
    )
    token_expires_at: Mapped[datetime] = mapped_column(
        info=_guardian("user.account", "When the link stops working.")
    )
    created_at: Mapped[datetime] = mapped_column(
        info=_guardian("user.account", "When the guardian was asked.")
    )
    decided_at: Mapped[datetime | None] = mapped_column(
        info=_guardian("user.account", "When the guardian answered (the link is then used up).")
    )
    decision: Mapped[GuardianDecision | None] = mapped_column(
        enum_type(GuardianDecision, "account_guardian_decision"),
        info=_guardian("user.privacy_preferences", "granted or refused."),
    )
    consent_event_id: Mapped[uuid.UUID | None] = mapped_column(
        info=_guardian("user.unique_id.pseudonymous", "The consent ledger event of the answer."),
    )

    __table_args__ = (
        sa.CheckConstraint("(decided_at IS NULL) = (decision IS NULL)", name="decision_dated"),
    )
