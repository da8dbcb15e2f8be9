"""One operation on one device, asked by staff: a firmware update (and how to follow it).

:func:`request_update` queues a ``firmware_update`` of one device under
``device.maintenance``, origin ``single``; the request's own id is its ``origin_id``,
so asking again with the same id adds nothing.  The image must exist and the device
be provisioned (else NotFoundError); whether the image applies to the device's model
and version is the device's to say, when the executor reads it.

:func:`operation_view` describes an operation for the CLI, the API and the console:
ids, kind, state, reason, the device's code and text, versions and times; never a
value of personal data (operations carry none).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.core.errors import NotFoundError
from doorstep.devices.fleet.images import get_image
from doorstep.devices.fleet.operations import (
    DONE_STATES,
    DeviceOperation,
    OperationKind,
    OriginKind,
    queue_operations,
)
from doorstep.devices.models import Device

MAINTENANCE = "device.maintenance"
UPDATE_DEADLINE_SECONDS = 3600
"""A single update that has not ended an hour after it was asked fails (device_timeout)."""


def request_update(
    session: Session,
    device_id: uuid.UUID,
    image_id: uuid.UUID,
    *,
    actor: str,
    clock: Clock,
    request_id: uuid.UUID | None = None,
    deadline_seconds: int = UPDATE_DEADLINE_SECONDS,
) -> DeviceOperation:
    """Queue the update of ``device_id`` to ``image_id``; the operation (new or already there)."""
    image = get_image(session, image_id)
    if session.get(Device, device_id) is None:
        raise NotFoundError("no such device")
    origin_id = request_id or uuid.uuid4()
    queue_operations(
        session,
        [device_id],
        OperationKind.FIRMWARE_UPDATE,
        {"image_id": str(image.id)},
        purpose=MAINTENANCE,
        actor=actor,
        origin_kind=OriginKind.SINGLE,
        origin_id=origin_id,
        deadline_seconds=deadline_seconds,
        clock=clock,
    )
    return session.scalars(
        sa.select(DeviceOperation).where(
            DeviceOperation.origin_id == origin_id, DeviceOperation.device_id == device_id
        )
    ).one()


def get_operation(session: Session, op_id: uuid.UUID) -> DeviceOperation:
    """The operation, or NotFoundError."""
    found = session.get(DeviceOperation, op_id)
    if found is None:
        raise NotFoundError("no such operation")
    return found


def device_operations(
    session: Session, device_id: uuid.UUID, limit: int = 20
) -> list[DeviceOperation]:
    """The device's newest operations."""
    query = (
        sa.select(DeviceOperation)
        .where(DeviceOperation.device_id == device_id)
        .order_by(DeviceOperation.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def wait_until_done(
    read: Callable[[], DeviceOperation], *, timeout: float, interval: float = 0.5
) -> DeviceOperation:
    """Poll ``read()`` until the operation ended or ``timeout`` seconds passed; the last read."""
    deadline = time.monotonic() + timeout
    while True:
        op = read()
        if op.state in DONE_STATES or time.monotonic() >= deadline:
            return op
        time.sleep(interval)


def operation_view(op: DeviceOperation) -> dict[str, Any]:
    """A plain description of ``op`` (ids, states, codes, versions, times)."""

    def at(value: object) -> str | None:
        return value.isoformat() if hasattr(value, "isoformat") else None

    return {
        "id": str(op.id),
        "device_id": str(op.device_id),
        "kind": op.kind.value,
        "state": op.state.value,
        "step": op.step,
        "reason": op.reason,
        "usp_code": op.usp_code,
        "fault": op.fault,
        "result": dict(op.result or {}),
        "args": dict(op.args or {}),
        "origin_kind": op.origin_kind.value,
        "origin_id": str(op.origin_id) if op.origin_id else None,
        "created_at": at(op.created_at),
        "started_at": at(op.started_at),
        "finished_at": at(op.finished_at),
        "deadline_at": at(op.deadline_at),
    }
