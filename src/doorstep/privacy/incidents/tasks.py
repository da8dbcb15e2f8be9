"""Jobs of the incidents area: the notification fan-out and the hourly obligations sweep.

* ``incidents.notify(incident_id)`` — enqueued by :func:`~.fanout.start`;
  one transaction per batch (:func:`~.fanout.notify_batch`) until no pending
  subject is left.  Killed half-way, its retry starts from the first batch
  that did not commit: no subject is told twice.
* ``incidents.sweep`` — every hour: delivery outcomes, reminders before an
  obligation's clock runs out, the overdue alert (:func:`~.reports.sweep`),
  and the notices of jurisdictions whose legal hold lapsed.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from doorstep.jobs.enqueue import enqueue
from doorstep.jobs.registry import JobContext, job, periodic
from doorstep.privacy.incidents.fanout import notify_batch
from doorstep.privacy.incidents.outcomes import NOTIFY_TASK

SWEEP_TASK = "incidents.sweep"


@job(NOTIFY_TASK, max_attempts=10)
def notify(ctx: JobContext, incident_id: str) -> int:
    """Notify every pending subject of the incident, batch by batch; return how many."""
    from doorstep.privacy.incidents.context import IncidentContext
    from doorstep.services import services_for

    runtime = ctx.runtime
    context = IncidentContext.of(services_for(runtime))
    total = 0
    while True:
        with runtime.sessions.begin() as session:
            batch = notify_batch(session, context, uuid.UUID(incident_id))
        total += batch.notified + batch.unreachable
        if batch.empty:
            return total


@periodic(SWEEP_TASK, cron="13 * * * *")
def sweep_obligations(ctx: JobContext, timestamp: int) -> int:
    """Remind, alert and resume lapsed holds; return how many obligations changed."""
    from doorstep.privacy.incidents.context import IncidentContext
    from doorstep.privacy.incidents.reports import sweep
    from doorstep.services import services_for

    runtime = ctx.runtime
    context = IncidentContext.of(services_for(runtime))
    with runtime.sessions.begin() as session:
        done = sweep(session, context)
        lapsed = session.execute(
            sa.text(
                "SELECT DISTINCT s.incident_id FROM incident_subjects s "
                "JOIN incidents i ON i.id = s.incident_id "
                "WHERE s.status = 'pending' AND i.status = 'open' "
                "AND i.notify_started_at IS NOT NULL"
            )
        ).scalars()
        for incident_id in lapsed:
            enqueue(session, NOTIFY_TASK, lock=f"incident:{incident_id}", incident_id=incident_id)
    return done["reminded"] + done["overdue"] + done["met"]
