"""Rows the rollout tests start from: a registered fleet, firmware images, ended operations.

:func:`fleet` and :func:`image` write what ``doorstep devices import``, a registration
read and ``doorstep firmware add`` would; :func:`end_operation` does what the executor
does when an operation ends (its final state, then the origin's callback in the same
transaction), so the engine's rules can be tested without a device.  The network tests
(``test_rollouts_net*.py``) run the real executor against simulated agents instead.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.operations import DeviceOperation, OperationState
from doorstep.devices.fleet.rollout_models import MemberState, RolloutDevice
from doorstep.devices.fleet.rollout_origin import on_operation_done
from doorstep.devices.models import REGISTRATION_SOURCE, Device, DeviceRegistration

OLD = "1.8.3"
NEW = "2.0.0"
MODELS = ("DR-1000", "DG-2000")


def fleet(
    session: Session,
    clock: Clock,
    count: int,
    *,
    models: Sequence[str] = MODELS,
    firmware: str = OLD,
) -> list[uuid.UUID]:
    """``count`` registered devices, models taken in turn; their inventory ids."""
    now = clock.now()
    ids = [uuid.uuid4() for _ in range(count)]
    session.execute(
        sa.insert(Device),
        [
            {
                "id": device_id,
                "endpoint_key": secrets.token_bytes(32),
                "secret_hash": "x",
                "claim_hash": secrets.token_bytes(32),
                "provisioned_at": now,
            }
            for device_id in ids
        ],
    )
    session.execute(
        sa.insert(DeviceRegistration),
        [
            {
                "device_id": device_id,
                "endpoint_id": f"os::02D00C-T{device_id.hex[:12]}",
                "mtp": "mqtt",
                "model": models[index % len(models)],
                "firmware_version": firmware,
                "registered_at": now,
                "refreshed_at": now,
                "last_seen": now,
                "online": True,
                "source": REGISTRATION_SOURCE,
            }
            for index, device_id in enumerate(ids)
        ],
    )
    session.flush()
    return ids


def image(
    session: Session,
    clock: Clock,
    *,
    version: str = NEW,
    models: Sequence[str] = MODELS,
    min_version: str | None = None,
    url: str | None = None,
) -> uuid.UUID:
    """A registered firmware image (URL kept as given); its id."""
    link = url or f"http://127.0.0.1:9/fw-{version}.bin"
    row = FirmwareImage(
        id=uuid.uuid4(),
        version=version,
        models=list(models),
        min_version=min_version,
        max_version=None,
        size=len(link),
        sha256=hashlib.sha256(link.encode()).hexdigest(),
        url=link,
        file_name=None,
        release_notes="test image",
        created_at=clock.now(),
        created_by="system:tests",
    )
    session.add(row)
    session.flush()
    return row.id


def operations(session: Session, rollout_id: uuid.UUID) -> list[DeviceOperation]:
    """The rollout's operations, oldest first."""
    return list(
        session.scalars(
            sa.select(DeviceOperation)
            .where(DeviceOperation.origin_id == rollout_id)
            .order_by(DeviceOperation.created_at, DeviceOperation.id)
            .execution_options(populate_existing=True)
        )
    )


def open_operations(session: Session, rollout_id: uuid.UUID) -> list[DeviceOperation]:
    """The rollout's operations not ended yet."""
    return [
        op
        for op in operations(session, rollout_id)
        if op.state in {OperationState.QUEUED, OperationState.RUNNING, OperationState.WAITING}
    ]


def end_operation(
    session: Session,
    op: DeviceOperation,
    state: OperationState,
    *,
    at: datetime,
    reason: str | None = None,
    usp_code: int | None = None,
) -> None:
    """What the executor does at an operation's end: its final row, then the callback."""
    op.state = state
    op.reason = reason
    op.usp_code = usp_code
    op.sent_at = op.sent_at or at
    op.finished_at = at
    session.flush()
    on_operation_done(session, op)
    session.flush()


def member_states(session: Session, rollout_id: uuid.UUID) -> dict[uuid.UUID, MemberState]:
    """Each device of the rollout and where it stands."""
    rows = session.execute(
        sa.select(RolloutDevice.device_id, RolloutDevice.state)
        .where(RolloutDevice.rollout_id == rollout_id)
        .execution_options(populate_existing=True)
    )
    return dict(rows.all())
