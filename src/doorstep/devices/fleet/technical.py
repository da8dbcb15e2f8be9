"""A device's technical view for fleet staff: the unit, its firmware, tags and latest operations.

:func:`technical_view` answers what an operator needs to act on one unit of the fleet,
and nothing about its owner:

* the unit as the inventory knows it (not personal: id, when it was provisioned,
  whether it ever registered, product type, transport, online state, when its record
  was anonymised, the registration fields it does not provide) and whether it is
  bound to an account (never to whom);
* its model and firmware version, read for ``device.maintenance`` exactly as the fleet
  list reads them (:mod:`.listing`): withheld when the data map does not declare them
  for that purpose, when the caller's role has no read grant for it (``may_read``
  False) or when the owner restricted that purpose;
* its tags (operators' labels of hardware) and its newest operations (ids, kinds,
  states, reason codes, the device's own error codes; operations carry no personal
  data, decision 0038).

One audit record per view (``devices.fleet_device_viewed``: purpose, the device id,
whether model and firmware were withheld), like one per page of the list.  Serial
number, MAC, IP address and endpoint id are never read here: the console's device
page reads them one at a time through ``staff_read`` for ``customer.support``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.devices.fleet.listing import PURPOSE, readable, restricted_devices
from doorstep.devices.fleet.operations import DeviceOperation
from doorstep.devices.fleet.single import device_operations
from doorstep.devices.fleet.tags import tags_of
from doorstep.devices.models import Device, DeviceBinding, DeviceRegistration, ProductType
from doorstep.privacy.purposes import PurposeGate

#: How many of the device's newest operations the view lists.
OPERATIONS = 10


@dataclass(frozen=True, slots=True)
class TechnicalView:
    """One unit of the fleet as fleet staff see it (see the module docstring)."""

    device_id: uuid.UUID
    provisioned_at: datetime
    registered: bool
    bound: bool
    product_type: ProductType | None
    mtp: str | None
    online: bool | None
    anonymised_at: datetime | None
    missing_fields: tuple[str, ...]
    model: str | None
    firmware_version: str | None
    withheld: bool
    """Model and firmware not shown (no declaration, no read grant, or a restriction);
    False for a unit that never registered (there is nothing to withhold)."""
    tags: tuple[str, ...]
    operations: tuple[DeviceOperation, ...]


def technical_view(
    session: Session,
    gate: PurposeGate,
    device_id: uuid.UUID,
    *,
    actor: str,
    may_read: bool = True,
    operations: int = OPERATIONS,
) -> TechnicalView | None:
    """The technical view of ``device_id`` (None when no unit has this id), audited once."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    reg = DeviceRegistration
    row = session.execute(
        sa.select(
            reg.product_type,
            reg.mtp,
            reg.online,
            reg.anonymised_at,
            reg.missing_fields,
            reg.model,
            reg.firmware_version,
        ).where(reg.device_id == device_id)
    ).one_or_none()
    bound = session.scalar(
        sa.select(
            sa.exists().where(
                DeviceBinding.device_id == device_id, DeviceBinding.unbound_at.is_(None)
            )
        )
    )
    allowed = may_read and readable(gate)
    withheld = row is not None and (not allowed or bool(restricted_devices(session, [device_id])))
    record(
        session,
        action="devices.fleet_device_viewed",
        actor=actor,
        purpose=PURPOSE,
        element="device_registrations",
        details={"device": str(device_id), "withheld": withheld},
    )
    return TechnicalView(
        device_id=device.id,
        provisioned_at=device.provisioned_at,
        registered=row is not None,
        bound=bool(bound),
        product_type=row.product_type if row is not None else None,
        mtp=row.mtp if row is not None else None,
        online=row.online if row is not None else None,
        anonymised_at=row.anonymised_at if row is not None else None,
        missing_fields=tuple(row.missing_fields or ()) if row is not None else (),
        model=None if withheld or row is None else row.model,
        firmware_version=None if withheld or row is None else row.firmware_version,
        withheld=withheld,
        tags=tuple(tags_of(session, [device_id])[device_id]),
        operations=tuple(device_operations(session, device_id, limit=operations)),
    )
