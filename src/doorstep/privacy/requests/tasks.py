"""Jobs of the requests area: the hourly reminder sweep, exports and erasures.

Each job takes the request id only and does its whole work in one
transaction that also completes the request, so a retry after a crash (or a
second worker) finds it closed and does nothing: every request is answered
exactly once.
"""

from __future__ import annotations

import uuid

from doorstep.audit.entries import system_actor
from doorstep.jobs.registry import JobContext, job, periodic
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import ERASE_TASK, EXPORT_TASK
from doorstep.privacy.requests.tracking import remind

REMIND_TASK = "requests.remind"
INQUIRIES_TASK = "requests.inquiries_remind"


@periodic(REMIND_TASK, cron="7 * * * *")
def remind_deadlines(ctx: JobContext, timestamp: int) -> int:
    """Remind of requests due soon and escalate overdue ones; return how many changed."""
    from doorstep.services import services_for

    runtime = ctx.runtime
    with runtime.sessions.begin() as session:
        reminded, escalated = remind(session, RequestContext.of(services_for(runtime)))
    return reminded + escalated


@periodic(INQUIRIES_TASK, cron="17 * * * *")
def remind_inquiries(ctx: JobContext, timestamp: int) -> int:
    """Remind of inquiries due soon, flag overdue ones, forget correspondents with none left."""
    from doorstep.privacy.requests.inquiries.desk import forget_correspondents
    from doorstep.privacy.requests.inquiries.desk import remind as remind_desk
    from doorstep.services import services_for

    runtime = ctx.runtime
    services = services_for(runtime)
    with runtime.sessions.begin() as session:
        reminded, flagged = remind_desk(session, RequestContext.of(services))
        forgotten = forget_correspondents(session, services.keys)
    return reminded + flagged + forgotten


@job(ERASE_TASK, max_attempts=10)
def erase(ctx: JobContext, request_id: str) -> bool:
    """Erase the subject of a verified deletion request in one transaction (idempotent).

    A first attempt also claims up to ``requests_erase_batch - 1`` other waiting erase
    jobs and carries out their requests in the same transaction, with one erasure
    statement for all (:func:`~.erasure_requests.erase_for_requests`, decision 0051);
    they are marked done with it.  If anything fails, nothing is kept: the claimed jobs
    wait again (and the workers are woken for them) and this one is retried, alone.
    """
    from doorstep.jobs.claim import claim_waiting, finish, wake
    from doorstep.privacy.requests.erasure_requests import erase_for_requests
    from doorstep.services import services_for

    runtime = ctx.runtime
    services = services_for(runtime)
    lead = uuid.UUID(request_id)
    batch = runtime.settings.requests_erase_batch if ctx.attempt <= 1 else 1
    claimed: list[int] = []
    try:
        with runtime.sessions.begin() as session:
            companions = claim_waiting(session, ERASE_TASK, limit=batch - 1)
            claimed = [claim.job_id for claim, _ in companions]
            ids = [lead, *(uuid.UUID(str(args["request_id"])) for _, args in companions)]
            rows = erase_for_requests(
                session,
                RequestContext.of(services),
                services.keys,
                ids,
                actor=system_actor(ERASE_TASK),
            )
            for claim, _ in companions:
                finish(session, claim)
    except BaseException:
        if claimed:
            with runtime.sessions.begin() as session:
                for job_id in claimed:
                    wake(session, job_id)
        raise
    return rows[lead].closed_at is not None


@job(EXPORT_TASK, max_attempts=10)
def export(ctx: JobContext, request_id: str) -> bool:
    """Prepare the export of an access or portability request and complete it (idempotent)."""
    from doorstep.privacy.requests.downloads import prepare
    from doorstep.services import services_for

    runtime = ctx.runtime
    services = services_for(runtime)
    with runtime.sessions.begin() as session:
        done = prepare(
            session,
            RequestContext.of(services),
            uuid.UUID(request_id),
            actor=system_actor(EXPORT_TASK),
        )
    return done.built
