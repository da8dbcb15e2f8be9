"""The fleet sweep: leases that lapsed, deadlines that passed, and the origins' progress.

A periodic job, every minute, taken by one worker (decision 0038).  In order:

1. **Lapsed leases** (the executor's process died): a ``running`` operation with
   nothing sent goes back to ``queued``; one with something sent goes to ``waiting``,
   due for a check at once — the device's own word settles it, so nothing is sent twice.
2. **Deadlines**: an open operation past its ``deadline_at`` fails —
   ``device_timeout`` when something was sent (the device never came back),
   ``unreachable`` when nothing was (the device was never reached).  A ``running`` one
   whose lease is alive is left to its executor.  The origin hears it in the same
   transaction.
3. **Progress**: each origin kind's ``progress(session, now)`` (the next wave of a
   rollout, an automatic pause), each in a transaction of its own; one that fails is
   logged and the others still run.

Batches of :data:`BATCH` rows with ``SKIP LOCKED``, so a sweep never waits for an
executor; the job carries no arguments (ids only ever reach the audit trail).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.handlers.base import failed
from doorstep.devices.fleet.operations import (
    OPEN_STATES,
    DeviceOperation,
    OperationState,
    Reason,
    load_origins,
    origins,
)
from doorstep.devices.fleet.records import finish
from doorstep.jobs.registry import JobContext, periodic

log = logging.getLogger("doorstep.devices.fleet")

SWEEP_TASK = "doorstep.devices.fleet.sweep"
BATCH = 500


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one run did."""

    requeued: int
    waiting: int
    timed_out: int


def _lapsed(runtime: Runtime) -> tuple[int, int]:
    op = DeviceOperation
    requeued = waiting = 0
    while True:
        now = runtime.clock.now()
        with runtime.sessions.begin() as session:
            rows = session.scalars(
                sa.select(op)
                .where(op.state == OperationState.RUNNING, op.lease_until < now)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.lease_owner = row.lease_until = None
                if row.sent_at is None:
                    row.state = OperationState.QUEUED
                    requeued += 1
                else:
                    row.state, row.check_at = OperationState.WAITING, now
                    waiting += 1
        if len(rows) < BATCH:
            return requeued, waiting


def _deadlines(runtime: Runtime) -> int:
    op = DeviceOperation
    ended = 0
    while True:
        now = runtime.clock.now()
        with runtime.sessions.begin() as session:
            held = sa.and_(op.state == OperationState.RUNNING, op.lease_until >= now)
            rows = session.scalars(
                sa.select(op)
                .where(op.state.in_(OPEN_STATES), op.deadline_at < now, ~held)
                .order_by(op.deadline_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                reason = Reason.DEVICE_TIMEOUT if row.sent_at else Reason.UNREACHABLE
                finish(session, row, failed(reason), now=now)
        ended += len(rows)
        if len(rows) < BATCH:
            return ended


def fleet_sweep(runtime: Runtime) -> SweepResult:
    """One run of the sweep (see the module docstring)."""
    load_origins()
    requeued, waiting = _lapsed(runtime)
    timed_out = _deadlines(runtime)
    for kind, callbacks in origins().items():
        if callbacks.progress is None:
            continue
        try:
            with runtime.sessions.begin() as session:
                callbacks.progress(session, runtime.clock.now())
        except Exception:
            log.exception("fleet origin progress failed", extra={"origin": kind.value})
    if requeued or waiting or timed_out:
        log.info(
            "fleet swept",
            extra={"requeued": requeued, "waiting": waiting, "timed_out": timed_out},
        )
    return SweepResult(requeued, waiting, timed_out)


@periodic(SWEEP_TASK, cron="* * * * *")
def _sweep_every_minute(ctx: JobContext, timestamp: int) -> int:
    result = fleet_sweep(ctx.runtime)
    return result.requeued + result.waiting + result.timed_out
