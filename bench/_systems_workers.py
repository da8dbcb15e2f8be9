"""Erasures carried out by real ``doorstep worker`` processes, from the job queue, end to end.

:func:`workers_rate` approves one deletion request per subject first (untimed: the
fan-out creates each connected system's task and queues every job), then starts
``WORKERS`` worker processes on the bench's database (:mod:`bench._latency_processes`)
with the same connected systems, and waits until every request is completed.  The
rate is the requests divided by the time from the first of their jobs' ``started``
events to the last request's ``closed_at``, both read from the database, so the
workers' start-up is not counted and nothing of the bench's own process is: the
figure is what a deployment's workers do, with the job queue, the batched erase jobs
and the batched attempts (decisions 0048, 0051).  The baseline is the same with no
connected system: Doorstep alone through the same workers.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bench._latency_processes import log_of, started
from bench._systems_orchestrated import _approved
from bench._usp_broker import cpu_seconds
from bench.harness import BenchContext
from doorstep.privacy.requests.fulfil import ERASE_TASK
from doorstep.privacy.requests.systems.fanout import RUN_TASK
from doorstep.wiring import Services

WORKERS = 2
#: Seconds every request may take before the bench gives up.
DEADLINE_SECONDS = 180.0
#: Requests that warm the workers up first (imports, the pack, statement caches).
WARM = 20

_OPEN = sa.text("SELECT count(*) FROM subject_requests WHERE id = ANY(:ids) AND closed_at IS NULL")
# The requests' erase jobs (their argument) and their tasks' attempts (the task's id).
_OURS = (
    "status = 'todo' AND ((task_name = '" + ERASE_TASK + "' AND args->>'request_id' = ANY(:ids))"
    " OR (task_name = '" + RUN_TASK + "' AND args->>'task_id' IN (SELECT id::text FROM"
    " request_systems WHERE request_id::text = ANY(:ids))))"
)
_HOLD = sa.text(
    f"UPDATE procrastinate_jobs SET scheduled_at = now() + interval '1 hour' WHERE {_OURS}"
)
_RELEASE = sa.text(
    f"WITH released AS (UPDATE procrastinate_jobs SET scheduled_at = NULL WHERE {_OURS}"
    " RETURNING id, queue_name)"
    " SELECT now(), count(pg_notify('procrastinate_queue_v1#' || queue_name, payload))"
    " FROM (SELECT queue_name, json_build_object('type', 'job_inserted', 'job_id', id)::text"
    " AS payload FROM released) AS waking"
)
_LAST = sa.text("SELECT max(closed_at) FROM subject_requests WHERE id = ANY(:ids)")


@dataclass(frozen=True)
class WorkersRun:
    """One measured run: requests, seconds from the release to the last completion, and
    the workers' CPU seconds over it."""

    requests: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        """Requests completed per second."""
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Workers' CPU milliseconds per request."""
        return self.cpu / self.requests * 1e3


def systems_settings(urls: Mapping[str, str], systems: tuple[str, ...]) -> dict[str, str]:
    """The workers' settings for the connected systems (``DOORSTEP_*``)."""
    return {
        "DOORSTEP_SYSTEM_URLS": json.dumps(dict(urls)),
        "DOORSTEP_REQUESTS_SYSTEMS": json.dumps(list(systems)),
    }


def workers_rate(
    ctx: BenchContext, services: Services, subjects: list[uuid.UUID], settings: Mapping[str, str]
) -> WorkersRun:
    """Erasures carried out by :data:`WORKERS` workers (see the module docstring); the
    first :data:`WARM` subjects' requests warm the workers up and are not counted."""
    with ctx.engine.begin() as connection:  # what earlier figures left waiting is not ours
        connection.execute(sa.text("DELETE FROM procrastinate_jobs WHERE status = 'todo'"))
    with started(ctx, settings, [], workers=WORKERS) as running:
        warm = _approved(services, subjects[:WARM], then=_HOLD)
        _release(ctx, warm)
        _wait_completed(ctx, warm)
        # Committed with their jobs held back, so no worker starts before the release.
        request_ids = _approved(services, subjects[WARM:], then=_HOLD)
        pids = [process.pid for process in running.workers]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        released_at = _release(ctx, request_ids)
        _wait_completed(ctx, request_ids)
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    with ctx.engine.connect() as connection:
        last = connection.scalar(_LAST, {"ids": request_ids})
    return WorkersRun(len(request_ids), (last - released_at).total_seconds(), cpu)


def _release(ctx: BenchContext, request_ids: list[uuid.UUID]) -> datetime:
    """Make the requests' jobs due now and wake the workers; the database's time of it."""
    with ctx.engine.begin() as connection:
        released_at, _ = connection.execute(_RELEASE, {"ids": [str(r) for r in request_ids]}).one()
    return released_at  # type: ignore[no-any-return]


def _wait_completed(ctx: BenchContext, request_ids: list[uuid.UUID]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        with ctx.engine.connect() as connection:
            left = int(connection.scalar(_OPEN, {"ids": request_ids}) or 0)
        if not left:
            return
        if time.monotonic() > deadline:
            log = log_of(ctx)
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(
                f"{left} of {len(request_ids)} requests not completed; the workers' output "
                f"ends:\n{tail}"
            )
        time.sleep(0.02)
