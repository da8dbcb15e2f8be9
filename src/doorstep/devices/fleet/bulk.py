"""Bulk actions: reboot, set parameters, run a diagnostic or update firmware on a group.

:func:`start_bulk` checks the request, stores a ``bulk_actions`` row and releases the
first throttled batch of operations (:mod:`.bulk_progress` releases the rest);
:func:`cancel_bulk` stops it; :func:`get_bulk`, :func:`list_bulk` and
:func:`bulk_results` show it, with one result per device (its operation's state,
reason code and the device's own error code).

Contract:

* **Only non-personal work.**  ``set_parameters`` takes only paths of the pack's
  ``bulk_parameters:`` allow-list (which the pack reader keeps apart from the paths
  of PPPoE, Wi-Fi and connected hosts): any other path is refused with
  :class:`.bulk_args.ParameterRefusedError` naming the path, before anything is stored or
  queued.  A bulk action never reads or writes a subscriber's settings.
* **Purpose by kind** (:data:`PURPOSES`): ``device.maintenance`` for reboots,
  parameters and firmware, ``device.diagnostics`` for diagnostics.
* **Throttle**: ``max_in_flight`` (1..10,000) operations open at once and
  ``per_minute`` (1..100,000) queued in any minute.
* **Once per device**: the target is walked once in id order; an operation per
  device at most (``device_operations`` is unique on ``(origin_id, device_id)``).
* Starting, cancelling and finishing are audited with ids and counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.devices.fleet.bulk_args import check_args
from doorstep.devices.fleet.bulk_models import BulkAction, BulkState
from doorstep.devices.fleet.bulk_progress import advance, open_count
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.groups import Group, members
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationKind,
    OperationState,
    cancel_queued,
)
from doorstep.privacy.datamap.pack_bulk_parameters import BulkParameters

#: The purpose each kind of bulk action runs under.
PURPOSES: Mapping[OperationKind, str] = {
    OperationKind.REBOOT: "device.maintenance",
    OperationKind.SET_PARAMETERS: "device.maintenance",
    OperationKind.FIRMWARE_UPDATE: "device.maintenance",
    OperationKind.DIAGNOSTIC: "device.diagnostics",
}
MAX_IN_FLIGHT = 10_000
MAX_PER_MINUTE = 100_000


@dataclass(frozen=True, slots=True)
class Target:
    """What a bulk action acts on: a group (its filter is copied) or a filter of its own."""

    filter: DeviceFilter
    group_id: uuid.UUID | None = None

    @classmethod
    def of(cls, group: Group) -> Target:
        """The target of a group."""
        return cls(group.filter, group.id)


@dataclass(frozen=True, slots=True)
class BulkView:
    """A bulk action and its counts, as pages and the command line show it."""

    id: uuid.UUID
    kind: OperationKind
    args: Mapping[str, Any]
    group_id: uuid.UUID | None
    filter: DeviceFilter
    max_in_flight: int
    per_minute: int
    purpose: str
    actor: str
    state: BulkState
    total: int
    queued: int
    succeeded: int
    failed: int
    cancelled: int
    open: int
    created_at: datetime
    finished_at: datetime | None

    @property
    def done(self) -> int:
        """Devices whose operation ended (succeeded, failed or cancelled)."""
        return self.succeeded + self.failed + self.cancelled


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """One device's operation of a bulk action: where it stands and how it ended."""

    device_id: uuid.UUID
    state: OperationState
    reason: str | None
    usp_code: int | None
    started_at: datetime | None
    finished_at: datetime | None


def _view(row: BulkAction) -> BulkView:
    return BulkView(
        id=row.id,
        kind=row.kind,
        args=dict(row.args),
        group_id=row.group_id,
        filter=DeviceFilter.parse(row.filter),
        max_in_flight=row.max_in_flight,
        per_minute=row.per_minute,
        purpose=row.purpose,
        actor=row.actor,
        state=row.state,
        total=row.total,
        queued=row.queued,
        succeeded=row.succeeded,
        failed=row.failed,
        cancelled=row.cancelled,
        open=open_count(row),
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _throttle(max_in_flight: int, per_minute: int) -> None:
    if not 1 <= max_in_flight <= MAX_IN_FLIGHT:
        raise InvalidInputError.of(
            "max_in_flight", "range", f"max_in_flight is 1 to {MAX_IN_FLIGHT:,}"
        )
    if not 1 <= per_minute <= MAX_PER_MINUTE:
        raise InvalidInputError.of("per_minute", "range", f"per_minute is 1 to {MAX_PER_MINUTE:,}")


def start_bulk(
    session: Session,
    kind: OperationKind,
    raw_args: Mapping[str, Any],
    target: Target,
    *,
    allowed: BulkParameters,
    max_in_flight: int,
    per_minute: int,
    actor: str,
    clock: Clock,
) -> BulkView:
    """Check the request, store the action and release its first batch.

    ``raw_args`` are checked for the kind (:func:`.bulk_args.check_args`, with the
    pack's allow-list ``allowed``) and the throttle for its ranges before anything is
    written: a refusal leaves nothing behind.
    """
    if kind not in PURPOSES:
        raise InvalidInputError.of("kind", "bulk_kind", "this operation cannot run in bulk")
    _throttle(max_in_flight, per_minute)
    args = check_args(session, kind, raw_args, allowed)
    now = clock.now()
    total = session.scalar(
        sa.select(sa.func.count()).select_from(
            members(target.filter, session).order_by(None).subquery()
        )
    )
    action = BulkAction(
        id=uuid.uuid4(),
        kind=kind,
        args=dict(args),
        group_id=target.group_id,
        filter=target.filter.to_json(),
        max_in_flight=max_in_flight,
        per_minute=per_minute,
        purpose=PURPOSES[kind],
        actor=actor,
        state=BulkState.RUNNING,
        total=int(total or 0),
        exhausted=False,
        queued=0,
        succeeded=0,
        failed=0,
        cancelled=0,
        window_queued=0,
        created_at=now,
    )
    session.add(action)
    session.flush()
    record(
        session,
        action="devices.bulk_started",
        actor=actor,
        purpose=action.purpose,
        details={
            "bulk_action": str(action.id),
            "kind": kind.value,
            "group": str(target.group_id) if target.group_id else None,
            "criteria": ":".join(target.filter.to_json()) or "all",
            "devices": action.total,
        },
    )
    advance(session, action.id, now)
    return get_bulk(session, action.id)


def get_bulk(session: Session, bulk_id: uuid.UUID) -> BulkView:
    """One bulk action; NotFoundError if there is none with this id."""
    session.flush()
    row = session.get(BulkAction, bulk_id, populate_existing=True)
    if row is None:
        raise NotFoundError("no bulk action has this id")
    return _view(row)


def list_bulk(session: Session, *, limit: int = 50) -> list[BulkView]:
    """The latest bulk actions, newest first."""
    rows = session.scalars(
        sa.select(BulkAction).order_by(BulkAction.created_at.desc(), BulkAction.id).limit(limit)
    )
    return [_view(row) for row in rows]


def cancel_bulk(session: Session, bulk_id: uuid.UUID, *, actor: str, clock: Clock) -> BulkView:
    """Stop a running action: its queued operations are cancelled, those in flight finish."""
    row = session.scalar(sa.select(BulkAction).where(BulkAction.id == bulk_id).with_for_update())
    if row is None:
        raise NotFoundError("no bulk action has this id")
    if row.state is not BulkState.RUNNING:
        raise ConflictError(f"the bulk action is {row.state.value} already", reason=row.state.value)
    now = clock.now()
    dropped = cancel_queued(session, origin_id=bulk_id, clock=clock)
    row.cancelled += dropped
    row.state, row.finished_at = BulkState.CANCELLED, now
    session.flush()
    record(
        session,
        action="devices.bulk_cancelled",
        actor=actor,
        purpose=row.purpose,
        details={"bulk_action": str(bulk_id), "cancelled": dropped, "open": open_count(row)},
    )
    return _view(row)


def bulk_results(
    session: Session,
    bulk_id: uuid.UUID,
    *,
    after: uuid.UUID | None = None,
    state: OperationState | None = None,
    limit: int = 50,
) -> list[DeviceResult]:
    """The per-device results of an action, in device order after ``after`` (keyset)."""
    op = DeviceOperation
    query = sa.select(
        op.device_id, op.state, op.reason, op.usp_code, op.started_at, op.finished_at
    ).where(op.origin_id == bulk_id)
    if after is not None:
        query = query.where(op.device_id > after)
    if state is not None:
        query = query.where(op.state == state)
    rows = session.execute(query.order_by(op.device_id).limit(max(1, min(limit, 500))))
    return [DeviceResult(*row) for row in rows]
