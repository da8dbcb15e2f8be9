"""The outbox: one row per notification, from "queued" to "sent", "failed" or "cancelled".

A row is written in the transaction of the change that causes it, together with
the delivery job (:mod:`doorstep.notify.services`), so a rolled-back change
sends nothing and a committed one is delivered eventually.

What a row holds about a person, and for how long:

* the recipient: exactly one of ``email``, ``phone`` (E.164) or ``device_token``,
  the one that matches ``channel`` (a CHECK constraint);
* the content: not the rendered text but the template key, the locale and the
  template's parameters (``params``: one-time codes, links with tokens).  The
  text is rendered again at delivery.  ``params`` is blanked (NULL) as soon as
  the message is sent (or after ``notify_purge_after_seconds``), and that of a
  failed message after ``notify_failed_keep_hours``;
* the whole row is deleted by the retention rule ``outbox_messages`` (declared
  in the policy pack; the retention sweeps execute it).

``last_error`` is a short code (``smtp_unavailable``, ``recipient_refused``),
never a server's reply text, which can quote the address: a CHECK constraint
holds it to ``[a-z0-9_.-]``.  ``subject_id`` is deliberately not a foreign key
(decision 0010): a message to a guardian who has no account yet, or the
confirmation that an account was deleted, must not depend on the subject row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.vocabulary import LegalBasis, not_personal, personal

#: Retention rule of the outbox in the policy pack (datamap.yaml).
RETENTION_RULE = "outbox_messages"
#: The purpose every personal element of the outbox serves.
PURPOSE = "notification.delivery"
_CLAUSES = ("CPE-I.i.1.a",)


class Channel(StrEnum):
    """How a message travels."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class Status(StrEnum):
    """Where a message is in its life; ``queued`` is the only state that is not final."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The column that holds the recipient of each channel.
RECIPIENT_COLUMN = {Channel.EMAIL: "email", Channel.SMS: "phone", Channel.PUSH: "device_token"}


def _personal(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=[PURPOSE],
        legal_basis=LegalBasis.CONTRACT,
        retention=RETENTION_RULE,
        clauses=_CLAUSES,
        description=description,
    )


class OutboxMessage(Base):
    """One notification to one recipient."""

    __tablename__ = "outbox"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        info=not_personal(
            "random id of the message; job arguments and audit records name it", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        index=True,
        info=_personal("user.unique_id.pseudonymous", "Whom the message is about; a random id."),
    )
    channel: Mapped[Channel] = mapped_column(
        enum_type(Channel, "outbox_channel"), info=not_personal("email, sms or push", export=True)
    )
    template: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal(
            "key of a template from a fixed catalogue (account.verify_email)", export=True
        ),
    )
    locale: Mapped[str] = mapped_column(
        sa.Text, info=_personal("user.demographic.language", "The language the message is in.")
    )
    email: Mapped[str | None] = mapped_column(
        sa.Text, info=_personal("user.contact.email", "Recipient of an e-mail.")
    )
    phone: Mapped[str | None] = mapped_column(
        sa.Text, info=_personal("user.contact.phone_number", "Recipient of an SMS (E.164).")
    )
    device_token: Mapped[str | None] = mapped_column(
        sa.Text, info=_personal("user.device.device_id", "Push token of the recipient's app.")
    )
    params: Mapped[dict[str, object] | None] = mapped_column(
        JSONB(none_as_null=True),  # None is SQL NULL (purged), never JSON 'null'
        info=_personal(
            "user.authorization.credentials",
            "The template's parameters (one-time codes, links with tokens); blanked once sent.",
        ),
    )
    status: Mapped[Status] = mapped_column(
        enum_type(Status, "outbox_status"),
        server_default=Status.QUEUED.value,
        info=not_personal("queued, sent, failed or cancelled", export=True),
    )
    attempts: Mapped[int] = mapped_column(
        sa.Integer,
        server_default="0",
        info=not_personal("delivery attempts made so far", export=True),
    )
    last_error: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal("an error code such as smtp_unavailable; never reply text", export=True),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=not_personal(
            "when the message was queued; identifies nobody without subject_id", export=True
        )
    )
    sent_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when the message was handed to the provider", export=True)
    )
    finished_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when the message reached sent, failed or cancelled", export=True)
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(channel = 'email') = (email IS NOT NULL) AND (channel = 'sms') = (phone IS NOT NULL)"
            " AND (channel = 'push') = (device_token IS NOT NULL)",
            name="one_recipient",
        ),
        sa.CheckConstraint("status <> 'queued' OR params IS NOT NULL", name="queued_has_content"),
        sa.CheckConstraint(
            "(status = 'queued') = (finished_at IS NULL)", name="finished_when_final"
        ),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_has_time"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("last_error ~ '^[a-z0-9_.-]{1,64}$'", name="last_error_is_code"),
        sa.Index("ix_outbox_created_at", "created_at"),
        sa.Index(
            "ix_outbox_purge",
            "finished_at",
            postgresql_where=sa.text("params IS NOT NULL AND status <> 'queued'"),
        ),
    )
