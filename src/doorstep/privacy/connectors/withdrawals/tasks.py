"""The job that tells one HTTP system of a withdrawal (:mod:`.run`).

It takes the row's id only.  While the attempt raises :class:`~.run.Retry` the
job registry retries it with exponential back-off (2, 4, 8 … s); after
``requests_systems_attempts`` attempts the row is marked failed instead, so the
job ends (the console re-runs failed systems).
"""

from __future__ import annotations

import uuid

from doorstep.jobs.registry import JobContext, job
from doorstep.privacy.connectors.withdrawals.fanout import RUN_TASK

#: More than the largest ``requests_systems_attempts``: the attempt count decides.
_JOB_ATTEMPTS = 12


@job(RUN_TASK, max_attempts=_JOB_ATTEMPTS)
def withdraw_in_system(ctx: JobContext, task_id: str) -> str:
    """One attempt at telling a system of a withdrawal (see :mod:`.run`)."""
    from doorstep.privacy.connectors.withdrawals.run import attempt
    from doorstep.services import services_for

    runtime = ctx.runtime
    return attempt(services_for(runtime), runtime.sessions, uuid.UUID(task_id))
