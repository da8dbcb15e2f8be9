"""The periodic jobs of completion events: scan their sources, carry out the due ones.

Every ten minutes, by whichever worker takes them (Procrastinate records each
scheduled run, so it happens once):

* :data:`SOURCES_TASK` records the events the live systems' declared sources
  say happened (:mod:`.sources`; ``doorstep completions scan`` by hand);
* :data:`CARRY_TASK` carries out the due events (:mod:`.carry`; ``doorstep
  completions run`` by hand).  Events are locked one by one, so two runs at once
  never take the same event.
"""

from __future__ import annotations

from doorstep.jobs.registry import JobContext, periodic

#: The name of the periodic job that carries out due events.
CARRY_TASK = "doorstep.connectors.completions"
#: The name of the periodic job that records events from the declared sources.
SOURCES_TASK = "doorstep.connectors.completion_sources"


@periodic(SOURCES_TASK, cron="*/10 * * * *")
def _scan_sources(ctx: JobContext, timestamp: int) -> int:
    from doorstep.privacy.connectors.completions.sources import scan_sources
    from doorstep.services import services_for

    runtime = ctx.runtime
    return scan_sources(services_for(runtime), runtime.sessions).recorded


@periodic(CARRY_TASK, cron="*/10 * * * *")
def _carry_out(ctx: JobContext, timestamp: int) -> int:
    from doorstep.privacy.connectors.completions.carry import carry_out_due
    from doorstep.services import services_for

    runtime = ctx.runtime
    return carry_out_due(services_for(runtime), runtime.sessions).total
