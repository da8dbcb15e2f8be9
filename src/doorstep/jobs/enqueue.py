"""Enqueue a job in the caller's transaction.

The job row is written by Procrastinate's own ``procrastinate_defer_jobs_v1``
function on the caller's connection, so it commits or rolls back with the change
that caused it: nothing is lost between "committed" and "scheduled", and nothing
runs for a change that never happened.  Workers are woken by the NOTIFY the
insert trigger sends, which PostgreSQL delivers at commit.

Job arguments must be identifiers only (no personal data in job payloads): ints,
booleans, UUIDs and short strings of ``[A-Za-z0-9_.:-]``.  Anything else is a
programming error and raises before the database is touched.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import require_aware

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

_DEFER = sa.text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
    ":queueing_lock, CAST(:args AS jsonb), :scheduled_at)::procrastinate_job_to_defer_v1]))"
)


class UnsafeJobArgumentError(TypeError):
    """A job argument is not an identifier (it might carry personal data)."""


def _safe(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _IDENTIFIER.match(value):
        return value
    raise UnsafeJobArgumentError(
        f"job argument {name!r} must be an id (int, UUID or short identifier string)"
    )


def safe_job_args(args: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise job arguments (see module docstring)."""
    return {name: _safe(name, value) for name, value in args.items()}


def enqueue(
    session: Session,
    task: str,
    *,
    queue: str = "default",
    priority: int = 0,
    lock: str | None = None,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
    **args: Any,
) -> int:
    """Write a job for ``task`` in ``session``'s transaction and return its id.

    ``lock`` serialises jobs that share it; ``queueing_lock`` keeps at most one
    waiting job with that value (a duplicate raises IntegrityError).
    """
    from doorstep.jobs.registry import declared_tasks

    spec = declared_tasks().get(task)
    if spec is None:
        raise ValueError(f"unknown task {task!r}")
    payload = json.dumps(safe_job_args(args))
    job_id = session.execute(
        _DEFER,
        {
            "queue": queue if queue != "default" else spec.queue,
            "task": task,
            "priority": priority,
            "lock": lock,
            "queueing_lock": queueing_lock,
            "args": payload,
            "scheduled_at": require_aware(scheduled_at) if scheduled_at else None,
        },
    ).scalar_one()
    return int(job_id)
