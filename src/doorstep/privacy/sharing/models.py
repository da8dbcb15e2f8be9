"""The disclosure register and the notices sent to recipients (CPE-V.3.c, CPE-V.2.b).

* ``disclosures`` — every time a subject's data went to a recipient of the pack:
  which elements, for which purpose, and whether the recipient holds it on a
  ground of its own (a legal exception, or the subject's own authorisation
  given to it), in which case it is not asked to erase.  Rows go with the
  subject (they are its data: an access export lists them).
* ``recipient_notices`` — the erasure and correction notices that followed: to
  whom, for which request, sent, skipped (with the reason) or confirmed.
  They outlive the subject as evidence (rule ``subject_request``), holding the
  pseudonymous subject id only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
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


class DisclosureBasis(StrEnum):
    """Why a recipient holds the data, which decides whether it is asked to erase it."""

    #: On the operator's behalf: asked to erase and correct.
    OPERATOR = "operator"
    #: A legal obligation of the recipient's own keeps the data: not asked to erase.
    LEGAL_EXCEPTION = "legal_exception"
    #: The subject authorised the recipient independently: not asked to erase.
    INDEPENDENT_AUTHORIZATION = "independent_authorization"


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
