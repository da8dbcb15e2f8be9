"""The disclosure register, the notices sent to recipients, and the grounds of sharing.

* ``disclosures`` — every time a subject's data went to a recipient of the pack:
  which elements, for which purpose, and whether the recipient holds it on a
  ground of its own (a legal exception, or the subject's own authorisation
  given to it), in which case it is not asked to erase.  Rows go with the
  subject (they are its data: an access export lists them).
* ``recipient_notices`` — the erasure and correction notices that followed: to
  whom, for which request, sent, skipped (with the reason) or confirmed.
  They outlive the subject as evidence (rule ``subject_request``), holding the
  pseudonymous subject id only.
* ``recipient_consents`` — a subject's explicit grants and withdrawals of sharing
  with one recipient for one purpose (CPE-III.1.a, III.2.a); the latest decides.
* ``legal_demands`` — legal demands with authority, legal reference, scope and
  approver (CPE-III.1.b, CORP-3.5); evidence that outlives the subject.
* ``controller_changes`` — a change of controller and the policy version its
  successor stays bound to (CPE-III.2.b).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.privacy.retention.binding import (
    DELETE,
    Binding,
    ErasedWithSubject,
    retention_info,
)
from doorstep.vocabulary import LegalBasis, not_personal, personal

#: Retention rule of legal demands in the policy pack.
DEMAND_RULE = "legal_demand"


class DisclosureBasis(StrEnum):
    """Why a recipient holds the data, which decides whether it is asked to erase it."""

    #: On the operator's behalf: asked to erase and correct.
    OPERATOR = "operator"
    #: A legal obligation of the recipient's own keeps the data: not asked to erase.
    LEGAL_EXCEPTION = "legal_exception"
    #: The subject authorised the recipient independently: not asked to erase.
    INDEPENDENT_AUTHORIZATION = "independent_authorization"


class Ground(StrEnum):
    """The ground a flow through the sharing gate relied on (decision 0030)."""

    #: The subject's explicit consent for this recipient and purpose (CPE-III.1.a, III.2.a).
    CONSENT = "consent"
    #: A processor acting under a data-processing agreement.
    PROCESSOR_CONTRACT = "processor_contract"
    #: A listed group entity with a recorded necessity (CORP-3.2).
    GROUP_NECESSITY = "group_necessity"
    #: A business partner's minimal necessary data for after-sales or transport (CORP-3.3).
    PARTNER_NECESSITY = "partner_necessity"
    #: A recorded legal demand (CPE-III.1.b, CORP-3.5).
    LEGAL_DEMAND = "legal_demand"


class ConsentDecision(StrEnum):
    """A subject's decision on sharing with one recipient for one purpose."""

    GRANT = "grant"
    WITHDRAW = "withdraw"


class NoticeKind(StrEnum):
    """What a recipient is asked to do."""

    ERASURE = "erasure"
    CORRECTION = "correction"


class NoticeStatus(StrEnum):
    """Where a recipient notice stands."""

    SENT = "sent"
    #: The recipient has no contact address in the pack: the desk sends it by hand.
    MANUAL = "manual"
    SKIPPED = "skipped"
    CONFIRMED = "confirmed"


def _disclosed(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=("CPE-V.3.c", "CPE-V.2.b"),
        description=description,
    )


def _noticed(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="subject_request",
        clauses=("CPE-V.3.c", "CPE-V.2.b"),
        description=description,
    )


def _consented(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["consent.management", "privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=("CPE-III.1.a",),
        description=description,
    )


def _demanded(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=DEMAND_RULE,
        clauses=("CPE-III.1.b",),
        description=description,
    )


class Disclosure(Base):
    """One disclosure of a subject's data to a recipient."""

    __tablename__ = "disclosures"
    __table_args__ = (
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the disclosure", export=True),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        index=True,
        info=_disclosed("user.unique_id.pseudonymous", "Whose data was disclosed."),
    )
    recipient: Mapped[str] = mapped_column(
        sa.Text, info=_disclosed("user.privacy_preferences", "Who received it (a pack key).")
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=_disclosed("user.privacy_preferences", "For which purpose (a pack key).")
    )
    elements: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=_disclosed("user.privacy_preferences", "Which elements (table.column) it held."),
    )
    basis: Mapped[DisclosureBasis] = mapped_column(
        enum_type(DisclosureBasis, "disclosure_basis"),
        info=_disclosed("user.privacy_preferences", "Why the recipient holds it."),
    )
    disclosed_at: Mapped[datetime] = mapped_column(
        info=_disclosed("user.privacy_preferences", "When.")
    )
    ground: Mapped[Ground | None] = mapped_column(
        enum_type(Ground, "sharing_ground"),
        info=_disclosed(
            "user.privacy_preferences",
            "The ground the sharing gate let it through on (empty for a disclosure recorded "
            "by hand).",
        ),
    )
    ground_ref: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal(
            "id of the consent decision or legal demand the disclosure relied on", export=True
        )
    )


class RecipientNotice(Base):
    """An erasure or correction notice to a recipient, and what became of it."""

    __tablename__ = "recipient_notices"
    __table_args__ = (
        {"info": retention_info(Binding("subject_request", DELETE, trigger="created_at"))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the notice", export=True),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        index=True,
        info=_noticed("user.unique_id.pseudonymous", "The subject the notice is about."),
    )
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("reference of the request the notice follows", export=True)
    )
    recipient: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a recipient key of the policy pack", export=True)
    )
    kind: Mapped[NoticeKind] = mapped_column(
        enum_type(NoticeKind, "recipient_notice_kind"),
        info=not_personal("erasure or correction", export=True),
    )
    status: Mapped[NoticeStatus] = mapped_column(
        enum_type(NoticeStatus, "recipient_notice_status"),
        info=not_personal("sent, manual, skipped or confirmed", export=True),
    )
    skip_reason: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the disclosure basis that exempts the recipient", export=True)
    )
    created_at: Mapped[datetime] = mapped_column(
        info=_noticed("user.privacy_preferences", "When the notice was issued.")
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(
        info=_noticed("user.privacy_preferences", "When the recipient confirmed.")
    )


class RecipientConsent(Base):
    """A subject's explicit decision on sharing with one recipient for one purpose.

    Append-only: the latest decision per (recipient, purpose) is in force.
    """

    __tablename__ = "recipient_consents"
    __table_args__ = (
        sa.Index(
            "ix_recipient_consents_subject", "subject_id", "recipient", "purpose", "decided_at"
        ),
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the decision", export=True),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        info=_consented("user.unique_id.pseudonymous", "Who decided."),
    )
    recipient: Mapped[str] = mapped_column(
        sa.Text, info=_consented("user.privacy_preferences", "For which recipient (a pack key).")
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=_consented("user.privacy_preferences", "For which purpose (a pack key).")
    )
    decision: Mapped[ConsentDecision] = mapped_column(
        enum_type(ConsentDecision, "recipient_consent_decision"),
        info=_consented("user.privacy_preferences", "grant or withdraw."),
    )
    decided_at: Mapped[datetime] = mapped_column(
        info=_consented("user.privacy_preferences", "When the decision was made.")
    )


class LegalDemand(Base):
    """A legal demand for a subject's data: authority, legal reference, scope and approver.

    No foreign key to ``subjects``: the demand outlives an erasure as evidence of
    what was disclosed and why (rule ``legal_demand``).
    """

    __tablename__ = "legal_demands"
    __table_args__ = (
        sa.Index("ix_legal_demands_subject_id", "subject_id"),
        {"info": retention_info(Binding(DEMAND_RULE, DELETE, trigger="recorded_at"))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random reference of the demand", export=True),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        info=_demanded("user.unique_id.pseudonymous", "Whose data the authority demanded.")
    )
    recipient: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the recipient key of the pack it goes to", export=True)
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the purpose key of the pack it serves", export=True)
    )
    authority: Mapped[str] = mapped_column(
        sa.Text, info=_demanded("user", "The authority that demanded the data.")
    )
    legal_reference: Mapped[str] = mapped_column(
        sa.Text, info=_demanded("user", "The law or legal process and its reference.")
    )
    scope: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=not_personal("the data-map elements in scope (table.column)", export=True),
    )
    approved_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff actor who approved it (staff:<id>)", export=True)
    )
    recorded_at: Mapped[datetime] = mapped_column(
        info=_demanded("user.privacy_preferences", "When the demand was recorded.")
    )


class ControllerChange(Base):
    """A change of controller (merger, acquisition, liquidation) and the version it stays bound to.

    Nothing personal: the successor is an organisation, the recorder a staff actor.
    """

    __tablename__ = "controller_changes"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id of the change")
    )
    kind: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("merger, acquisition or liquidation")
    )
    successor: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the organisation that takes over the data")
    )
    successor_contact: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the successor's privacy contact (an organisation's address)")
    )
    effective_on: Mapped[date] = mapped_column(info=not_personal("when the successor takes over"))
    policy_version: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the policy version the successor stays bound to")
    )
    recorded_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who recorded it")
    )
    recorded_at: Mapped[datetime] = mapped_column(info=not_personal("when it was recorded"))
