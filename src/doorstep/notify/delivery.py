"""Deliver one outbox message: exactly once from Doorstep's side, whatever the job does.

:func:`deliver` takes the message's row with ``SELECT … FOR UPDATE SKIP LOCKED``
and acts only while it is ``queued``.  It hands the message to the channel's
adapter while holding the row lock and writes the outcome in the same
transaction, so:

* a second job for the same message (a duplicate, a retry that overtook the
  first run, ``doorstep notify retry`` twice) finds the row locked or no longer
  queued and does nothing;
* a passing failure (the SMTP server is down) records the attempt and the error
  code, commits, and raises :class:`DeliveryDeferred`, so the job system
  retries with backoff; on the job's last attempt the message ends ``failed``;
* a permanent failure (the recipient is refused) ends the message ``failed``
  at once, with its code, audited.

Before it leaves, a message passes the sharing gate when the composition root
installed it (``Adapters.release``): the processor carrying the channel must hold
an active agreement, the parameters outside its minimal set are withheld, and
the disclosure is registered; a refusal ends the message ``failed``
(``sharing_refused``), audited.

The one duplicate no database can rule out is a crash between the provider's
"accepted" and our commit; the e-mail's ``Message-ID`` is the outbox id, so a
receiver can recognise it.  We accept that (at-least-once at the provider)
because holding a "sending" state across the crash would lose the message
instead.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from enum import StrEnum

import sqlalchemy as sa

from doorstep.core.clock import Clock
from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, outlet_of
from doorstep.notify.catalogue import default_templates
from doorstep.notify.exceptions import DeliveryError, TemplateError, UnknownTemplateError
from doorstep.notify.messages import Email, Push, Sms
from doorstep.notify.models import Channel, OutboxMessage, Status
from doorstep.notify.services import DELIVER_TASK, audit_message

log = logging.getLogger("doorstep.notify")

#: The audit actor of deliveries.
ACTOR = f"system:{DELIVER_TASK}"


class Outcome(StrEnum):
    """What one delivery run did."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # not queued any more, gone, or being delivered by another worker


class DeliveryDeferred(Exception):
    """Raised after a passing failure was recorded, so the job is retried; text is the code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _send(
    message: OutboxMessage, params: Mapping[str, object], adapters: Adapters, clock: Clock
) -> None:
    """Render the message and hand it to its channel's adapter (raises DeliveryError)."""
    try:
        rendered = default_templates().render(message.template, params, locale=message.locale)
    except UnknownTemplateError:
        raise DeliveryError("template_unknown", permanent=True) from None
    except TemplateError:
        raise DeliveryError("template_params", permanent=True) from None
    if message.channel is Channel.EMAIL:
        assert message.email is not None  # the one_recipient constraint
        adapters.mailer.send(
            Email(
                outbox_id=message.id,
                template=message.template,
                date=clock.now(),
                to=message.email,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
            )
        )
    elif message.channel is Channel.SMS:
        assert message.phone is not None
        adapters.sms.send(
            Sms(
                outbox_id=message.id,
                template=message.template,
                to=message.phone,
                text=rendered.text,
            )
        )
    else:
        assert message.device_token is not None
        adapters.push.send(
            Push(
                outbox_id=message.id,
                template=message.template,
                device_token=message.device_token,
                title=rendered.subject,
                body=rendered.text,
            )
        )


def deliver(
    runtime: Runtime, outbox_id: uuid.UUID, adapters: Adapters, *, final_attempt: bool = False
) -> Outcome:
    """Deliver the message ``outbox_id`` if it is still queued; see the module docstring.

    ``final_attempt`` makes a passing failure final (the job has no retry left).
    Raises :class:`DeliveryDeferred` after recording a passing failure.
    """
    clock = runtime.clock
    where = {"outbox_id": str(outbox_id)}
    with runtime.sessions.begin() as session:
        message = session.execute(
            sa.select(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if message is None or message.status is not Status.QUEUED:
            log.info(
                "notification not delivered: not queued (or in delivery elsewhere)", extra=where
            )
            return Outcome.SKIPPED
        message.attempts += 1
        kind = {**where, "channel": message.channel.value, "template": message.template}
        try:
            params: Mapping[str, object] = message.params or {}
            if adapters.release is not None:  # the sharing gate (decision 0030)
                params = adapters.release(session, message, clock)
            _send(message, params, adapters, clock)
        except DeliveryError as exc:
            message.last_error = exc.code
            if not (exc.permanent or final_attempt):
                log.warning(
                    "notification deferred",
                    extra={**kind, "error": exc.code, "attempt": message.attempts},
                )
                deferred = exc.code
            else:
                message.status = Status.FAILED
                message.finished_at = clock.now()
                session.flush()
                audit_message(
                    session, message, "notify.failed", actor=ACTOR, outcome="failed", error=exc.code
                )
                log.warning("notification failed", extra={**kind, "error": exc.code})
                return Outcome.FAILED
        else:
            now = clock.now()
            message.status = Status.SENT
            message.sent_at = message.finished_at = now
            if runtime.settings.notify_purge_after_seconds == 0:
                message.params = None
            session.flush()
            audit_message(session, message, "notify.sent", actor=ACTOR)
            adapter = {
                Channel.EMAIL: adapters.mailer,
                Channel.SMS: adapters.sms,
                Channel.PUSH: adapters.push,
            }[message.channel]
            log.info(
                "notification %s", outlet_of(adapter), extra={**kind, "attempt": message.attempts}
            )
            return Outcome.SENT
    raise DeliveryDeferred(deferred)
