"""How a bulk action moves: throttled batches released by its own results and by the sweep.

A running bulk action releases its next batch of operations (origin ``bulk``,
``origin_id`` = the action's id) whenever there is room:

* **room** = the smaller of ``max_in_flight`` minus its open operations and
  ``per_minute`` minus what it queued in the current one-minute window;
* **the batch** = the next devices matching the action's filter after its keyset
  ``cursor``, in id order (:func:`.groups.members`); the cursor moves past them, so a
  device is considered once and ``queue_operations`` (unique ``(origin_id,
  device_id)``) never queues a second operation of this action for it.  A device
  that starts matching behind the cursor is not included; one ahead of it is;
* **when**: in the final transaction of each of its operations (:func:`on_done`,
  the origin callback the executor calls, which also counts the result), and every
  minute from the sweep (:func:`progress`, the origin's progress hook), which
  releases the first batch of a new window and finishes actions whose last operation
  ended.

Every release locks the action's row (``FOR UPDATE``), so two executors finishing
operations at once release one batch after the other, never the same devices twice.
An action whose cursor reached the end and whose operations all ended is
``finished`` (audited with its counts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.devices.fleet.bulk_models import BulkAction, BulkState
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.groups import fleet_conditions
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationState,
    OriginKind,
    queue_operations,
    register_origin,
)
from doorstep.devices.models import DeviceRegistration

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class _At:
    """A clock stopped at the instant a release happens (``queue_operations`` takes a clock)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


_COUNTERS = {
    OperationState.SUCCEEDED: "succeeded",
    OperationState.FAILED: "failed",
    OperationState.CANCELLED: "cancelled",
}


def open_count(action: BulkAction) -> int:
    """Operations of the action queued and not yet ended."""
    return action.queued - action.succeeded - action.failed - action.cancelled


def _locked(session: Session, bulk_id: uuid.UUID) -> BulkAction | None:
    return session.scalar(sa.select(BulkAction).where(BulkAction.id == bulk_id).with_for_update())


def release(session: Session, action: BulkAction, now: datetime) -> int:
    """Queue the action's next batch if it has room (the row must be locked); return it."""
    if action.state is not BulkState.RUNNING or action.exhausted:
        return 0
    if action.window_start is None or now - action.window_start >= WINDOW:
        action.window_start, action.window_queued = now, 0
    room = min(action.max_in_flight - open_count(action), action.per_minute - action.window_queued)
    if room <= 0:
        return 0
    query = sa.select(DeviceRegistration.device_id).where(
        *fleet_conditions(DeviceFilter.parse(action.filter), session)
    )
    if action.cursor is not None:
        query = query.where(DeviceRegistration.device_id > action.cursor)
    batch = list(session.scalars(query.order_by(DeviceRegistration.device_id).limit(room)))
    if len(batch) < room:
        action.exhausted = True
    if not batch:
        return 0
    added = queue_operations(
        session,
        batch,
        action.kind,
        action.args,
        purpose=action.purpose,
        actor=action.actor,
        origin_kind=OriginKind.BULK,
        origin_id=action.id,
        clock=_At(now),
    )
    action.cursor = batch[-1]
    action.queued += added
    action.window_queued += added
    return added


def settle(session: Session, action: BulkAction, now: datetime) -> bool:
    """Finish the action if its cursor is at the end and nothing of it is open; say so."""
    if action.state is not BulkState.RUNNING or not action.exhausted or open_count(action) > 0:
        return False
    action.state, action.finished_at = BulkState.FINISHED, now
    record(
        session,
        action="devices.bulk_finished",
        actor=action.actor,
        purpose=action.purpose,
        details={
            "bulk_action": str(action.id),
            "queued": action.queued,
            "succeeded": action.succeeded,
            "failed": action.failed,
            "cancelled": action.cancelled,
        },
        at=now,
    )
    return True


def advance(session: Session, bulk_id: uuid.UUID, now: datetime) -> int:
    """Lock the action, release what fits and finish it if done; return the batch size."""
    action = _locked(session, bulk_id)
    if action is None:
        return 0
    added = release(session, action, now)
    settle(session, action, now)
    session.flush()
    return added


def on_done(session: Session, op: DeviceOperation) -> None:
    """Count the result of one of the action's operations; release the next batch (callback)."""
    counter = _COUNTERS.get(op.state)
    if op.origin_id is None or counter is None:
        return
    action = _locked(session, op.origin_id)
    if action is None:
        return
    setattr(action, counter, getattr(action, counter) + 1)
    now = op.finished_at or action.created_at
    release(session, action, now)
    settle(session, action, now)
    session.flush()


def progress(session: Session, now: datetime) -> None:
    """Every minute (the sweep): advance each running action not locked by another process."""
    running = session.scalars(
        sa.select(BulkAction.id)
        .where(BulkAction.state == BulkState.RUNNING)
        .order_by(BulkAction.created_at)
        .with_for_update(skip_locked=True)
    ).all()
    for bulk_id in running:
        advance(session, bulk_id, now)


register_origin(OriginKind.BULK, on_done, progress=progress)
