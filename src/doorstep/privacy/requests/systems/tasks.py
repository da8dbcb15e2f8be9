"""Jobs of the connected systems: one attempt at a system's part, and polls of HTTP systems.

Each job takes the task id only (the identifiers are sealed in its row); its
attempt may carry fresh tasks of the same system along (:mod:`.claim`), leased to
the job's id, so that its retry after a crash takes them again.
:data:`~.fanout.RUN_TASK` is retried with the job registry's exponential
back-off while the attempt raises :class:`~.run.Retry`; after
``requests_systems_attempts`` attempts the task is marked failed instead, so the
job ends (the desk re-runs failed systems).
"""

from __future__ import annotations

import uuid

from doorstep.jobs.registry import JobContext, job
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.systems.fanout import POLL_TASK, RUN_TASK

#: More than the largest ``requests_systems_attempts``: the attempt count decides.
_JOB_ATTEMPTS = 12


@job(RUN_TASK, max_attempts=_JOB_ATTEMPTS)
def run_system(ctx: JobContext, task_id: str) -> str:
    """One attempt at a system's part of a request (see :mod:`.run`)."""
    from doorstep.privacy.requests.systems.run import attempt
    from doorstep.services import services_for

    runtime = ctx.runtime
    return attempt(
        RequestContext.of(services_for(runtime)),
        runtime.sessions,
        uuid.UUID(task_id),
        owner=f"job:{ctx.job_id}",
    )


@job(POLL_TASK, max_attempts=3)
def poll_system(ctx: JobContext, task_id: str) -> str:
    """Ask an HTTP system how the task it accepted stands (see :func:`.run.poll`)."""
    from doorstep.privacy.requests.systems.run import poll
    from doorstep.services import services_for

    runtime = ctx.runtime
    return poll(RequestContext.of(services_for(runtime)), runtime.sessions, uuid.UUID(task_id))
