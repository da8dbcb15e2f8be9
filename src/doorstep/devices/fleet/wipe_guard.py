"""A new owner's settings wait while the previous owner's are being removed (decision 0042).

A removal runs when the router is next online, which may be the moment its next owner
(who bound it meanwhile) switches it on and sets it up.  So that a removal never clears
what the new owner has just set, PPPoE and Wi-Fi settings are refused with 409
``device-being-cleared`` while a removal of the device is pending; the app says to try
again in a minute.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError
from doorstep.devices.fleet.wipe_models import DeviceWipe, WipeState


class DeviceBeingClearedError(ConflictError):
    """The previous owner's settings are being removed from the device (409)."""

    code = "device-being-cleared"
    title = "The device is being cleared"


def refuse_while_clearing(session: Session, device_id: uuid.UUID) -> None:
    """Raise :class:`DeviceBeingClearedError` while a removal of the device is pending."""
    pending = session.scalar(
        sa.select(
            sa.exists().where(
                DeviceWipe.device_id == device_id, DeviceWipe.state == WipeState.PENDING
            )
        )
    )
    if pending:
        raise DeviceBeingClearedError(
            "the previous owner's settings are being removed from this device; try again in "
            "a minute",
            reason="device_being_cleared",
        )
