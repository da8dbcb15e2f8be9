"""``device_capabilities``: what one model and firmware supports, learnt once by GetSupportedDM.

One row per (model, firmware version), shared by every unit of that model and
firmware, never by a device: it names a product and which of Doorstep's functions
its data model offers, nothing about a unit or a person.  Written by
:func:`doorstep.devices.capabilities.store_capabilities` on the first contact of a
unit of a model and firmware not seen before; read with every request to a device
(:func:`doorstep.devices.access.owned_device`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import not_personal

_PRODUCT = "a product name shared by every unit of the model; no link to a unit or a person"


class DeviceCapability(Base):
    """Which Doorstep functions a model and firmware's data model supports, and why not."""

    __tablename__ = "device_capabilities"

    model: Mapped[str] = mapped_column(
        sa.Text, primary_key=True, info=not_personal("DeviceInfo.ModelName: " + _PRODUCT)
    )
    firmware_version: Mapped[str] = mapped_column(
        sa.Text,
        primary_key=True,
        info=not_personal("DeviceInfo.SoftwareVersion ('' if none): " + _PRODUCT),
    )
    supported: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        info=not_personal("names of the Doorstep functions the model offers (pppoe, wifi …)"),
    )
    unsupported: Mapped[dict[str, str]] = mapped_column(
        JSONB,
        info=not_personal(
            "function name -> the TR-181 object, parameter or command the model lacks"
        ),
    )
    discovered_at: Mapped[datetime] = mapped_column(
        info=not_personal("when a unit of this model and firmware was first asked")
    )
