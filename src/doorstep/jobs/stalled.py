"""Jobs of workers that died, put back in the queue.

A worker killed in the middle of a job (SIGKILL, a lost host) leaves the job in
``doing``: its transaction was rolled back by PostgreSQL, but Procrastinate
does not know it.  Workers say they are alive every
``worker_heartbeat_seconds``; one silent for ``worker_stalled_after_seconds``
is dead.  :func:`recover_stalled_jobs` removes dead workers and retries their
jobs (``procrastinate_retry_job_v2``, which counts an attempt).  It runs when
a worker starts and every minute as a periodic task, under ``SKIP LOCKED``, so
any number of workers may run it at once.

This is safe because every Doorstep job is idempotent and does its work in one
transaction (decision 0003): a retried job either finds its work done and
does nothing, or does all of it.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext, periodic

log = logging.getLogger("doorstep.jobs.stalled")

_PRUNE = sa.text("SELECT count(*) FROM procrastinate_prune_stalled_workers_v1(:seconds)")
_STALLED = sa.text(
    """
    SELECT job.id
      FROM procrastinate_jobs job
      LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id
     WHERE job.status = 'doing'
       AND (worker.id IS NULL
            OR worker.last_heartbeat < now() - make_interval(secs => :seconds))
     ORDER BY job.id
       FOR UPDATE OF job SKIP LOCKED
    """
)
_RETRY = sa.text("SELECT procrastinate_retry_job_v2(:job, now(), NULL, NULL, NULL)")


def recover_stalled_jobs(runtime: Runtime) -> int:
    """Forget dead workers and put their running jobs back in the queue; return how many."""
    seconds = runtime.settings.worker_stalled_after_seconds
    with runtime.sessions.begin() as session:
        session.execute(_PRUNE, {"seconds": seconds})
        stalled = list(session.scalars(_STALLED, {"seconds": seconds}))
        for job_id in stalled:
            session.execute(_RETRY, {"job": job_id})
    if stalled:
        log.warning("requeued jobs of dead workers", extra={"count": len(stalled)})
    return len(stalled)


@periodic("doorstep.jobs.recover_stalled", cron="* * * * *")
def _recover_every_minute(ctx: JobContext, timestamp: int) -> int:
    return recover_stalled_jobs(ctx.runtime)
