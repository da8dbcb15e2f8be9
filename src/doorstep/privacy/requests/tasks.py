"""Jobs of the requests area: the hourly reminder sweep and erasures."""

from __future__ import annotations

import uuid

from doorstep.jobs.registry import JobContext, job, periodic
from doorstep.privacy.requests.fulfil import ERASE_TASK
from doorstep.privacy.requests.services import RequestContext
from doorstep.privacy.requests.tracking import remind

REMIND_TASK = "requests.remind"


@periodic(REMIND_TASK, cron="7 * * * *")
def remind_deadlines(ctx: JobContext, timestamp: int) -> int:
    """Remind of requests due soon and escalate overdue ones; return how many changed."""
    runtime = ctx.runtime
    with runtime.sessions.begin() as session:
        reminded, escalated = remind(
            session, RequestContext(clock=runtime.clock, settings=runtime.settings)
        )
    return reminded + escalated


@job(ERASE_TASK, max_attempts=10)
def erase(ctx: JobContext, request_id: str) -> bool:
    """Erase the subject of a verified deletion request in one transaction (idempotent)."""
    from doorstep.privacy.purposes import system_actor
    from doorstep.privacy.requests.erasure import erase_for_request
    from doorstep.wiring import build_services

    runtime = ctx.runtime
    services = build_services(runtime)
    context = RequestContext(clock=runtime.clock, settings=runtime.settings)
    with runtime.sessions.begin() as session:
        row = erase_for_request(
            session,
            context,
            services.keys,
            uuid.UUID(request_id),
            actor=system_actor(ERASE_TASK),
        )
    return row.closed_at is not None
