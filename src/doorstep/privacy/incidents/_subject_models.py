"""Whom an incident affects and what they were told: the two personal incident tables.

:class:`AffectedSubject` holds a subject's id, jurisdiction and notice status;
:class:`Delivery` one notice by one channel and how it went (the outbox holds
the address until it is sent).  Both keep their rows five years (the pack's
``incident_record`` rule), the evidence that everyone affected was told in
time.  Re-exported by :mod:`.models`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.incidents._columns import (
    INCIDENT_ID,
    RETENTION_RULE,
    Channel,
    DeliveryStatus,
    NoticeStatus,
    about,
    incident_fk,
    one_of,
    record,
)
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info


class AffectedSubject(Base):
    """A subject the incident affects, its jurisdiction and whether it was told."""

    __tablename__ = "incident_subjects"

    incident_id: Mapped[uuid.UUID] = mapped_column(
        incident_fk(), primary_key=True, info=about(INCIDENT_ID)
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        info=record("user.unique_id.pseudonymous", "A subject the incident affects."),
    )
    jurisdiction: Mapped[str] = mapped_column(
        sa.Text,
        info=record(
            "user.location.imprecise",
            "The jurisdiction whose authority and clock apply (from the mobile number's "
            "country code, or the operator's home jurisdiction).",
        ),
    )
    status: Mapped[str] = mapped_column(
        sa.Text, info=record("user.privacy_preferences", "pending, notified or unreachable.")
    )
    added_at: Mapped[datetime] = mapped_column(
        info=record("user.privacy_preferences", "When the subject was found affected.")
    )
    notified_at: Mapped[datetime | None] = mapped_column(
        info=record("user.privacy_preferences", "When the notice was queued to every channel.")
    )

    __table_args__ = (
        one_of("status", NoticeStatus, "status_known"),
        sa.Index("ix_incident_subjects_pending", "incident_id", "status"),
        sa.Index("ix_incident_subjects_subject_id", "subject_id"),
        {"info": retention_info(Binding(RETENTION_RULE, DELETE, trigger="added_at"))},
    )


class Delivery(Base):
    """One notice to one subject by one channel, and how it went (CPE-IV.7.b)."""

    __tablename__ = "incident_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=about("random id of the delivery")
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(incident_fk(), info=about(INCIDENT_ID))
    subject_id: Mapped[uuid.UUID] = mapped_column(
        info=record("user.unique_id.pseudonymous", "Whom the notice went to.")
    )
    channel: Mapped[str] = mapped_column(
        sa.Text, info=record("user.privacy_preferences", "email, sms, push, letter or phone_call.")
    )
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(
        info=about("the outbox message that carries it (none for a desk task)")
    )
    status: Mapped[str] = mapped_column(
        sa.Text,
        info=record("user.privacy_preferences", "queued, sent, failed, task_open or done."),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=record("user.privacy_preferences", "When the notice was queued or the task opened.")
    )
    finished_at: Mapped[datetime | None] = mapped_column(
        info=record("user.privacy_preferences", "When it was sent, failed or the task closed.")
    )

    __table_args__ = (
        one_of("channel", Channel, "channel_known"),
        one_of("status", DeliveryStatus, "status_known"),
        sa.UniqueConstraint(
            "incident_id", "subject_id", "channel", name="uq_incident_deliveries_once"
        ),
        sa.Index("ix_incident_deliveries_subject_id", "subject_id"),
        sa.Index("ix_incident_deliveries_outbox_id", "outbox_id"),
        {"info": retention_info(Binding(RETENTION_RULE, DELETE, trigger="created_at"))},
    )
