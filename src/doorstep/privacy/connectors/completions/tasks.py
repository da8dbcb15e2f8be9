"""The periodic job that carries out due completion events (:mod:`.carry`).

Every ten minutes, by whichever worker takes it (Procrastinate records each
scheduled run, so it happens once); ``doorstep completions run`` does the same
by hand.  Events are locked one by one, so two runs at once never take the
same event.
"""

from __future__ import annotations

from doorstep.jobs.registry import JobContext, periodic

#: The name of the periodic job.
CARRY_TASK = "doorstep.connectors.completions"


@periodic(CARRY_TASK, cron="*/10 * * * *")
def _carry_out(ctx: JobContext, timestamp: int) -> int:
    from doorstep.privacy.connectors.completions.carry import carry_out_due
    from doorstep.services import services_for

    runtime = ctx.runtime
    return carry_out_due(services_for(runtime), runtime.sessions).total
