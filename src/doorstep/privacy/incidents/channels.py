"""Writing one batch's notices: the outbox messages, the delivery rows, the statuses, the log.

:func:`write_notices` queues the notice to every channel each subject has
(e-mail and SMS through the outbox, in the subscriber's language), or opens a
letter task on the desk for a subject with neither; writes one
:class:`~.models.Delivery` per subject and channel (unique: a subject is never
told twice by one channel); marks the subjects ``notified`` or
``unreachable``; and records one audit event per subject (ids and counts).  It
runs inside the batch's transaction (:func:`.fanout.notify_batch`), so all of
it commits or none does.  Reading the contact is the ``privacy.rights``
purpose, declared on ``accounts.email`` and ``accounts.phone``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.notify.services import queue_email, queue_sms
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import (
    PURPOSE,
    TASK_CHANNELS,
    Channel,
    Delivery,
    DeliveryStatus,
    NoticeStatus,
)
from doorstep.privacy.incidents.outcomes import ACTOR


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write_notices` did: subjects told, subjects only a desk task can reach,
    and outbox messages queued."""

    notified: list[uuid.UUID]
    unreachable: list[uuid.UUID]
    messages: int


def outbox_channels(channels: list[tuple[Channel, uuid.UUID | None]]) -> bool:
    """Whether any of ``channels`` went through the outbox."""
    return any(outbox_id is not None for _, outbox_id in channels)


def _channels_of(
    session: Session, ctx: IncidentContext, row: Any, template: str, params: dict[str, str]
) -> list[tuple[Channel, uuid.UUID | None]]:
    """Queue the notice to each of the subject's addresses; a letter task when it has none."""
    channels: list[tuple[Channel, uuid.UUID | None]] = []
    if row.email is not None:
        channels.append(
            (
                Channel.EMAIL,
                queue_email(
                    session,
                    subject_id=row.subject_id,
                    to=row.email,
                    template=template,
                    params=params,
                    clock=ctx.clock,
                    locale=row.language,
                ),
            )
        )
    if row.phone is not None:
        channels.append(
            (
                Channel.SMS,
                queue_sms(
                    session,
                    subject_id=row.subject_id,
                    to=row.phone,
                    template=template,
                    params=params,
                    clock=ctx.clock,
                    locale=row.language,
                ),
            )
        )
    if not channels:
        channels.append((Channel.LETTER, None))
    return channels


def write_notices(  # noqa: PLR0917 - the batch's parts, each needed
    session: Session,
    ctx: IncidentContext,
    incident_id: uuid.UUID,
    rows: Sequence[Any],
    params_for: Callable[[str], dict[str, str]],
    template: str,
    now: datetime,
) -> Written:
    """Notify each subject of ``rows`` (``subject_id``, ``email``, ``phone``, ``language``;
    locked by the caller) as the module says; ``params_for(language)`` gives the notice's
    template parameters in that language."""
    deliveries: list[dict[str, object]] = []
    notified: list[uuid.UUID] = []
    unreachable: list[uuid.UUID] = []
    for row in rows:
        channels = _channels_of(session, ctx, row, template, params_for(row.language))
        if outbox_channels(channels):
            notified.append(row.subject_id)
        else:
            unreachable.append(row.subject_id)
        for channel, outbox_id in channels:
            deliveries.append(
                {
                    "id": uuid.uuid4(),
                    "incident_id": incident_id,
                    "subject_id": row.subject_id,
                    "channel": channel.value,
                    "outbox_id": outbox_id,
                    "status": (
                        DeliveryStatus.TASK_OPEN
                        if channel in TASK_CHANNELS
                        else DeliveryStatus.QUEUED
                    ).value,
                    "created_at": now,
                }
            )
        record(
            session,
            action="incident.notice_queued"
            if outbox_channels(channels)
            else "incident.letter_task_opened",
            actor=ACTOR,
            subject_id=row.subject_id,
            purpose=PURPOSE,
            element="accounts.email"
            if row.email is not None
            else ("accounts.phone" if row.phone else None),
            details={"incident": str(incident_id), "channels": len(channels)},
        )
    if deliveries:
        session.execute(sa.insert(Delivery), deliveries)
    for status, subjects in (
        (NoticeStatus.NOTIFIED, notified),
        (NoticeStatus.UNREACHABLE, unreachable),
    ):
        if subjects:
            session.execute(
                sa.text(
                    "UPDATE incident_subjects SET status = :s, notified_at = "
                    "CASE WHEN :s = 'notified' THEN CAST(:now AS timestamptz) END "
                    "WHERE incident_id = :i AND subject_id = ANY(:ids)"
                ),
                {"s": status.value, "now": now, "i": incident_id, "ids": subjects},
            )
    messages = sum(1 for item in deliveries if item["outbox_id"] is not None)
    return Written(notified, unreachable, messages)
