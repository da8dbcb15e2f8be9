"""The callbacks of origin ``rollout`` (decision 0038), registered when this module is imported.

* :func:`on_operation_done`: the executor calls it in an operation's final transaction;
  the device's outcome is counted on its wave and the rollout moves on
  (:func:`~.rollout_engine.step`): the next devices are queued at once, so a rollout
  does not wait for the sweep between two devices.
* :func:`progress`: the sweep calls it every minute: every rollout that is running or
  still has devices in flight is reconciled with its operations and stepped (a
  maintenance window that opened, a callback that never came).

Imported by :mod:`.rollout_tasks` (a task module of the composition root), so every
process that runs executors or the sweep knows it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock, require_aware
from doorstep.core.database import CLOCK_KEY
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationState,
    OriginKind,
    register_origin,
)
from doorstep.devices.fleet.rollout_engine import lock, reconcile, settle, step
from doorstep.devices.fleet.rollout_models import (
    HALTED,
    MemberState,
    Rollout,
    RolloutDevice,
    RolloutState,
    RolloutWave,
)
from doorstep.devices.fleet.rollout_queue import cancel_unclaimed, withdraw


class _At:
    """A clock standing at one instant (the operation's end) when the session carries none."""

    def __init__(self, instant: datetime) -> None:
        self._instant = require_aware(instant)

    def now(self) -> datetime:
        """The instant."""
        return self._instant


def _clock(session: Session, fallback: datetime) -> Clock:
    clock = session.info.get(CLOCK_KEY)
    return clock if clock is not None else _At(fallback)


def on_operation_done(session: Session, op: DeviceOperation) -> None:
    """The executor's callback: count the device's outcome, then :func:`step` the rollout."""
    if op.origin_id is None or op.finished_at is None:
        return
    rollout = lock(session, op.origin_id)
    if rollout is None:
        return
    member = session.get(RolloutDevice, (rollout.id, op.device_id))
    if member is None or member.state is not MemberState.QUEUED:
        return  # counted already (a repeated callback changes nothing)
    settle(
        session,
        rollout,
        member,
        state=OperationState(op.state),
        reason=op.reason,
        at=op.finished_at,
    )
    step(session, rollout, _clock(session, op.finished_at))


def progress(session: Session, now: datetime) -> None:
    """The sweep's hook, every minute: reconcile and step every rollout that is moving.

    A rollout another transaction holds is skipped this time (``SKIP LOCKED``).
    """
    moving = session.scalars(
        sa.select(Rollout.id).where(
            sa.or_(
                Rollout.state == RolloutState.RUNNING,
                sa.exists().where(RolloutWave.rollout_id == Rollout.id, RolloutWave.in_flight > 0),
            )
        )
    ).all()
    clock = _clock(session, now)
    for rollout_id in moving:
        rollout = lock(session, rollout_id, skip_locked=True)
        if rollout is None:
            continue
        if rollout.state in HALTED:  # an operation a claim let go of after the pause
            withdraw(session, rollout)
        elif rollout.state is RolloutState.ABORTED:
            cancel_unclaimed(session, rollout, now)
        reconcile(session, rollout, now)
        step(session, rollout, clock)


register_origin(OriginKind.ROLLOUT, on_operation_done, progress=progress)
