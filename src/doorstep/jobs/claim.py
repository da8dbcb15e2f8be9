"""Do a waiting job's work in the caller's own transaction, when no worker has taken it yet.

A process that has just committed a job and can do its work at once (the API
answering a request it has filed, decision 0046) claims the job instead of
waiting for a worker:

* :func:`claim` moves the waiting job to ``doing`` in the caller's transaction.
  The row stays locked until that transaction ends and workers fetch with
  ``FOR UPDATE SKIP LOCKED``, so none takes the job meanwhile; until the commit
  every other session still sees it waiting (``todo``).  It finds nothing when a
  worker fetched the job first, or when the job is scheduled for later: the
  caller then leaves the job to the workers.
* :func:`finish` marks the claimed job ``succeeded`` in the same transaction,
  so the work and the end of its job commit together, and Procrastinate records
  the run as it records a worker's (``started`` and ``succeeded`` events, one
  attempt).  A claimant may bound its work: the claim then sets
  ``statement_timeout`` for the rest of the transaction and the finish puts the
  previous value back.
* When the caller's transaction rolls back instead (an error, a timeout, the
  process dies), the job is ``todo`` again as it was committed, with nothing of
  the claim left.  The NOTIFY its insert sent has been spent by then, so
  :func:`wake` sends another, as the insert trigger does, and a worker takes the
  job at once rather than at its next poll.  After a crash nobody wakes them:
  the job waits for a worker's poll (``worker_poll_seconds``).

A running job may take other waiting jobs of its own task the same way
(:func:`claim_waiting`) and do their work with its own, in one transaction:
the ``requests.erase`` job carries several deletion requests (decision 0051).

The job's own guarantees are unchanged: the work done here is the task's own
(idempotent, one transaction), and whoever does it, it is done once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

# The timeout in force is read first: the CTE's row exists before the outer projection
# calls set_config (which is not called at all when nothing is claimed).
_CLAIM = sa.text(
    "WITH previous AS MATERIALIZED (SELECT current_setting('statement_timeout') AS value),"
    " claimed AS (UPDATE procrastinate_jobs SET status = 'doing' WHERE id = ("
    "  SELECT id FROM procrastinate_jobs"
    "  WHERE queueing_lock = :queueing_lock AND task_name = :task AND status = 'todo'"
    "  AND (scheduled_at IS NULL OR scheduled_at <= now())"
    "  FOR UPDATE SKIP LOCKED) RETURNING id)"
    " SELECT claimed.id, previous.value,"
    " set_config('statement_timeout', coalesce(:timeout, previous.value), true)"
    " FROM claimed CROSS JOIN previous"
)
_FINISH = sa.text(
    "SELECT procrastinate_finish_job_v1(:job, 'succeeded', false),"
    " set_config('statement_timeout', :previous, true)"
)
# What procrastinate_notify_queue_job_inserted_v1 sends when a job is inserted.
_WAKE = sa.text(
    "SELECT pg_notify('procrastinate_queue_v1#' || queue_name, payload),"
    " pg_notify('procrastinate_any_queue_v1', payload)"
    " FROM (SELECT queue_name, json_build_object('type', 'job_inserted', 'job_id', id)::text"
    " AS payload FROM procrastinate_jobs WHERE id = :job AND status = 'todo') AS waiting"
)
_WAITING = sa.text(
    "SELECT id FROM procrastinate_jobs"
    " WHERE queueing_lock = :queueing_lock AND task_name = :task AND status = 'todo'"
)


# Waiting jobs of a task, oldest first, taken as claim takes one (workers skip locked rows).
_CLAIM_WAITING = sa.text(
    "UPDATE procrastinate_jobs SET status = 'doing' WHERE id IN ("
    "  SELECT id FROM procrastinate_jobs"
    "  WHERE task_name = :task AND status = 'todo'"
    "  AND (scheduled_at IS NULL OR scheduled_at <= now())"
    "  ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " RETURNING id, args, current_setting('statement_timeout')"
)


_CLAIM_LOCKED = sa.text(
    "UPDATE procrastinate_jobs SET status = 'doing' WHERE id IN ("
    "  SELECT id FROM procrastinate_jobs"
    "  WHERE task_name = :task AND status = 'todo' AND queueing_lock = ANY(:locks)"
    "  ORDER BY id FOR UPDATE SKIP LOCKED)"
    " RETURNING id"
)
_FINISH_ALL = sa.text(
    "SELECT procrastinate_finish_job_v1(id, 'succeeded', false) FROM unnest(:jobs) AS id"
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A job taken by :func:`claim`, and the statement timeout in force before it."""

    job_id: int
    statement_timeout: str


def claim(
    session: Session, task: str, queueing_lock: str, *, statement_timeout_ms: int | None = None
) -> Claim | None:
    """Take the waiting ``task`` job enqueued with ``queueing_lock``, or None.

    None when there is no such job, it is scheduled for later, or a worker has it.
    With ``statement_timeout_ms``, every later statement of the transaction is
    bounded by it until :func:`finish` (one round trip for both).
    """
    found = session.execute(
        _CLAIM,
        {
            "task": task,
            "queueing_lock": queueing_lock,
            "timeout": None if statement_timeout_ms is None else str(statement_timeout_ms),
        },
    ).one_or_none()
    return None if found is None else Claim(int(found[0]), str(found[1]))


def claim_waiting(session: Session, task: str, *, limit: int) -> list[tuple[Claim, dict[str, Any]]]:
    """Take up to ``limit`` waiting ``task`` jobs (oldest first, due now, none a worker has),
    with their arguments, to do their work in the caller's transaction.

    As with :func:`claim`: :func:`finish` each at the end; if the transaction rolls back
    they are waiting again, and :func:`wake` tells the workers so.
    """
    if limit < 1:
        return []
    found = session.execute(_CLAIM_WAITING, {"task": task, "limit": limit})
    return [(Claim(int(row[0]), str(row[2])), dict(row[1])) for row in found]


def end_waiting(session: Session, task: str, queueing_locks: list[str]) -> int:
    """Mark done the waiting ``task`` jobs enqueued with ``queueing_locks``, whose work the
    caller's transaction did; how many.

    Each is recorded as a worker's run is (``started``, ``succeeded``) at the commit.  A
    job a worker holds already is left: it finds its work done.  Two round trips however
    many.
    """
    if not queueing_locks:
        return 0
    found = session.execute(_CLAIM_LOCKED, {"task": task, "locks": queueing_locks})
    jobs = [int(row[0]) for row in found]
    if jobs:
        session.execute(_FINISH_ALL, {"jobs": jobs})
    return len(jobs)


def finish(session: Session, claimed: Claim) -> None:
    """Mark the claimed job as succeeded (at this transaction's commit); restore the timeout."""
    session.execute(_FINISH, {"job": claimed.job_id, "previous": claimed.statement_timeout})


def waiting(session: Session, task: str, queueing_lock: str) -> int | None:
    """The id of the waiting ``task`` job enqueued with ``queueing_lock``, if any."""
    found = session.scalar(_WAITING, {"task": task, "queueing_lock": queueing_lock})
    return None if found is None else int(found)


def wake(session: Session, job_id: int) -> None:
    """Tell the workers (at this transaction's commit) that the job waits, if it still does."""
    session.execute(_WAKE, {"job": job_id})
