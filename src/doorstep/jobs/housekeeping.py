"""Housekeeping of the job queue itself."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from doorstep.jobs.registry import JobContext, periodic

log = logging.getLogger("doorstep.jobs.housekeeping")

FINISHED = ("succeeded", "failed", "cancelled", "aborted")

_PRUNE = sa.text(
    """
    DELETE FROM procrastinate_jobs j
     WHERE j.status = ANY(CAST(:finished AS procrastinate_job_status[]))
       AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) < :cutoff
    """
)


def prune_finished_jobs(ctx: JobContext) -> int:
    """Delete finished jobs older than ``job_retention_days`` (0 keeps them); return the count.

    Set-based and idempotent: a second run at the same instant deletes nothing.
    """
    days = ctx.runtime.settings.job_retention_days
    if days == 0:
        return 0
    cutoff = ctx.runtime.clock.now() - timedelta(days=days)
    with ctx.runtime.sessions.begin() as session:
        result = session.execute(_PRUNE, {"finished": list(FINISHED), "cutoff": cutoff})
        deleted = int(getattr(result, "rowcount", 0))
    log.info("pruned finished jobs", extra={"count": deleted, "retention_days": days})
    return int(deleted)


@periodic("doorstep.jobs.prune_finished_jobs", cron="17 * * * *")
def _prune_hourly(ctx: JobContext, timestamp: int) -> int:
    return prune_finished_jobs(ctx)
