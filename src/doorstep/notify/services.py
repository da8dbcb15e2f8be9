"""Queue notifications in the caller's transaction; inspect, retry, cancel and purge them.

    from doorstep.notify.services import queue_email, queue_sms, queue_push

    outbox_id = queue_email(session, subject_id=subject.id, to=address,
                            template="account.verify_email", params={"code": code},
                            clock=runtime.clock)

Each ``queue_*`` checks the recipient, renders the template once (an unknown
template, a missing or unexpected parameter raises here, at queue time), writes
the outbox row and enqueues :data:`DELIVER_TASK` with the outbox id only, all
on the caller's connection: if the caller's transaction rolls back nothing is
sent, and once it commits the message is delivered eventually (the job is
retried with backoff).  Services never commit.

Addresses, numbers, tokens and parameters never reach a log line, an error
message, a job argument or the audit trail; those carry the outbox id, the
channel and the template key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.jobs.enqueue import enqueue
from doorstep.notify.catalogue import default_templates
from doorstep.notify.exceptions import (
    InvalidRecipientError,
    MessageNotFoundError,
    MessageStateError,
)
from doorstep.notify.models import PURPOSE, RECIPIENT_COLUMN, Channel, OutboxMessage, Status
from doorstep.notify.templates import DEFAULT_LOCALE

__all__ = [
    "DELIVER_TASK",
    "MessageSummary",
    "audit_message",
    "cancel",
    "list_messages",
    "purge_content",
    "queue_email",
    "queue_push",
    "queue_sms",
    "retry",
]

#: The delivery job (declared in :mod:`doorstep.notify.tasks`).
DELIVER_TASK = "doorstep.notify.deliver"

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_TOKEN = re.compile(r"^[\x21-\x7e]{8,4096}$")


_RECIPIENT_RULES = {
    Channel.EMAIL: ("to", _EMAIL, 254, "email_address"),
    Channel.SMS: ("to", _E164, 16, "e164_phone_number"),
    Channel.PUSH: ("device_token", _TOKEN, 4096, "printable_token_8_to_4096"),
}


def _recipient(channel: Channel, value: object) -> str:
    field, pattern, longest, rule = _RECIPIENT_RULES[channel]
    if not isinstance(value, str) or len(value) > longest or not pattern.fullmatch(value):
        raise InvalidRecipientError(
            "the recipient is not valid", errors=[{"field": field, "rule": rule}]
        )
    return value


def _queue(
    session: Session,
    channel: Channel,
    *,
    subject_id: uuid.UUID,
    recipient: object,
    template: str,
    params: Mapping[str, str],
    clock: Clock,
    locale: str,
) -> uuid.UUID:
    if not isinstance(subject_id, uuid.UUID):
        raise InvalidRecipientError(
            "subject_id must be a UUID", errors=[{"field": "subject_id", "rule": "uuid"}]
        )
    address = _recipient(channel, recipient)
    default_templates().render(template, params, locale=locale)  # raises at queue time
    outbox_id = uuid.uuid4()
    session.execute(
        sa.insert(OutboxMessage).values(
            id=outbox_id,
            subject_id=subject_id,
            channel=channel,
            template=template,
            locale=locale,
            params=dict(params),
            created_at=clock.now(),
            **{RECIPIENT_COLUMN[channel]: address},
        )
    )
    enqueue(session, DELIVER_TASK, outbox_id=outbox_id)
    return outbox_id


def queue_email(
    session: Session,
    *,
    subject_id: uuid.UUID,
    to: str,
    template: str,
    params: Mapping[str, str],
    clock: Clock,
    locale: str = DEFAULT_LOCALE,
) -> uuid.UUID:
    """Queue an e-mail to ``to`` from ``template``; return the outbox id.

    Raises InvalidRecipientError, UnknownTemplateError or TemplateParamsError
    (naming the field and rule, never the value) before anything is written.
    """
    return _queue(
        session,
        Channel.EMAIL,
        subject_id=subject_id,
        recipient=to,
        template=template,
        params=params,
        clock=clock,
        locale=locale,
    )


def queue_sms(
    session: Session,
    *,
    subject_id: uuid.UUID,
    to: str,
    template: str,
    params: Mapping[str, str],
    clock: Clock,
    locale: str = DEFAULT_LOCALE,
) -> uuid.UUID:
    """Queue an SMS to ``to`` (E.164, ``+4915112345678``); return the outbox id."""
    return _queue(
        session,
        Channel.SMS,
        subject_id=subject_id,
        recipient=to,
        template=template,
        params=params,
        clock=clock,
        locale=locale,
    )


def queue_push(
    session: Session,
    *,
    subject_id: uuid.UUID,
    device_token: str,
    template: str,
    params: Mapping[str, str],
    clock: Clock,
    locale: str = DEFAULT_LOCALE,
) -> uuid.UUID:
    """Queue a push notification to the app with ``device_token``; return the outbox id."""
    return _queue(
        session,
        Channel.PUSH,
        subject_id=subject_id,
        recipient=device_token,
        template=template,
        params=params,
        clock=clock,
        locale=locale,
    )


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """What may be shown about a message: ids, names, counts and instants, no content."""

    id: uuid.UUID
    subject_id: uuid.UUID
    channel: Channel
    template: str
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    content_purged: bool


_SUMMARY_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.subject_id,
    OutboxMessage.channel,
    OutboxMessage.template,
    OutboxMessage.status,
    OutboxMessage.attempts,
    OutboxMessage.last_error,
    OutboxMessage.created_at,
    OutboxMessage.sent_at,
    OutboxMessage.params.is_(None).label("content_purged"),
)


def list_messages(
    session: Session,
    *,
    status: Status | None = None,
    subject_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[MessageSummary]:
    """The newest messages first, without recipients or content."""
    query = sa.select(*_SUMMARY_COLUMNS).order_by(OutboxMessage.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if subject_id is not None:
        query = query.where(OutboxMessage.subject_id == subject_id)
    return [MessageSummary(**row._asdict()) for row in session.execute(query)]


def _locked(session: Session, outbox_id: uuid.UUID) -> OutboxMessage:
    message = session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
    ).scalar_one_or_none()
    if message is None:
        raise MessageNotFoundError("there is no such message", outbox_id=str(outbox_id))
    return message


def retry(session: Session, outbox_id: uuid.UUID, *, actor: str) -> None:
    """Queue a failed message again (a fresh delivery job with fresh retries).

    Raises MessageNotFoundError, or MessageStateError when the message is not
    ``failed`` (``status``) or its content was already purged (``content_purged``).
    """
    message = _locked(session, outbox_id)
    if message.status is not Status.FAILED:
        raise MessageStateError(
            "only a failed message can be retried", outbox_id=str(outbox_id), status=message.status
        )
    if message.params is None:
        raise MessageStateError(
            "the message's content was purged; it cannot be sent again",
            outbox_id=str(outbox_id),
            status="content_purged",
        )
    message.status = Status.QUEUED
    message.finished_at = None
    session.flush()
    enqueue(session, DELIVER_TASK, outbox_id=outbox_id)
    audit_message(session, message, "notify.retried", actor=actor)


def cancel(session: Session, outbox_id: uuid.UUID, *, actor: str, clock: Clock) -> bool:
    """Cancel a queued message and blank its content; False if it was no longer queued."""
    message = _locked(session, outbox_id)
    if message.status is not Status.QUEUED:
        return False
    message.status = Status.CANCELLED
    message.finished_at = clock.now()
    message.params = None
    session.flush()
    audit_message(session, message, "notify.cancelled", actor=actor)
    return True


def purge_content(
    session: Session, *, now: datetime, sent_after: timedelta, failed_after: timedelta
) -> int:
    """Blank the content of final messages older than their period; return how many.

    Sent and cancelled messages lose ``params`` ``sent_after`` after they
    finished, failed ones ``failed_after`` after (they are kept that long so an
    operator can retry).  Set-based and idempotent.
    """
    final = OutboxMessage.status.in_([Status.SENT, Status.CANCELLED])
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            # the predicate of ix_outbox_purge, so the sweep reads only what it will blank
            OutboxMessage.params.is_not(None),
            OutboxMessage.status != Status.QUEUED,
            sa.or_(
                sa.and_(final, OutboxMessage.finished_at <= now - sent_after),
                sa.and_(
                    OutboxMessage.status == Status.FAILED,
                    OutboxMessage.finished_at <= now - failed_after,
                ),
            ),
        )
        .values(params=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def audit_message(
    session: Session,
    message: OutboxMessage,
    action: str,
    *,
    actor: str,
    outcome: str = "ok",
    error: str | None = None,
) -> None:
    """Record ``action`` on ``message`` in the audit trail: ids, channel, template, error code."""
    details: dict[str, str | int | bool | None] = {
        "outbox_id": str(message.id),
        "channel": message.channel.value,
        "template": message.template,
    }
    if error is not None:
        details["error"] = error
    record(
        session,
        action=action,
        actor=actor,
        subject_id=message.subject_id,
        purpose=PURPOSE,
        element=f"outbox.{RECIPIENT_COLUMN[message.channel]}",
        outcome=outcome,
        details=details,
    )
