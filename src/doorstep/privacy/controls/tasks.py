"""Jobs of the controls register: the daily alert of lapsed controls.

It runs once a day (with any number of workers, once: Procrastinate records
each scheduled run) and alerts each lapse once (:func:`.alerts.alert_lapsed`),
so a re-run or a retry alerts nothing twice.
"""

from __future__ import annotations

from doorstep.jobs.registry import JobContext, periodic
from doorstep.privacy.controls.alerts import ALERT_TASK, alert_lapsed


@periodic(ALERT_TASK, cron="23 6 * * *")
def alert_overdue(ctx: JobContext, timestamp: int) -> int:
    """Alert every control whose evidence has lapsed since the last run; return how many."""
    from doorstep.services import services_for

    runtime = ctx.runtime
    policy = services_for(runtime).pack.controls
    with runtime.sessions.begin() as session:
        done = alert_lapsed(session, policy, runtime.clock)
    return len(done.controls)
