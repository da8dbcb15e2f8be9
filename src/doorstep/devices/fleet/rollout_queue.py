"""A halted rollout's operations still in the queue: withdrawn (pause) or cancelled (abort).

Both statements take only the rollout's operations that are ``queued`` with nothing
sent, and only those no other transaction holds (``FOR UPDATE SKIP LOCKED``), so a
pause or an abort never waits for an executor or the sweep, and never deadlocks with
them: an executor finishing an operation locks the operation, then the rollout; these
run under the rollout's lock and never wait for an operation.  An operation held at
that moment is being claimed (it runs, and is counted when it ends) or failed by the
sweep (counted); one whose claim is rolled back stays queued and is taken by the next
progress hook (:mod:`.rollout_origin`, every minute).

* :func:`withdraw` (pause) deletes them: nothing was sent, so nothing is lost; their
  devices go back to ``pending`` and a resume queues them again, once
  (``device_operations`` is unique on ``(origin_id, device_id)``, which the deleted row
  no longer occupies).
* :func:`cancel_unclaimed` (abort) marks them ``cancelled`` (reason ``cancelled``), as
  :func:`~.operations.cancel_queued` does; :func:`~.rollout_engine.reconcile` then
  counts their devices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.devices.fleet.operations import DeviceOperation, OperationState, Reason
from doorstep.devices.fleet.rollout_models import MemberState, Rollout, RolloutDevice, RolloutWave


def _unclaimed(rollout: Rollout) -> sa.Select[Any]:
    op = DeviceOperation
    return (
        sa.select(op.id)
        .where(
            op.origin_id == rollout.id,
            op.state == OperationState.QUEUED,
            op.sent_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    )


def withdraw(session: Session, rollout: Rollout) -> int:
    """Delete the rollout's unclaimed operations; their devices wait again (``pending``)."""
    taken = session.execute(
        sa.delete(DeviceOperation)
        .where(DeviceOperation.id.in_(_unclaimed(rollout).scalar_subquery()))
        .returning(DeviceOperation.device_id)
    ).scalars()
    device_ids = list(taken)
    if not device_ids:
        return 0
    back = session.execute(
        sa.update(RolloutDevice)
        .where(
            RolloutDevice.rollout_id == rollout.id,
            RolloutDevice.device_id.in_(device_ids),
            RolloutDevice.state == MemberState.QUEUED,
        )
        .values(state=MemberState.PENDING)
        .returning(RolloutDevice.wave)
    ).scalars()
    for number in list(back):
        wave = session.get(RolloutWave, (rollout.id, number))
        if wave is not None:
            wave.in_flight = max(0, wave.in_flight - 1)
    session.flush()
    return len(device_ids)


def cancel_unclaimed(session: Session, rollout: Rollout, now: datetime) -> int:
    """Cancel the rollout's unclaimed operations (their devices are counted by reconcile)."""
    result = session.execute(
        sa.update(DeviceOperation)
        .where(DeviceOperation.id.in_(_unclaimed(rollout).scalar_subquery()))
        .values(state=OperationState.CANCELLED, reason=Reason.CANCELLED, finished_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
