"""The owner's list of devices: what the device page shows from the cloud (CPE-V.1.b).

Registration data (model, firmware, serial number, MAC, network status, IP),
the fields the device does not provide, the functions its model and firmware
support (:mod:`.capabilities`), online state and the binding.  What the policy
says is not stored (live status, Wi-Fi) is not here: the page asks the device for
it (:mod:`.live`, :mod:`.wifi`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.devices.access import use
from doorstep.devices.capabilities import FunctionState, function_states
from doorstep.devices.models import (
    BindMethod,
    DeviceBinding,
    DeviceCapability,
    DeviceRegistration,
    ProductType,
)
from doorstep.devices.registry import ELEMENTS
from doorstep.privacy.purposes import PurposeGate

PURPOSE = "device.product_functions"


@dataclass(frozen=True, slots=True)
class DeviceSummary:
    """One bound device as its owner sees it."""

    device_id: uuid.UUID
    product_type: ProductType | None
    model: str | None
    firmware_version: str | None
    serial_number: str | None
    mac_address: str | None
    network_status: str | None
    ip_address: str | None
    online: bool
    last_seen: datetime | None
    bound_at: datetime
    bind_method: BindMethod
    missing_fields: tuple[str, ...] = ()
    functions: tuple[FunctionState, ...] = ()


def list_devices(session: Session, gate: PurposeGate, subject_id: uuid.UUID) -> list[DeviceSummary]:
    """Every device bound to ``subject_id``, oldest binding first (audited once)."""
    use(session, gate, subject_id, ELEMENTS, PURPOSE, action="devices.listed")
    reg = DeviceRegistration
    rows = session.execute(
        sa.select(
            DeviceBinding.device_id,
            DeviceBinding.bound_at,
            DeviceBinding.method,
            reg.product_type,
            reg.model,
            reg.firmware_version,
            reg.serial_number,
            reg.mac_address,
            reg.network_status,
            reg.ip_address,
            reg.online,
            reg.last_seen,
            reg.missing_fields,
            DeviceCapability.unsupported,
        )
        .select_from(DeviceBinding)
        .outerjoin(reg, reg.device_id == DeviceBinding.device_id)
        .outerjoin(
            DeviceCapability,
            sa.and_(
                DeviceCapability.model == reg.model,
                DeviceCapability.firmware_version == sa.func.coalesce(reg.firmware_version, ""),
            ),
        )
        .where(DeviceBinding.subject_id == subject_id, DeviceBinding.unbound_at.is_(None))
        .order_by(DeviceBinding.bound_at, DeviceBinding.device_id)
    ).all()
    return [
        DeviceSummary(
            device_id=row.device_id,
            product_type=row.product_type,
            model=row.model,
            firmware_version=row.firmware_version,
            serial_number=row.serial_number,
            mac_address=row.mac_address,
            network_status=row.network_status,
            ip_address=row.ip_address,
            online=bool(row.online),
            last_seen=row.last_seen,
            bound_at=row.bound_at,
            bind_method=row.method,
            missing_fields=tuple(row.missing_fields or ()),
            functions=tuple(function_states(row.unsupported)),
        )
        for row in rows
    ]
