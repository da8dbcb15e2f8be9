"""The executor's database side: claim, lease, record a step, record an outcome.

Every function runs in the caller's transaction (the executor calls them from worker
threads, one short transaction each) and changes a row only while the caller holds it:
``lease_owner`` is the executor's random id, and a function that finds the row held by
another (its lease taken over after it expired) changes nothing and says so.

* :func:`claim_due` — due ``queued`` operations of devices this process reaches (online
  devices not on WebSocket when it has an MQTT transport — MQTT ones, and those whose
  transport no process has recorded yet — and the WebSocket sessions it holds), at
  most one per device and none of a device with another in flight; ``FOR UPDATE SKIP
  LOCKED``, so executors never wait for each other.  Each claim is audited
  (``fleet.operation_started``).
* :func:`claim_checks` — ``waiting`` operations whose ``check_at`` is due.
* :func:`take_waiting` — the device's operation in flight, for a notification.
* :func:`mark_sending` — commit the step and ``sent_at`` before a message is sent.
* :func:`record_outcome` — a :class:`Wait` (back to ``waiting``, the next check in
  ``check_seconds``), a :class:`Proceed` (``waiting`` at the step the device's word
  reached, due for a check now: that check sends the step's message) or a
  :class:`Done` (final: the origin's ``on_done`` in the same transaction, audited
  ``fleet.operation_ended``); :func:`requeue` — nothing was sent: back to ``queued``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from doorstep.audit.services import record
from doorstep.devices.fleet.handlers.base import Done, OperationView, Outcome, Proceed, Wait
from doorstep.devices.fleet.operations import (
    ACTIVE_STATES,
    DeviceOperation,
    OperationState,
    origin,
)
from doorstep.devices.models import DeviceRegistration

STARTED = "fleet.operation_started"
ENDED = "fleet.operation_ended"


@dataclass(frozen=True, slots=True)
class Claimed:
    """An operation this executor holds, and the endpoint id its messages go to."""

    op: OperationView
    endpoint_id: str


@dataclass(frozen=True, slots=True)
class Reach:
    """Which devices this process reaches: MQTT ones (any), WebSocket ones it holds."""

    mqtt: bool
    websocket: Sequence[str] = ()


def _view(row: DeviceOperation) -> OperationView:
    return OperationView(
        id=row.id,
        device_id=row.device_id,
        kind=row.kind,
        args=dict(row.args),
        purpose=row.purpose,
        actor=row.actor,
        step=row.step,
        step_at=row.step_at,
        sent_at=row.sent_at,
        result=dict(row.result or {}),
    )


def _reachable(reach: Reach) -> sa.ColumnElement[bool]:
    table = DeviceRegistration
    ways: list[sa.ColumnElement[bool]] = []
    if reach.mqtt:  # a device whose Connect Record no process heard has no mtp stored yet
        ways.append(sa.or_(table.mtp.is_(None), table.mtp != "websocket"))
    if reach.websocket:
        ways.append(table.endpoint_id.in_(list(reach.websocket)))
    if not ways:
        return sa.false()
    return sa.and_(table.online.is_(True), table.endpoint_id.is_not(None), sa.or_(*ways))


def _candidates(
    session: Session, state: OperationState, due: sa.ColumnElement[bool], reach: Reach, limit: int
) -> list[tuple[DeviceOperation, str]]:
    op, reg = DeviceOperation, DeviceRegistration
    query = (
        sa.select(op, reg.endpoint_id)
        .join(reg, reg.device_id == op.device_id)
        .where(op.state == state, due, _reachable(reach))
        .order_by(op.created_at)
        .limit(limit)
        .with_for_update(of=op, skip_locked=True)
    )
    return [(row, str(endpoint)) for row, endpoint in session.execute(query).all()]


def claim_due(
    session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int, reach: Reach
) -> list[Claimed]:
    """Claim up to ``limit`` due queued operations (see the module docstring)."""
    if limit < 1:
        return []
    op, other = DeviceOperation, aliased(DeviceOperation)
    busy = sa.exists().where(other.device_id == op.device_id, other.state.in_(ACTIVE_STATES))
    due = sa.and_(sa.or_(op.not_before.is_(None), op.not_before <= now), ~busy)
    claimed: list[Claimed] = []
    devices: set[uuid.UUID] = set()
    for row, endpoint_id in _candidates(session, OperationState.QUEUED, due, reach, limit * 2):
        if row.device_id in devices or len(claimed) >= limit:
            continue
        try:
            with session.begin_nested():
                row.state = OperationState.RUNNING
                row.lease_owner, row.lease_until = owner, now + lease
                row.started_at = row.started_at or now
                session.flush()
        except IntegrityError:  # another executor took another operation of the device
            session.expire(row)
            continue
        devices.add(row.device_id)
        record(
            session,
            action=STARTED,
            actor=row.actor,
            purpose=row.purpose,
            details={
                "operation_id": str(row.id),
                "kind": row.kind.value,
                "device_id": str(row.device_id),
            },
        )
        claimed.append(Claimed(_view(row), endpoint_id))
    return claimed


def claim_checks(
    session: Session, *, owner: str, now: datetime, lease: timedelta, limit: int, reach: Reach
) -> list[Claimed]:
    """Claim up to ``limit`` waiting operations whose check is due."""
    if limit < 1:
        return []
    op = DeviceOperation
    due = sa.or_(op.check_at.is_(None), op.check_at <= now)
    claimed = []
    for row, endpoint_id in _candidates(session, OperationState.WAITING, due, reach, limit):
        _hold(row, owner, now, lease)
        claimed.append(Claimed(_view(row), endpoint_id))
    session.flush()
    return claimed


def _hold(row: DeviceOperation, owner: str, now: datetime, lease: timedelta) -> None:
    row.state = OperationState.RUNNING
    row.lease_owner, row.lease_until = owner, now + lease


def take_waiting(
    session: Session,
    device_id: uuid.UUID,
    endpoint_id: str,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
) -> Claimed | bool:
    """The device's waiting operation, now held; True when one is busy, False when none."""
    row = session.execute(
        sa.select(DeviceOperation)
        .where(DeviceOperation.device_id == device_id, DeviceOperation.state.in_(ACTIVE_STATES))
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        return False
    if row.state is OperationState.RUNNING:
        expired = row.lease_until is not None and row.lease_until < now and row.sent_at
        if not expired:
            return True
    _hold(row, owner, now, lease)
    session.flush()
    return Claimed(_view(row), endpoint_id)


def _held(session: Session, op_id: uuid.UUID, owner: str) -> DeviceOperation | None:
    row = session.execute(
        sa.select(DeviceOperation).where(DeviceOperation.id == op_id).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.state is not OperationState.RUNNING or row.lease_owner != owner:
        return None
    return row


def mark_sending(
    session: Session,
    op_id: uuid.UUID,
    *,
    owner: str,
    step: str,
    result: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Record that the message of ``step`` is being sent; False when the lease was lost."""
    row = _held(session, op_id, owner)
    if row is None:
        return False
    row.step, row.step_at = step, now
    row.sent_at = row.sent_at or now
    row.result = {**(row.result or {}), **result}
    return True


def record_outcome(
    session: Session,
    op_id: uuid.UUID,
    outcome: Outcome,
    *,
    owner: str,
    now: datetime,
    check_seconds: float,
    keep_check: bool = False,
) -> DeviceOperation | None:
    """Record ``outcome`` of the held operation (see the module docstring); None if lost.

    ``keep_check`` (a notification that was not the awaited one) leaves ``check_at``.
    """
    row = _held(session, op_id, owner)
    if row is None:
        return None
    row.lease_owner = row.lease_until = None
    row.result = {**(row.result or {}), **outcome.result}
    if isinstance(outcome, Wait):
        row.state, row.step = OperationState.WAITING, outcome.step
        if not keep_check or row.check_at is None:
            row.check_at = now + timedelta(seconds=check_seconds)
        return row
    if isinstance(outcome, Proceed):  # no message of this step sent yet: a check sends it
        row.state, row.step, row.check_at = OperationState.WAITING, outcome.step, now
        return row
    finish(session, row, outcome, now=now)
    return row


def finish(session: Session, row: DeviceOperation, outcome: Done, *, now: datetime) -> None:
    """End ``row`` with ``outcome``: its origin hears it in this transaction; audited."""
    row.state, row.reason = outcome.state, outcome.reason
    row.usp_code, row.fault = outcome.usp_code, outcome.fault
    row.finished_at, row.check_at = now, None
    row.lease_owner = row.lease_until = None
    session.flush()
    callbacks = origin(row.origin_kind)
    if callbacks is not None:
        callbacks.on_done(session, row)
    record(
        session,
        action=ENDED,
        actor=row.actor,
        purpose=row.purpose,
        outcome="ok" if outcome.state is OperationState.SUCCEEDED else "failed",
        details={
            "operation_id": str(row.id),
            "kind": row.kind.value,
            "device_id": str(row.device_id),
            "state": outcome.state.value,
            "reason": outcome.reason,
            "usp_code": outcome.usp_code,
        },
    )


def requeue(session: Session, op_id: uuid.UUID, *, owner: str) -> bool:
    """Nothing was sent: back to ``queued`` for a later attempt; False if the lease was lost."""
    row = _held(session, op_id, owner)
    if row is None:
        return False
    row.state = OperationState.QUEUED
    row.lease_owner = row.lease_until = None
    return True


def renew(session: Session, op_ids: Sequence[uuid.UUID], *, owner: str, until: datetime) -> int:
    """Extend the leases of the operations this executor runs."""
    if not op_ids:
        return 0
    result = session.execute(
        sa.update(DeviceOperation)
        .where(
            DeviceOperation.id.in_(list(op_ids)),
            DeviceOperation.lease_owner == owner,
            DeviceOperation.state == OperationState.RUNNING,
        )
        .values(lease_until=until)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def nudge(session: Session, device_id: uuid.UUID, *, now: datetime) -> bool:
    """Make the device's waiting operation due for a check now (it came back)."""
    result = session.execute(
        sa.update(DeviceOperation)
        .where(
            DeviceOperation.device_id == device_id,
            DeviceOperation.state == OperationState.WAITING,
        )
        .values(check_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
