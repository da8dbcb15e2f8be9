"""Jobs of the notify area: deliver one message; purge delivered content.

* ``doorstep.notify.deliver(outbox_id)`` — enqueued by ``queue_*`` with the
  change that causes it.  A passing failure is retried with exponential backoff
  (2, 4, 8 … 4096 seconds; :data:`DELIVERY_ATTEMPTS` attempts, about two
  hours and a quarter in all), then the message ends ``failed``.  The adapters are the
  process's (:func:`~doorstep.notify.adapters.adapters_of`: its shared services, built
  once from its settings; the demo puts its mailbox there).
* ``doorstep.notify.purge`` — every five minutes, blanks the content of sent and
  cancelled messages older than ``notify_purge_after_seconds`` (when it is not
  0, delivery blanks at once) and of failed ones older than
  ``notify_failed_keep_hours``.  Deleting whole rows is the retention rule
  ``outbox_messages``, executed by the retention sweeps.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext, job, periodic
from doorstep.notify.adapters import adapters_of
from doorstep.notify.delivery import deliver
from doorstep.notify.services import DELIVER_TASK, purge_content

log = logging.getLogger("doorstep.notify")

#: Attempts of one delivery job; the waits between them are 2, 4, … 4096 seconds.
DELIVERY_ATTEMPTS = 13
DELIVERY_BACKOFF_SECONDS = 2


@job(DELIVER_TASK, max_attempts=DELIVERY_ATTEMPTS, backoff_seconds=DELIVERY_BACKOFF_SECONDS)
def deliver_message(ctx: JobContext, outbox_id: str) -> str:
    """Deliver one outbox message (idempotent); return the outcome's name."""
    outcome = deliver(
        ctx.runtime,
        uuid.UUID(outbox_id),
        adapters_of(ctx.runtime),
        final_attempt=ctx.attempt >= DELIVERY_ATTEMPTS,
    )
    return outcome.value


def purge(runtime: Runtime) -> int:
    """Blank the content of final messages past their period (one transaction); return count."""
    settings = runtime.settings
    with runtime.sessions.begin() as session:
        count = purge_content(
            session,
            now=runtime.clock.now(),
            sent_after=timedelta(seconds=settings.notify_purge_after_seconds),
            failed_after=timedelta(hours=settings.notify_failed_keep_hours),
        )
    if count:
        log.info("notification content purged", extra={"count": count})
    return count


@periodic("doorstep.notify.purge", cron="*/5 * * * *")
def _purge_every_five_minutes(ctx: JobContext, timestamp: int) -> int:
    return purge(ctx.runtime)
