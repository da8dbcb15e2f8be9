"""Manual deregistration requests: the ``account_deregistration_requests`` table.

A request made through customer service (CPE-V.5.b), with its deadline on the
desk's business calendar (:mod:`doorstep.accounts.business_days`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.vocabulary import LegalBasis, not_personal, personal


class DeregistrationOutcome(StrEnum):
    """How a manual deregistration request was answered."""

    COMPLETED = "completed"
    REFUSED = "refused"


def _request(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="deregistration_request",
        clauses=["CPE-V.5.b"],
        description=description,
    )


class DeregistrationRequest(Base):
    """A deregistration asked for through customer service, with its deadline."""

    __tablename__ = "account_deregistration_requests"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, info=not_personal("random id of the request", export=True)
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"),
        index=True,
        info=_request("user.unique_id.pseudonymous", "The account to close."),
    )
    received_at: Mapped[datetime] = mapped_column(
        info=_request("user.account", "When customer service received the request.")
    )
    due_at: Mapped[datetime] = mapped_column(
        info=not_personal(
            "the answer's deadline, from received_at and the business calendar", export=True
        )
    )
    closed_at: Mapped[datetime | None] = mapped_column(
        info=_request("user.account", "When the request was answered.")
    )
    outcome: Mapped[DeregistrationOutcome | None] = mapped_column(
        enum_type(DeregistrationOutcome, "account_deregistration_outcome"),
        info=not_personal("completed or refused", export=True),
    )
    refusal_reason: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("a reason code such as devices_bound", export=True)
    )

    __table_args__ = (
        sa.CheckConstraint("(closed_at IS NULL) = (outcome IS NULL)", name="outcome_dated"),
        sa.CheckConstraint(
            "refusal_reason IS NULL OR refusal_reason ~ '^[a-z_]{1,64}$'", name="reason_is_code"
        ),
    )
