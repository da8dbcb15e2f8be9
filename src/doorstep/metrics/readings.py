"""What the database gauges read: job queues, devices, fleet operations, request deadlines.

Each function takes a session and returns metric families; counts only, grouped
by names the code declares (queue, product type, operation kind and state,
request kind), never a row's content.  Every series the code can name is
reported, at zero when there is nothing, so a panel shows 0 instead of a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.orm import Session

from doorstep.devices.fleet.operations import DeviceOperation, OperationKind, OperationState
from doorstep.devices.models import DeviceRegistration, ProductType
from doorstep.jobs.registry import declared_tasks
from doorstep.privacy.requests.models import RequestKind
from doorstep.privacy.requests.tracking import deadline_counts

#: Job states a queue gauge reports: due and waiting, waiting for a later time, running.
JOB_STATES = ("todo", "scheduled", "doing")
UNKNOWN_PRODUCT = "unknown"

_DEPTH = sa.text(
    """
    SELECT queue_name,
           CASE WHEN status = 'todo' AND scheduled_at > now() THEN 'scheduled'
                ELSE status::text END,
           count(*)
      FROM procrastinate_jobs
     WHERE status IN ('todo', 'doing')
     GROUP BY 1, 2
    """
)
# The oldest due job of each queue waits since its scheduled time, or since it was
# deferred (its 'deferred' event); ids grow with time, so only the first unscheduled
# job's event is read, not one per waiting job.
_OLDEST = sa.text(
    """
    WITH due AS (
        SELECT queue_name,
               min(id) FILTER (WHERE scheduled_at IS NULL) AS first_id,
               min(scheduled_at) AS first_scheduled
          FROM procrastinate_jobs
         WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())
         GROUP BY queue_name
    )
    SELECT queue_name,
           greatest(0, extract(epoch FROM now() - least(
               first_scheduled,
               (SELECT min(at) FROM procrastinate_events event
                 WHERE event.job_id = due.first_id AND event.type = 'deferred'))))
      FROM due
    """
)


def _queues() -> set[str]:
    return {spec.queue for spec in declared_tasks().values()}


def job_queues(session: Session) -> list[Metric]:
    """``doorstep_job_queue_depth{queue,state}`` and ``doorstep_job_oldest_age_seconds{queue}``."""
    queues = _queues()
    depth = {(queue, state): 0 for queue in queues for state in JOB_STATES}
    for queue, state, count in session.execute(_DEPTH):
        depth[(str(queue), str(state))] = int(count)
    oldest = dict.fromkeys(queues, 0.0)
    for queue, seconds in session.execute(_OLDEST):
        oldest[str(queue)] = float(seconds or 0)
    depth_family = GaugeMetricFamily(
        "doorstep_job_queue_depth",
        "Jobs per queue: todo (due, waiting for a worker), scheduled (due later), doing.",
        labels=["queue", "state"],
    )
    for (queue, state), count in sorted(depth.items()):
        depth_family.add_metric([queue, state], count)
    age_family = GaugeMetricFamily(
        "doorstep_job_oldest_age_seconds",
        "How long the oldest due job of each queue has waited for a worker (0: none waits).",
        labels=["queue"],
    )
    for queue, seconds in sorted(oldest.items()):
        age_family.add_metric([queue], seconds)
    return [depth_family, age_family]


def devices(session: Session) -> list[Metric]:
    """``doorstep_devices_registered{product_type}`` and ``doorstep_devices_online{...}``."""
    kinds = [kind.value for kind in ProductType] + [UNKNOWN_PRODUCT]
    registered = dict.fromkeys(kinds, 0)
    online = dict.fromkeys(kinds, 0)
    rows = session.execute(
        sa.select(
            DeviceRegistration.product_type,
            sa.func.count(),
            sa.func.count().filter(DeviceRegistration.online),
        )
        .where(DeviceRegistration.anonymised_at.is_(None))
        .group_by(DeviceRegistration.product_type)
    )
    for product, count, up in rows:
        key = product.value if product is not None else UNKNOWN_PRODUCT
        registered[key] = int(count)
        online[key] = int(up)
    return [
        _family(
            "doorstep_devices_registered",
            "Devices with a registration record (not anonymised), by product type.",
            "product_type",
            registered,
        ),
        _family(
            "doorstep_devices_online",
            "Registered devices the registry holds online now, by product type.",
            "product_type",
            online,
        ),
    ]


def fleet_operations(session: Session) -> list[Metric]:
    """``doorstep_device_operations{kind,state}``: rows of device_operations now."""
    counts = {(kind.value, state.value): 0 for kind in OperationKind for state in OperationState}
    rows = session.execute(
        sa.select(DeviceOperation.kind, DeviceOperation.state, sa.func.count()).group_by(
            DeviceOperation.kind, DeviceOperation.state
        )
    )
    for kind, state, count in rows:
        counts[(str(kind), str(state))] = int(count)
    family = GaugeMetricFamily(
        "doorstep_device_operations",
        "Fleet operations by kind and state (finished ones until retention deletes them).",
        labels=["kind", "state"],
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    return [family]


def request_deadlines(session: Session, now: datetime, days: int) -> list[Metric]:
    """``doorstep_requests_due_soon{kind}`` and ``doorstep_requests_overdue{kind}``."""
    counts = deadline_counts(session, now, now + timedelta(days=days))
    kinds = [kind.value for kind in RequestKind]
    soon = {kind: counts.get(kind, (0, 0))[0] for kind in kinds}
    late = {kind: counts.get(kind, (0, 0))[1] for kind in kinds}
    return [
        _family(
            "doorstep_requests_due_soon",
            "Open data-subject requests whose running clock ends within metrics_deadline_days.",
            "kind",
            soon,
        ),
        _family(
            "doorstep_requests_overdue",
            "Open data-subject requests whose running clock is past the deadline.",
            "kind",
            late,
        ),
    ]


def _family(name: str, documentation: str, label: str, values: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def read_all(session: Session, now: datetime, *, deadline_days: int) -> Iterable[Metric]:
    """Every database gauge, read in ``session`` (one short transaction)."""
    return [
        *job_queues(session),
        *devices(session),
        *fleet_operations(session),
        *request_deadlines(session, now, deadline_days),
    ]
