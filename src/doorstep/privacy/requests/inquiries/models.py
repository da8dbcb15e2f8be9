"""The table of inquiries: one row per privacy question, its owner, its clock, its answer.

Every inquiry belongs to a subject: the account's when the question comes from
one (signed in, or an address an account holds), otherwise a subject of its own,
of kind ``correspondent``, made for the inquiry (decision 0026).  What the
person wrote — the address to answer, the subject line and the question — is
sealed with that subject's key, so it is read only by the desk through the
purpose gate and is crypto-shredded with the subject.  Nothing else about the
sender is kept (no headers, no attachments).  Rows go with their subject and are
deleted a year after receipt (rule ``privacy_inquiry``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.privacy.datamap.record_sources import source_column_info
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal

#: Retention rule of inquiries in the policy pack (datamap.yaml).
RETENTION_RULE = "privacy_inquiry"
PURPOSE = "privacy.rights"
_CLAUSES = ("CPE-IX.2", "CPE-IX.1")


class InquiryChannel(StrEnum):
    """Where the question came from."""

    APP = "app"
    WEB_FORM = "web_form"
    EMAIL = "email"
    #: Recorded by the privacy desk: a call to the hotline, a question at a brand activity.
    STAFF = "staff"


#: The collection points an inquiry is collected at (CORP-1.1), and those each channel
#: implies; a question staff record names its point (hotline, brand activity).
QUESTION_APP = "privacy_question_app"
QUESTION_FORM = "privacy_question_form"
INBOX = "privacy_inbox"
HOTLINE = "hotline"
BRAND_ACTIVITY = "brand_activity"
CHANNEL_SOURCES = {
    InquiryChannel.APP: QUESTION_APP,
    InquiryChannel.WEB_FORM: QUESTION_FORM,
    InquiryChannel.EMAIL: INBOX,
}


def _inq(category: str, description: str, *, secret: bool = False) -> dict[str, object]:
    return personal(
        category,
        purposes=[PURPOSE],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RETENTION_RULE,
        clauses=_CLAUSES,
        secret=secret,
        description=description,
    )


def _when(description: str) -> dict[str, object]:
    return _inq("user.privacy_preferences", description)


class Inquiry(Base):
    """One privacy question and its 30-day clock."""

    __tablename__ = "inquiries"
    __table_args__ = (
        {"info": retention_info(Binding(RETENTION_RULE, DELETE, trigger="received_at"))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random reference of the inquiry; personal only through subject_id", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        index=True,
        info=_inq("user.unique_id.pseudonymous", "Whose question it is."),
    )
    channel: Mapped[InquiryChannel] = mapped_column(
        enum_type(InquiryChannel, "inquiry_channel"), info=_when("How the question reached us.")
    )
    queue: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal(
            "key of the department queue that owns the inquiry (CPE-IX.1)", export=True
        ),
    )
    reply_to: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=_inq(
            "user.contact.email",
            "The address the answer goes to (none: the account's own), encrypted.",
            secret=True,
        ),
    )
    title: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=_inq("user", "The subject line of the question, encrypted.", secret=True),
    )
    body: Mapped[bytes] = mapped_column(
        sa.LargeBinary, info=_inq("user", "The question as written, encrypted.", secret=True)
    )
    received_at: Mapped[datetime] = mapped_column(info=_when("When the question was received."))
    due_at: Mapped[datetime] = mapped_column(
        index=True, info=_when("When the answer is due (received + 30 days).")
    )
    reminded_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the privacy desk was reminded of the deadline.")
    )
    escalated_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the unanswered question was flagged overdue.")
    )
    answered_at: Mapped[datetime | None] = mapped_column(info=_when("When the answer was sent."))
    answered_by: Mapped[str | None] = mapped_column(
        sa.Text, info=_inq("user.unique_id.pseudonymous", "The staff actor who answered.")
    )
    source: Mapped[str] = mapped_column(
        sa.Text,
        info=source_column_info(QUESTION_APP, QUESTION_FORM, INBOX, HOTLINE, BRAND_ACTIVITY),
    )
