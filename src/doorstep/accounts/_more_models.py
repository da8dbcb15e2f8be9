"""The optional profile, children's guardians, and manual deregistration requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.accounts._declare import registration
from doorstep.core.models import Base, enum_type
from doorstep.privacy.datamap import LegalBasis, not_personal, personal


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
